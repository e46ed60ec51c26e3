// The array agent API: the ArrayAgent contract over HTTP/JSON, served by
// `kura array` next to its front ends. One call a request:
//   POST /agent/v1/call   {"method": NAME, "args": [...]}  -> {"result": ...}
//   POST /agent/v1/fence  {"role": ROLE, "token": N}       -> raises the role's highest token
//   GET  /agent/v1/identity                                -> {id, name, version}
//   GET  /agent/v1/events?after=SEQ&waitMs=MS              -> {seq, events: [{seq, event}]} (long poll)
// Every request carries the agent token (DATA/agent.token); a changing call also
// carries its caller's fencing token (header x-kura-fencing: ROLE:TOKEN), which
// the FencingRegister admits or refuses with KURA-E8001.
import crypto from 'node:crypto';
import http from 'node:http';
import type { ArrayAgent, ArrayEvent } from '../agent.js';
import { KuraError } from '../../errors.js';
import { FENCING_HEADER, wireOf } from './methods.js';
import type { FencingRegister } from './fencing.js';
import { AGENT_CONNECTION_CAP, AGENT_METHOD_UNKNOWN, AGENT_REQUEST_INVALID, AGENT_TOKEN_MISSING } from '../../catalogue/ha.js';
import { answerHandlerError, hardenHttpServer, readBodyCapped } from '../../limits/http-server.js';
import { boundAddress, listenOn } from '../../io/listen.js';

/** Events kept for managers that poll behind. */
const EVENT_RING = 1000;
const MAX_BODY = 1024 * 1024;
const MAX_WAIT_MS = 25_000;
export const DEFAULT_AGENT_MAX_CONNECTIONS = 256;
export const DEFAULT_AGENT_IDLE_TIMEOUT_MS = 10_000;

/** Limits of the agent listener (kura array --agent-max-connections, --agent-idle-timeout). */
export interface AgentLimits {
  /** Connections open at once; more are closed on accept. */
  maxConnections?: number;
  /** A new connection must send its request head within this long; the whole request within four times this. */
  idleTimeoutMs?: number;
}

export interface AgentIdentity {
  /** The array's id in a deployment: its serial. */
  id: string;
  name: string;
  version: string;
}

export class AgentServer {
  private server: http.Server | null = null;
  private readonly ring: Array<{ seq: number; event: ArrayEvent }> = [];
  private seq = 0;
  private waiters: Array<() => void> = [];
  private readonly unsubscribe: () => void;

  constructor(
    private readonly agent: ArrayAgent,
    private readonly token: string,
    private readonly fencing: FencingRegister,
    private readonly log: (m: string) => void = () => undefined,
  ) {
    this.unsubscribe = agent.events.onEvent((event) => {
      this.ring.push({ seq: ++this.seq, event });
      if (this.ring.length > EVENT_RING) this.ring.shift();
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  identity(): AgentIdentity {
    const i = this.agent.info();
    return { id: i.serial, name: i.name, version: i.version };
  }

  listen(host: string, port: number, limits: AgentLimits = {}): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => answerHandlerError(req, res, e, { what: 'agent', log: this.log }));
    });
    hardenHttpServer(server, {
      what: 'agent listener',
      maxConnections: limits.maxConnections ?? DEFAULT_AGENT_MAX_CONNECTIONS,
      idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_AGENT_IDLE_TIMEOUT_MS,
      keepAliveMs: 60_000,
      capReport: AGENT_CONNECTION_CAP,
      option: '--agent-max-connections',
      log: this.log,
    });
    this.server = server;
    return listenOn(server, { host, port });
  }

  address(): { host: string; port: number } {
    return boundAddress(this.server!);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const w of this.waiters) w();
    this.waiters = [];
    const s = this.server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  private authorized(req: http.IncomingMessage): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const a = Buffer.from(m[1]!.trim());
    const b = Buffer.from(this.token);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const body = (await readBodyCapped(req, res, MAX_BODY)).toString('utf8');
    if (!this.authorized(req)) throw AGENT_TOKEN_MISSING();
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /agent/v1/identity') return send(res, 200, this.identity());
    if (route === 'GET /agent/v1/fencing') return send(res, 200, { highest: this.fencing.snapshot() });
    if (route === 'GET /agent/v1/events') return this.events(url, res);
    if (route === 'POST /agent/v1/fence') {
      const b = parse(body) as { role?: unknown; token?: unknown };
      if (typeof b.role !== 'string' || typeof b.token !== 'number') throw AGENT_REQUEST_INVALID({ reason: 'fence needs {"role": string, "token": number}' });
      this.fencing.admit(`${b.role}:${b.token}`, 'fence');
      return send(res, 200, { highest: this.fencing.snapshot() });
    }
    if (route === 'POST /agent/v1/call') {
      const b = parse(body) as { method?: unknown; args?: unknown };
      if (typeof b.method !== 'string' || !Array.isArray(b.args)) throw AGENT_REQUEST_INVALID({ reason: 'a call needs {"method": string, "args": array}' });
      const w = wireOf(b.method);
      if (!w) throw AGENT_METHOD_UNKNOWN({ method: b.method.slice(0, 60) });
      if (w.wire.changes) {
        const h = req.headers[FENCING_HEADER];
        this.fencing.admit(typeof h === 'string' ? h : undefined, b.method);
      }
      // JSON has no undefined: an argument left out arrives as null.
      const args = b.args.map((a: unknown) => (a === null ? undefined : a));
      const target = (w.noun === null ? this.agent : this.agent[w.noun]) as unknown as Record<string, (...a: unknown[]) => unknown>;
      const result = await target[w.method]!.apply(target, args);
      return send(res, 200, { result: result === undefined ? null : result });
    }
    throw AGENT_REQUEST_INVALID({ reason: `no agent resource ${route}` });
  }

  private async events(url: URL, res: http.ServerResponse): Promise<void> {
    const after = Number(url.searchParams.get('after') ?? '-1');
    const waitMs = Math.min(MAX_WAIT_MS, Math.max(0, Number(url.searchParams.get('waitMs') ?? '0')));
    // after=-1: "from now on" (a manager starting up does not replay the ring).
    if (after >= 0 && after >= this.seq && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const events = after < 0 ? [] : this.ring.filter((e) => e.seq > after);
    send(res, 200, { seq: this.seq, events });
  }
}

function parse(text: string): unknown {
  try {
    const v = JSON.parse(text === '' ? '{}' : text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw AGENT_REQUEST_INVALID({ reason: (e as Error).message });
  }
}

function send(res: http.ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An error the agent answered, rebuilt with its id for the manager's own answer. */
export function agentError(e: { id?: unknown; code?: unknown; message?: unknown; action?: unknown }, status: number): KuraError {
  return new KuraError(
    String(e.id),
    String(e.code ?? 'EIO') as KuraError['code'],
    String(e.message ?? 'The array refused the call.'),
    String(e.action ?? 'See the array log.'),
    status,
  );
}
