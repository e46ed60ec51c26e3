// NBD server (fixed newstyle): it listens, accepts a connection within the
// cap, and hands it from phase to phase. The protocol's two phases live in
// files of their own:
//
//   handshake.ts      newstyle negotiation: client flags, option haggling, STARTTLS
//   transmission.ts   the request loop: requests parsed as they arrive, replies in any order
//
// A connection's states:
//
//   handshake ──(NBD_OPT_GO / NBD_OPT_EXPORT_NAME)──► transmission ──(NBD_CMD_DISC)──► closed
//       └──────(NBD_OPT_ABORT, a protocol error, the handshake timeout, a socket error)──► closed
//
// A request is read only when its bytes fit the connection's share of the I/O
// budget (src/limits/io-budget.ts), which holds them until the write is done or
// the read's reply has been handed to the kernel: a client that does not read
// its replies stops being read.
//
// Access: NBD_OPT_STARTTLS upgrades the connection to TLS with a pre-shared
// key whose identity names the client; the export provider decides from that
// identity (or its absence) which exports a client may list and open.
import fs from 'node:fs';
import net from 'node:net';
import type { BlockDevice } from '../block/device.js';
import type { ExportProvider } from '../block/exports.js';
import { ChunkQueue } from '../io/chunk-queue.js';
import { ConnectionCap } from '../limits/conn-cap.js';
import { IoBudget } from '../limits/io-budget.js';
import type { IoAccount } from '../limits/io-budget.js';
import { NbdHandshake } from './handshake.js';
import type { Negotiated } from './handshake.js';
import { NbdTransmission } from './transmission.js';
import type { NbdTlsOptions } from './tls.js';
import type { IoCounters } from '../io/io-counters.js';
import { NBD_CONNECTION_CAP, NBD_HANDSHAKE_TIMEOUT } from '../catalogue/protocols.js';
import { listenOn } from '../io/listen.js';
export type { NbdTlsMode, NbdTlsOptions } from './tls.js';

export interface NbdServerOptions {
  exports: ExportProvider;
  /** Export chosen by an empty name; otherwise the only export, if there is one. */
  defaultExport?: string;
  /** STARTTLS with pre-shared keys; without it the server operates without TLS. */
  tls?: NbdTlsOptions;
  log?: (msg: string) => void;
  /** I/O buffer budget, shared with the other front ends; a private one of the default size when absent. */
  ioBudget?: IoBudget;
  /** Bytes of requests and unsent read replies one connection may hold (default 64 MiB). */
  connectionIoLimit?: number;
  /** Connections kept open at once; more are closed on accept (default 256). */
  maxConnections?: number;
  /** A connection that has not reached transmission after this long is closed (default 10 s). */
  handshakeTimeoutMs?: number;
  /** The listener's I/O counters (reads and writes of every connection), for metrics. */
  counters?: IoCounters;
}

export const DEFAULT_NBD_MAX_CONNECTIONS = 256;
export const DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Bytes of reads and writes one connection holds at most (one request more when it holds none). */
export const DEFAULT_NBD_CONNECTION_IO = 64 * 1024 * 1024;
/** Reply bytes beyond those of read data (error and write replies) queued before reading stops. */
const REPLY_BACKLOG = 1024 * 1024;

/** What a connection takes from its server. */
export interface ConnectionContext {
  opts: NbdServerOptions;
  budget: IoBudget;
  connectionIoLimit: number;
  handshakeTimeoutMs: number;
  log: (msg: string) => void;
}

export class NbdServer {
  private readonly opts: NbdServerOptions;
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<NbdConnection>();
  private tcp: net.Server | null = null;
  private readonly ctx: ConnectionContext;
  private readonly cap: ConnectionCap;

  constructor(opts: NbdServerOptions) {
    this.opts = opts;
    const log = opts.log ?? (() => undefined);
    this.ctx = {
      opts,
      budget: opts.ioBudget ?? new IoBudget({ log }),
      connectionIoLimit: opts.connectionIoLimit ?? DEFAULT_NBD_CONNECTION_IO,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS,
      log,
    };
    this.cap = new ConnectionCap('NBD listener', opts.maxConnections ?? DEFAULT_NBD_MAX_CONNECTIONS, log, NBD_CONNECTION_CAP, '--nbd-max-connections');
  }

  /** Connections open now (negotiating or transmitting). */
  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Serves one accepted connection (within the cap). The listeners call it;
   * the parser fuzz test hands it in-memory sockets.
   */
  attach(sock: net.Socket): void {
    if (!this.cap.admit()) {
      sock.on('error', () => undefined);
      sock.destroy();
      return;
    }
    const c = new NbdConnection(sock, this.ctx, () => {
      if (this.conns.delete(c)) this.cap.release();
    });
    this.conns.add(c);
  }

  private makeServer(): net.Server {
    const srv = net.createServer((sock) => this.attach(sock));
    srv.on('error', (e) => this.opts.log?.(`nbd: listener error: ${e.message}`));
    this.servers.push(srv);
    return srv;
  }

  listen(host: string, port: number): Promise<void> {
    const srv = this.makeServer();
    this.tcp = srv;
    return listenOn(srv, { host, port });
  }

  listenUnix(path: string): Promise<void> {
    fs.rmSync(path, { force: true });
    return listenOn(this.makeServer(), { path });
  }

