// The management service: REST API with bearer-token auth over an array agent,
// an event store fed by the array and by every configuration change.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ArrayAgent, LdInfo, PoolInfo } from '../array/agent.js';
import { EventStore } from './events.js';
import { ArrayVvolPort, rebindSubsidiaries } from '../vvol/array-port.js';
import { VvolProvider } from '../vvol/provider.js';
import { VvolStore } from '../vvol/store.js';
import { BackupService } from '../vvol/backup/service.js';
import { backupRoutes } from './routes/backup.js';
import { BINDING_NOT_RESTORED } from '../catalogue/vvol.js';
import { parseJsonBody } from './json-body.js';
import { openApiDocument } from './openapi.js';
import { apiRoutes, bytesText } from './routes/index.js';
import { answerHandlerError, hardenHttpServer, readBodyCapped } from '../limits/http-server.js';
import { hex4 } from '../units.js';
import { MethodNotAllowed, Router, requestTarget, sendJson, sendRaw, validateBody, validateQuery } from './router.js';
import { Operations } from '../ops/index.js';
import { METRICS_PATH } from '../api/metrics.js';
import type { RetryPolicy } from '../ops/alerts/dispatcher.js';
import { alertRoutes } from './routes/alerts.js';
import { metricsReply } from './routes/metrics.js';
import { perfRoutes } from './routes/perf.js';
import { pathStateRoutes } from './routes/path-states.js';
import { supportRoutes } from './routes/support.js';
import { API_TOKEN_INVALID, API_TOKEN_UNREADABLE } from '../catalogue/manager.js';
import { API_CONNECTION_CAP } from '../catalogue/protocols.js';
import { ConsoleServer } from '../console/server.js';
import type { ConsoleOptions } from '../console/server.js';
import { boundAddress, listenOn } from '../io/listen.js';

/** The header a client names itself with for the configuration lock. */
export const OWNER_HEADER = 'x-kura-owner';
/** Request bodies above this are refused before they are read whole. */
const MAX_BODY = 1024 * 1024;

/** Limits of the API listener (kura serve --http-max-connections, --http-idle-timeout). */
export interface HttpLimits {
  /** Connections open at once; more are closed on accept (default 256). */
  maxConnections?: number;
  /**
   * A connection that has not sent its request head within this long is
   * closed (default 10 s); a request must arrive whole within four times this.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_HTTP_MAX_CONNECTIONS = 256;
export const DEFAULT_HTTP_IDLE_TIMEOUT_MS = 10_000;
/**
 * A kept-alive connection between requests. Clients (undici, curl) reuse idle
 * pooled connections and honour the Keep-Alive: timeout hint, but a client
 * whose event loop was busy may still pick a socket the server just closed:
 * a short timeout here races them.
 */
const KEEP_ALIVE_MS = 60_000;

export interface ManagerOptions {
  dataDir: string;
  agent: ArrayAgent;
  log?: (msg: string) => void;
  /** GET /metrics without the API token (kura serve --metrics-public). */
  metricsPublic?: boolean;
  /** Alert delivery retries (tests shorten the back-off). */
  alertRetry?: RetryPolicy;
  /** The web console's session and stream limits and where its bundle is (tests). */
  console?: Pick<ConsoleOptions, 'sessions' | 'streams' | 'assetsDir'>;
}

/** Reads DATA/admin.token, creating it (random, mode 0600) when absent. */
export function ensureToken(dataDir: string): { token: string; created: boolean } {
  const p = path.join(dataDir, 'admin.token');
  let text: string | undefined;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw API_TOKEN_UNREADABLE({ policy: p, reason: (e as Error).message });
    }
  }
  if (text !== undefined) {
    const token = text.trim();
    if (!/^[\x21-\x7e]{16,}$/.test(token)) {
      throw API_TOKEN_INVALID({ policy: p });
    }
    return { token, created: false };
  }
  const token = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(p, token + '\n', { mode: 0o600, flag: 'wx' });
  // The umask may have taken bits away, never added them; make the mode exact anyway.
  fs.chmodSync(p, 0o600);
  return { token, created: true };
}

