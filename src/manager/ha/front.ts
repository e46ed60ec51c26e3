// The API listener of `kura manager --etcd`: any manager answers.
//  - /api/v1/ha/...  the deployment (arrays, managers, registration), from etcd;
//  - /ha/v1/...      manager to manager: recruitment, the snapshot, the event stream, confirmation;
//  - anything else   the management API of one array (header x-kura-array, or the only one
//                    registered): served by the array's active manager. On the active it goes
//                    to the session's Manager (the same routes as kura serve) and a change is
//                    answered once the standby holds its events; elsewhere it is proxied to the
//                    active (one hop at most).
import crypto from 'node:crypto';
import http from 'node:http';
import { HA } from '../../api/ha.js';
import type { HaArrayView, HaManagerView } from '../../api/ha.js';
import { httpArrayAgent } from '../../array/agent-http/client.js';
import { KuraError } from '../../errors.js';
import { parseJsonBody } from '../json-body.js';
import { readView } from './keys.js';
import type { ArrayRecord, DeploymentView } from './keys.js';
import type { HaNode } from './node.js';
import { EVENTS_FILE, RESENT_FILES } from './replication.js';
import { sendJson, validateBody } from '../router.js';
import { API_TOKEN_MISSING, NO_API_RESOURCE } from '../../catalogue/manager.js';
import {
  ACTIVE_MANAGER_UNREACHABLE,
  ARRAY_ALREADY_REGISTERED,
  ARRAY_CHOICE_NEEDED,
  ARRAY_NOT_REGISTERED,
  CHANGE_NOT_REPLICATED,
  MANAGER_NOT_ACTING,
  NO_ACTIVE_MANAGER,
  NO_ARRAY_REGISTERED,
  REPLICA_FILE_TOO_LARGE,
  REPLICATION_REFUSED,
} from '../../catalogue/ha.js';
import { API_CONNECTION_CAP } from '../../catalogue/protocols.js';
import { boundAddress, listenOn } from '../../io/listen.js';
import { answerHandlerError, hardenHttpServer, readBodyCapped } from '../../limits/http-server.js';
import { DEFAULT_HTTP_IDLE_TIMEOUT_MS, DEFAULT_HTTP_MAX_CONNECTIONS } from '../manager.js';
import type { HttpLimits } from '../manager.js';

export const ARRAY_HEADER = 'x-kura-array';
const FORWARDED_HEADER = 'x-kura-forwarded';
/** Names the manager that served the request (the array's active). */
export const SERVED_BY_HEADER = 'x-kura-served-by';
/** A replicated file (a snapshot of manager.db or vvol.db), streamed to disk, at most this big. */
export const DEFAULT_MAX_REPLICA_FILE = 512 * 1024 * 1024;
/** Manager-to-manager JSON (an event batch: 2,000 events of up to 2,000 characters each). */
const MAX_JSON = 16 * 1024 * 1024;
/** The API's own JSON bodies, as kura serve's. */
const MAX_BODY = 1024 * 1024;
/** A change proxied to the active (its body is the API's JSON). */
const MAX_FORWARDED = 2 * 1024 * 1024;
/** A request must arrive whole within this long: a replicated file may take minutes. */
const REQUEST_TIMEOUT_MS = 600_000;

export interface HaFrontOptions {
  /** The largest replicated file a standby accepts (default 512 MiB). */
  maxReplicaFile?: number;
}

export class HaFront {
  private server: http.Server | null = null;
  private readonly maxFile: number;

  constructor(
    private readonly node: HaNode,
    private readonly log: (m: string) => void,
    opts: HaFrontOptions = {},
  ) {
    this.maxFile = opts.maxReplicaFile ?? DEFAULT_MAX_REPLICA_FILE;
  }