  address(): { host: string; port: number } {
    const a = this.tcp?.address() as net.AddressInfo | null;
    if (!a) throw new Error('NBD server is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  /**
   * Access changed (mappings, keys, plain LDs): connections in transmission on
   * an export their client may no longer open are cut, as iSCSI answers an
   * unmapped LUN from the next command on.
   */
  revalidate(): void {
    for (const c of this.conns) c.revalidate();
  }

  /** Devices clients hold in transmission, and who holds them (an LD's deletion asks). */
  openDevices(): Array<{ device: BlockDevice; peer: string; identity: string | null }> {
    const out: Array<{ device: BlockDevice; peer: string; identity: string | null }> = [];
    for (const c of this.conns) {
      const h = c.held();
      if (h) out.push(h);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const c of this.conns) c.destroy();
  }
}

type ConnectionState = 'handshake' | 'transmission' | 'closed';

/**
 * One accepted client: its socket (after STARTTLS the TLS socket over it), the
 * queue of bytes received, its share of the I/O budget and the phase it is in.
 * Reading stops while the next request waits for budget or while replies
 * pile up unread.
 */
export class NbdConnection {
  /** The client's socket: the TCP (or Unix) socket, after STARTTLS the TLS socket over it. */
  sock: net.Socket;
  readonly ctx: ConnectionContext;
  readonly opts: NbdServerOptions;
  readonly account: IoAccount;
  readonly remote: string;
  readonly q = new ChunkQueue();
  /** When the queued replies last made progress (for the budget's choice of a stalled connection). */
  lastProgress = Date.now();
  private state: ConnectionState = 'handshake';
  private readonly handshake: NbdHandshake;
  private transmission: NbdTransmission | null = null;
  private readonly onGone: () => void;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Reading is paused: the next request's bytes do not fit the budget, or replies are not drained. */
  private paused = false;
  /** Replies other than read data are piling up unread: wait for 'drain'. */
  private backlogged = false;
  private pumpScheduled = false;

  constructor(sock: net.Socket, ctx: ConnectionContext, onGone: () => void) {
    this.sock = sock;
    this.ctx = ctx;
    this.opts = ctx.opts;
    this.remote = `${sock.remoteAddress ?? 'local'}:${sock.remotePort ?? ''}`;
    this.account = ctx.budget.account(
      ctx.connectionIoLimit,
      {
        stalledSince: () => (this.sock.writableLength > 0 ? this.lastProgress : undefined),
        evict: () => this.destroy(),
        describe: () => `NBD connection from ${this.remote}`,
      },
      () => this.schedulePump(),
    );
    // Every way out (destroy, NBD_OPT_ABORT, NBD_CMD_DISC) passes here once.
    this.onGone = () => {
      clearTimeout(this.handshakeTimer);
      this.account.close();
      onGone();
    };
    sock.setNoDelay(true);
    sock.on('data', this.onData);
    sock.on('error', () => this.destroy());
    sock.on('close', () => this.destroy());
    this.handshakeTimer = setTimeout(() => {
      if (this.state === 'transmission' || this.state === 'closed') return;
      ctx.log(`${NBD_HANDSHAKE_TIMEOUT.id} ${NBD_HANDSHAKE_TIMEOUT({ remote: this.remote, ms: ctx.handshakeTimeoutMs })}`);
      this.destroy();
    }, ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.handshake = new NbdHandshake(this);
  }

  /** The handshake chose an export: transmission starts with the next byte received. */
  transmit(n: Negotiated): void {
    if (this.state !== 'handshake') return;
    this.transmission = new NbdTransmission(this, n);
    this.state = 'transmission';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  revalidate(): void {
    if (this.state === 'transmission') this.transmission!.revalidate();
  }

  /** The device this connection serves, once in transmission. */
  held(): { device: BlockDevice; peer: string; identity: string | null } | undefined {
    if (this.state !== 'transmission') return undefined;
    return this.transmission!.held();
  }

  /** Bytes from the socket (the TLS socket's plaintext after STARTTLS). */
  readonly onData = (d: Buffer): void => {
    this.q.push(d);
    this.safePump();
  };

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.q.clear();
    this.sock.destroy();
    this.onGone();
  }

  /**
   * The client said goodbye (NBD_OPT_ABORT, NBD_CMD_DISC): nothing more is
   * read; the caller ends the socket once the replies owed are out.
   */
  leave(): void {
    this.state = 'closed';
    this.onGone();
  }

  private safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.opts.log?.(`nbd: closing connection after internal error: ${(e as Error).message}`);
      this.destroy();
    }
  }

  /** Runs the parser again later (bytes came back to the budget, or the replies drained). */
  private schedulePump(): void {
    if (this.pumpScheduled || this.state === 'closed') return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.state !== 'closed') this.safePump();
    });
  }

  /**
   * Reading stops while the next request waits for budget or while replies
   * pile up unread beyond the read data the budget already counts.
   */
  private flow(): void {
    const stop = (this.transmission !== null && this.transmission.waitingForBudget) || this.backlogged;
    if (stop && !this.paused) {
      this.paused = true;
      this.sock.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.sock.resume();
    }
  }

  private checkBacklog(): boolean {
    if (this.backlogged) return true;
    if (this.sock.writableLength <= this.account.held + REPLY_BACKLOG) return false;
    this.backlogged = true;
    this.sock.once('drain', () => {
      this.backlogged = false;
      this.lastProgress = Date.now();
      this.flow();
      this.schedulePump();
    });
    return true;
  }

  private pump(): void {
    try {
      this.parse();
    } finally {
      if (this.state !== 'closed') this.flow();
    }
  }

  /** Runs the phase the connection is in over the bytes received, one message at a time. */
  private parse(): void {
    for (;;) {
      if (this.state === 'closed' || this.checkBacklog()) return;
      if (this.state === 'handshake') {
        if (!this.handshake.step()) return;
      } else if (!this.transmission!.step()) return;
    }
  }
}