export class Manager {
  readonly events: EventStore;
  /** The VVOL provider (the VASA provider role), its records in DATA/vvol.db. */
  readonly vvol: VvolProvider;
  private readonly vvolStore: VvolStore;
  /** VM backup and restore, relation files and provider settings (src/vvol/backup). */
  readonly backup: BackupService;
  readonly router = new Router();
  /** Alerts, performance history, metrics and log collection (src/ops). */
  readonly ops: Operations;
  /** The web console at / (login, session cookie, CSRF, live events). */
  readonly console: ConsoleServer;
  private readonly token: string;
  private server: http.Server | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: ManagerOptions) {
    this.token = ensureToken(opts.dataDir).token;
    this.events = new EventStore(path.join(opts.dataDir, 'manager.db'));
    this.unsubscribe = opts.agent.events.onEvent((e) => this.events.record(e));
    this.vvolStore = VvolStore.open(path.join(opts.dataDir, 'vvol.db'));
    this.vvol = new VvolProvider({ port: new ArrayVvolPort(opts.agent), store: this.vvolStore });
    // The provider's events and alarms also go to the manager's event store (kura events), as the array's do.
    this.vvol.events.onEvent((e) => this.events.record({ id: e.id, severity: e.severity, source: `vasa/${e.object}`, text: e.text, time: e.time }));
    const lost = rebindSubsidiaries(
      opts.agent,
      this.vvol.queryVvols().flatMap((v) => this.vvol.bindingsOf(v.id).map((b) => ({ peLd: b.peLd, vvolLd: v.ld, slu: b.slu, hosts: Object.keys(b.hosts) }))),
    );
    for (const what of lost) this.events.record({ id: BINDING_NOT_RESTORED.id, severity: 'warning', source: 'vasa', text: BINDING_NOT_RESTORED({ what }) });
    const doc = () => openApiDocument(this.router.routes, opts.agent.info().version);
    for (const r of apiRoutes(opts.agent, this.events, doc, this.vvol)) this.router.add(r);
    this.ops = new Operations({
      dataDir: opts.dataDir,
      agent: opts.agent,
      events: { onRecord: (fn) => this.events.onRecord(fn), record: (e) => this.events.record(e) },
      log: opts.log,
      secrets: [this.token],
      alertRetry: opts.alertRetry,
    });
    const changed = (id: string, source: string, text: string) => this.events.record({ id, severity: 'info', source, text });
    this.backup = new BackupService({ agent: opts.agent, vvol: this.vvol, db: this.vvolStore.db, dataDir: opts.dataDir, emit: (e) => this.events.record(e) });
    for (const r of backupRoutes(this.backup)) this.router.add(r);
    for (const r of [
      ...alertRoutes(this.ops.alerts, changed),
      ...perfRoutes(this.ops.perf),
      ...pathStateRoutes(this.ops.paths),
      ...supportRoutes(() => this.ops.supportFiles()),
    ])
      this.router.add(r);
    this.backup.start().catch((e: unknown) => opts.log?.(`backup: recovery after restart failed: ${(e as Error)?.message ?? e}`));
    this.console = new ConsoleServer({
      ...opts.console,
      events: this.events,
      isToken: (t) => this.isToken(t),
      hasBearer: (req) => this.authorized(req),
      arrayName: () => opts.agent.info().name,
    });
    this.ops.paths.onChange((hosts) => this.console.stream.signal('paths', { hosts }));
  }

  /**
   * First start: a demo pool of 4 GiB (RAID1 over 2 PDs) and a 1 GiB LD in it,
   * recorded like every configuration change.
   */
  async createDemo(poolName: string, ldName: string): Promise<{ pool: PoolInfo; ld: LdInfo }> {
    const GiB = 2 ** 30;
    const pool = await this.opts.agent.pools.createPool({ name: poolName, size: 4 * GiB, raid: 'RAID1', pds: 2 });
    this.events.record({
      id: 'KURA-I4001',
      severity: 'info',
      source: `pool/${pool.name}`,
      text: `Demo pool ${pool.name} created (${pool.raid}, ${bytesText(pool.capacity)}, ${pool.pds.length} PDs).`,
    });
    const ld = await this.opts.agent.lds.createLd({ name: ldName, pool: pool.name, size: GiB });
    this.events.record({
      id: 'KURA-I4010',
      severity: 'info',
      source: `ld/${ld.name}`,
      text: `Demo LD ${ld.name} (${hex4(ld.number)}h) created in pool ${ld.pool} (${bytesText(ld.capacity)}).`,
    });
    return { pool, ld };
  }

  private authorized(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m !== null && this.isToken(m[1]!.trim());
  }

  private isToken(t: string): boolean {
    const a = Buffer.from(t);
    const b = Buffer.from(this.token);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // The raw target, never normalised: dot segments are matched literally (requestTarget).
    const url = requestTarget(req.url ?? '/');
    if (url.path === METRICS_PATH) {
      // The token, or the console's session (its charts), unless --metrics-public.
      if (!this.opts.metricsPublic && !this.authorized(req)) this.console.authorizeApi(req, false);
      const m = metricsReply(req, url.path, () => this.ops.metricsText());
      if (m) {
        req.resume();
        return sendRaw(res, 200, m);
      }
    }
    if (this.console.owns(url.path)) return this.console.serve(req, res, url.path);
    const { route, params } = this.router.match(req.method ?? 'GET', url.path);
    // Without the bearer token, the console's session cookie may stand for it (with its CSRF token for a change).
    if (!route.public && !this.authorized(req)) this.console.authorizeApi(req, route.method !== 'GET');
    // Every request's body is read (so the connection stays usable); POST and
    // PATCH bodies are JSON objects checked against the route's fields, so a
    // field sent to a route that takes none is refused, not ignored.
    const text = await readBody(req, res);
    const takesBody = route.body !== undefined || route.method === 'POST' || route.method === 'PATCH';
    let raw: unknown;
    if (takesBody && text.trim() !== '') raw = parseJsonBody(text);
    const query = validateQuery(route, url.query);
    const body = takesBody ? validateBody(route, raw) : {};
    const ownerHeader = req.headers[OWNER_HEADER];
    const owner = typeof ownerHeader === 'string' && ownerHeader !== '' ? ownerHeader : undefined;
    // Every change but the lock's own routes waits for nobody: it is refused while another owner holds the lock.
    if (route.method !== 'GET' && !route.lockExempt) this.opts.agent.lock.checkLock(owner);
    const out = await route.handler({ params, query, body, owner });
    const status = route.status ?? 200;
    // A 204 route that has something to tell this time (a forced LD delete) answers 200 with it.
    if (status === 204 && out === undefined) {
      res.writeHead(204);
      res.end();
    } else sendJson(res, status === 204 ? 200 : status, out);
  }

  listen(host: string, port: number, limits: HttpLimits = {}): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) =>
        answerHandlerError(req, res, e, {
          what: 'api',
          log: this.opts.log ?? (() => undefined),
          headers: e instanceof MethodNotAllowed ? { allow: e.allow.join(', ') } : undefined,
        }),
      );
    });
    // A cap of its own keeps the API reachable whatever the data listeners take.
    hardenHttpServer(server, {
      what: 'API listener',
      maxConnections: limits.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS,
      idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_HTTP_IDLE_TIMEOUT_MS,
      keepAliveMs: KEEP_ALIVE_MS,
      capReport: API_CONNECTION_CAP,
      option: '--http-max-connections',
      log: this.opts.log ?? (() => undefined),
    });
    this.server = server;
    return listenOn(server, { host, port });
  }

  address(): { host: string; port: number } {
    return boundAddress(this.server!);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.ops.close();
    this.console.close();
    const s = this.server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.backup.close();
    this.events.close();
    this.vvolStore.close();
  }
}

async function readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
  return (await readBodyCapped(req, res, MAX_BODY)).toString('utf8');
}