  listen(host: string, port: number, limits: HttpLimits = {}): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => answerHandlerError(req, res, e, { what: 'api', log: this.log }));
    });
    // The same limits as kura serve's API listener (src/limits/http-server.ts).
    hardenHttpServer(server, {
      what: 'API listener',
      maxConnections: limits.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS,
      idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_HTTP_IDLE_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      keepAliveMs: 60_000,
      capReport: API_CONNECTION_CAP,
      option: '--http-max-connections',
      log: this.log,
    });
    this.server = server;
    return listenOn(server, { host, port });
  }

  address(): { host: string; port: number } {
    return boundAddress(this.server!);
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private authorized(req: http.IncomingMessage): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const a = Buffer.from(m[1]!.trim());
    const b = Buffer.from(this.node.adminToken);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://manager');
    const p = url.pathname.replace(/\/+$/, '');
    if (p.startsWith('/ha/v1/')) {
      if (!this.authorized(req)) throw API_TOKEN_MISSING();
      return this.internal(req, res, p, url);
    }
    if (p.startsWith('/api/v1/ha/')) {
      const body = await readBodyCapped(req, res, MAX_BODY);
      if (!this.authorized(req)) throw API_TOKEN_MISSING();
      return this.deployment(req, res, p, body.toString('utf8'));
    }
    return this.forward(req, res);
  }

  // ---- the deployment ----

  private async deployment(req: http.IncomingMessage, res: http.ServerResponse, p: string, text: string): Promise<void> {
    const route = `${req.method} ${p}`;
    if (route === `GET ${HA.arrays.path}`) return sendJson(res, 200, arrayViews(await readView(this.node.etcd)));
    if (route === `GET ${HA.managers.path}`) return sendJson(res, 200, await this.managerViews(await readView(this.node.etcd)));
    if (route === `POST ${HA.register.path}`) {
      const body = validateBody({ ...HA.register, handler: () => undefined }, text.trim() === '' ? undefined : parseJsonBody(text));
      const url = (body['url'] as string).replace(/\/+$/, '');
      const agent = httpArrayAgent({ url, token: body['token'] as string });
      let rec: ArrayRecord;
      try {
        const id = await agent.identity();
        rec = { id: id.id, name: id.name, url, token: body['token'] as string };
      } finally {
        await agent.close();
      }
      if (!(await this.node.registerArray(rec))) {
        // The same array at the same URL again (a retried request) is no error.
        const known = (await readView(this.node.etcd)).arrays.get(rec.id);
        if (known?.url !== rec.url) throw ARRAY_ALREADY_REGISTERED({ array: rec.id, url: known?.url ?? rec.url });
      }
      // Answer once a manager serves it (the first one claims it within a tick or two).
      const deadline = Date.now() + 20_000;
      let view = arrayViews(await readView(this.node.etcd)).find((a) => a.id === rec.id)!;
      while (view.active === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        view = arrayViews(await readView(this.node.etcd)).find((a) => a.id === rec.id)!;
      }
      return sendJson(res, 201, view);
    }
    throw NO_API_RESOURCE({ path: p });
  }

  private async managerViews(view: DeploymentView): Promise<HaManagerView[]> {
    const out: HaManagerView[] = [];
    for (const m of [...view.managers.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const arrays: HaManagerView['arrays'] = [];
      for (const [id, r] of [...view.roles].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (r.active?.name === m.name) arrays.push({ id, role: 'active' });
        else if (r.standby?.name === m.name) arrays.push({ id, role: 'standby' });
      }
      out.push({ name: m.name, state: 'live', url: m.url, leaseSecondsLeft: await this.node.leaseSecondsLeft(m.lease), arrays });
    }
    return out;
  }

  // ---- manager to manager ----

  private async internal(req: http.IncomingMessage, res: http.ServerResponse, p: string, url: URL): Promise<void> {
    const m = /^\/ha\/v1\/arrays\/([^/]+)\/(recruit|confirm|events|files\/([^/]+))$/.exec(p);
    if (!m) throw NO_API_RESOURCE({ path: p });
    const id = decodeURIComponent(m[1]!);
    const token = Number(/^active:(\d+)$/.exec(String(req.headers['x-kura-fencing'] ?? ''))?.[1] ?? NaN);
    // A file is streamed to disk once the receiver is known; JSON bodies are small.
    const json = async () => parseJsonBody((await readBodyCapped(req, res, MAX_JSON)).toString('utf8')) as Record<string, unknown>;
    if (m[2] === 'recruit') {
      const b = await json();
      this.node.recruited(id, b['array'] as ArrayRecord, String(b['active']), token);
      return sendJson(res, 200, {});
    }
    const receiver = this.node.receiver(id, token);
    if (!receiver) throw REPLICATION_REFUSED({ array: id, reason: `this manager is not the joining standby of the active with token ${token}` });
    if (m[3] !== undefined) {
      const name = decodeURIComponent(m[3]);
      if (name !== EVENTS_FILE && !RESENT_FILES.includes(name)) throw REPLICATION_REFUSED({ array: id, reason: `${name} is not a replicated file` });
      const seq = url.searchParams.get('seq');
      if (Number(req.headers['content-length'] ?? NaN) > this.maxFile) throw REPLICA_FILE_TOO_LARGE({ array: id, file: name, max: this.maxFile });
      await receiver.receiveFile(name, req, this.maxFile, seq === null ? undefined : Number(seq));
      return sendJson(res, 200, {});
    }
    if (m[2] === 'events') return sendJson(res, 200, { acked: receiver.apply(((await json())['events'] ?? []) as never) });
    if (!(await this.node.confirm(id, token, String((await json())['raw']))))
      throw REPLICATION_REFUSED({ array: id, reason: 'the standby slot no longer names this manager' });
    return sendJson(res, 200, {});
  }

  // ---- the management API of one array ----

  private pickArray(req: http.IncomingMessage, view: DeploymentView): string {
    const h = req.headers[ARRAY_HEADER];
    const ids = [...view.arrays.keys()].sort();
    if (typeof h === 'string' && h !== '') {
      if (view.arrays.has(h)) return h;
      const byName = [...view.arrays.values()].filter((a) => a.name === h);
      if (byName.length === 1) return byName[0]!.id;
      throw ARRAY_NOT_REGISTERED({ array: h });
    }
    if (ids.length === 1) return ids[0]!;
    if (ids.length === 0) throw NO_ARRAY_REGISTERED();
    throw ARRAY_CHOICE_NEEDED({ arrays: ids.join(', ') });
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const view = this.node.view;
    if (!view) throw MANAGER_NOT_ACTING();
    const id = this.pickArray(req, view);
    const role = view.roles.get(id);
    const session = this.node.active.get(id);
    if (session) {
      if (!this.node.acting()) throw MANAGER_NOT_ACTING();
      return this.serveLocally(req, res, session);
    }
    const active = role?.active?.name;
    const target = active === undefined ? undefined : view.managers.get(active);
    if (!target || active === this.node.name || req.headers[FORWARDED_HEADER] !== undefined) throw NO_ACTIVE_MANAGER({ array: id });
    await proxy(req, res, target.url, { [FORWARDED_HEADER]: this.node.name, [ARRAY_HEADER]: id }).catch((e: Error) => {
      throw e instanceof KuraError ? e : ACTIVE_MANAGER_UNREACHABLE({ array: id, manager: active!, reason: e.message });
    });
  }

  private async serveLocally(req: http.IncomingMessage, res: http.ServerResponse, s: NonNullable<ReturnType<HaNode['active']['get']>>): Promise<void> {
    const answer = await exchange(req, res, s.internalUrl);
    // A change is acknowledged only once the standby holds what it recorded.
    if (req.method !== 'GET' && req.method !== 'HEAD' && !(await this.node.replicated(s))) throw CHANGE_NOT_REPLICATED({ array: s.array.id });
    res.writeHead(answer.status, { ...answer.headers, [SERVED_BY_HEADER]: this.node.name });
    res.end(answer.body);
  }
}

