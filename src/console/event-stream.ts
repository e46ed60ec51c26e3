// The live event stream (Server-Sent Events): every event the manager's store
// records, pushed to the open console pages as it happens. A stream belongs to
// a session (or to a bearer-token client) and ends with it; streams are capped
// per session and in all, since each holds a connection of the API listener's
// cap; a client that reconnects with Last-Event-ID gets what it missed (up to
// REPLAY_MAX events); a comment every HEARTBEAT_MS finds dead connections; a
// client that stops reading is cut off rather than buffered without bound.
import type http from 'node:http';
import type { StoredEvent } from '../manager/events.js';
import { STREAM_LIMIT } from '../catalogue/console.js';

/** What the stream needs of the event store. */
export interface EventFeed {
  list(opts: { limit?: number; since?: number }): StoredEvent[];
  onRecord(fn: (e: StoredEvent) => void): void;
}

export interface StreamLimits {
  /** Streams open at once in all (default 32). */
  maxStreams?: number;
  /** Streams open at once under one session (default 4: a few tabs). */
  maxPerSession?: number;
}

export const DEFAULT_MAX_STREAMS = 32;
export const DEFAULT_MAX_STREAMS_PER_SESSION = 4;
const HEARTBEAT_MS = 15_000;
const REPLAY_MAX = 500;
/** Bytes a stream may have waiting to be sent before its client is cut off as too slow. */
const MAX_BACKLOG = 1024 * 1024;

interface Client {
  res: http.ServerResponse;
  /** Session key, or null for a bearer-token client. */
  owner: string | null;
}

export class EventStream {
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private readonly max: number;
  private readonly perSession: number;

  constructor(
    private readonly events: EventFeed,
    limits: StreamLimits = {},
  ) {
    this.max = limits.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.perSession = limits.maxPerSession ?? DEFAULT_MAX_STREAMS_PER_SESSION;
    events.onRecord((e) => {
      for (const c of this.clients) this.send(c, e);
    });
    this.timer = setInterval(() => {
      for (const c of this.clients) this.write(c, ': ping\n\n');
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  get open(): number {
    return this.clients.size;
  }

  /** Starts a stream on this answer; throws STREAM_LIMIT (before any byte is sent) when full. */
  start(req: http.IncomingMessage, res: http.ServerResponse, owner: string | null): void {
    if (this.clients.size >= this.max) throw STREAM_LIMIT({ limit: this.max, scope: 'on this manager' });
    if (owner !== null && [...this.clients].filter((c) => c.owner === owner).length >= this.perSession) {
      throw STREAM_LIMIT({ limit: this.perSession, scope: 'for this session' });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies must pass events through as they come.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const client: Client = { res, owner };
    this.clients.add(client);
    const drop = () => this.clients.delete(client);
    res.on('close', drop);
    req.on('close', drop);
    // The browser reconnects after this long when the connection drops.
    this.write(client, 'retry: 3000\n\n');
    const last = Number(req.headers['last-event-id']);
    if (Number.isSafeInteger(last) && last >= 0) for (const e of this.events.list({ since: last, limit: REPLAY_MAX })) this.send(client, e);
    else this.write(client, ': connected\n\n');
  }

  /**
   * Tells every open page that something not in the event log changed (the
   * path states pathd agents report): an SSE event of this name, without an
   * id, so it is never replayed; pages reload what they show.
   */
  signal(name: 'paths', data: unknown): void {
    for (const c of this.clients) this.write(c, `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the streams of a session (logout, expiry). */
  endSession(key: string): void {
    for (const c of [...this.clients]) if (c.owner === key) this.end(c);
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of [...this.clients]) this.end(c);
  }

  private send(c: Client, e: StoredEvent): void {
    // JSON has no raw newline, so one data line carries the whole event.
    this.write(c, `id: ${e.seq}\nevent: kura\ndata: ${JSON.stringify(e)}\n\n`);
  }

  private write(c: Client, text: string): void {
    if (c.res.writableLength > MAX_BACKLOG) {
      this.end(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  private end(c: Client): void {
    this.clients.delete(c);
    c.res.end();
  }
}