export function arrayViews(view: DeploymentView): HaArrayView[] {
  return [...view.arrays.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((a) => {
      const r = view.roles.get(a.id);
      return {
        id: a.id,
        name: a.name,
        url: a.url,
        active: r?.active?.name ?? null,
        standby: r?.standby?.name ?? null,
        standbyConfirmed: r?.standby?.confirmed ?? false,
      };
    });
}

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

function forwardHeaders(h: http.IncomingHttpHeaders, extra: Record<string, string>): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_HEADERS.has(k) && v !== undefined) out[k] = v;
  return { ...out, ...extra };
}

/** Sends the request on to `base` and collects the whole answer. */
async function exchange(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  base: string,
): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
  const body = await readBodyCapped(req, res, MAX_FORWARDED);
  return new Promise((resolve, reject) => {
    const out = http.request(
      `${base}${req.url ?? '/'}`,
      { method: req.method, headers: { ...forwardHeaders(req.headers, {}), 'content-length': body.length } },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const headers: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(r.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = v;
          resolve({ status: r.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
        });
        r.on('error', reject);
      },
    );
    out.on('error', reject);
    out.setTimeout(120_000, () => out.destroy(new Error('no answer within 120 s')));
    out.end(body);
  });
}

/** Forwards the request to another manager and streams its answer back. */
async function proxy(req: http.IncomingMessage, res: http.ServerResponse, base: string, extra: Record<string, string>): Promise<void> {
  const body = await readBodyCapped(req, res, MAX_FORWARDED);
  await new Promise<void>((resolve, reject) => {
    const out = http.request(
      `${base}${req.url ?? '/'}`,
      { method: req.method, headers: { ...forwardHeaders(req.headers, extra), 'content-length': body.length } },
      (r) => {
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(r.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = v;
        res.writeHead(r.statusCode ?? 502, headers);
        r.pipe(res);
        r.on('end', () => resolve());
        r.on('error', reject);
      },
    );
    out.on('error', reject);
    out.setTimeout(120_000, () => out.destroy(new Error('no answer within 120 s')));
    out.end(body);
  });
}
