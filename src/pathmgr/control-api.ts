// pathd's control API: a small JSON-over-HTTP interface on --control that
// `kura path` talks to. It is meant for the host itself (bind it to loopback).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { asKuraError } from '../errors.js';
import { entryText } from './log.js';
import type { PathLog } from './log.js';
import type { PathManager } from './manager.js';
import type { MultipathDevice } from './device.js';
import {
  CONTROL_BODY_NOT_JSON,
  CONTROL_BODY_TOO_LARGE,
  CONTROL_FIELD_MISSING,
  CONTROL_NO_ROUTE,
  LOG_COLLECTION_FAILED,
  PATH_STATE_NOT_SETTABLE,
} from '../catalogue/pathmgr.js';
import { listenOn } from '../io/listen.js';

export function showDevice(d: MultipathDevice) {
  return {
    id: d.id,
    export: d.name,
    /** For a subsidiary LU (a bound VVOL): the PE it sits behind and its subsidiary LU id. */
    pe: d.conglomerate?.pe ?? null,
    slu: d.conglomerate?.slu ?? null,
    policy: d.policy,
    blockSize: d.blockSize,
    blockCount: d.blockCount,
    reservationKey: d.prKey === undefined ? null : `0x${d.prKey.toString(16)}`,
    logicalUnit: d.index,
    paths: d.paths.map((p) => ({
      number: p.number,
      portal: p.portal,
      target: p.target,
      lun: p.lun,
      state: p.state,
      priority: p.priority,
      alua: p.alua,
      marginal: p.marginal,
      reason: p.reason,
      inflight: p.inflight,
      index: p.index,
    })),
  };
}

export function showStats(d: MultipathDevice) {
  return { export: d.name, id: d.id, paths: d.paths.map((p) => ({ number: p.number, portal: p.portal, state: p.state, inflight: p.inflight, ...p.stats })) };
}

type Handler = (body: Record<string, unknown>, params: string[]) => Promise<unknown> | unknown;

export class ControlApi {
  private server: http.Server | undefined;
  private readonly routes: Array<{ method: string; re: RegExp; fn: Handler }> = [];

  constructor(
    private readonly mgr: PathManager,
    private readonly log: PathLog,
    private readonly info: () => Record<string, unknown>,
  ) {
    const str = (v: unknown, what: string): string => {
      if (typeof v !== 'string' || v === '') throw CONTROL_FIELD_MISSING({ what });
      return v;
    };
    const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    this.add('GET', /^\/api\/v1\/devices$/, () => mgr.devices.map(showDevice));
    this.add('GET', /^\/api\/v1\/stats$/, () => mgr.devices.map(showStats));
    this.add('GET', /^\/api\/v1\/status$/, () => ({ ...this.info(), watcher: mgr.watcher, mode: mode(mgr) }));
    this.add('POST', /^\/api\/v1\/paths\/state$/, (b) => {
      const state = str(b['state'], 'state');
      if (state !== 'available' && state !== 'standby' && state !== 'unavailable') {
        throw PATH_STATE_NOT_SETTABLE({ state });
      }
      mgr.setPathAdminState(str(b['path'], 'path'), state, optStr(b['device']));
      return mgr.devices.map(showDevice);
    });
    this.add('POST', /^\/api\/v1\/paths\/priority$/, (b) => {
      mgr.setPriority(str(b['path'], 'path'), Number(b['priority']), optStr(b['device']));
      return mgr.devices.map(showDevice);
    });
    this.add('POST', /^\/api\/v1\/paths\/swap$/, (b) => {
      mgr.swap(str(b['a'], 'a'), str(b['b'], 'b'), optStr(b['device']));
      return mgr.devices.map(showDevice);
    });
    this.add('POST', /^\/api\/v1\/devices\/policy$/, (b) => {
      mgr.setPolicy(str(b['device'], 'device'), str(b['policy'], 'policy'));
      return mgr.devices.map(showDevice);
    });
    this.add('GET', /^\/api\/v1\/watcher$/, () => mgr.watcher);
    this.add('PUT', /^\/api\/v1\/watcher$/, (b) => mgr.setWatcher(b));
    this.add('GET', /^\/api\/v1\/mode$/, () => mode(mgr));
    this.add('PUT', /^\/api\/v1\/mode$/, (b) => {
      mgr.setMode({
        failback: optStr(b['failback']),
        cluster: typeof b['cluster'] === 'boolean' ? b['cluster'] : undefined,
        noPathRetry: b['noPathRetry'] === undefined ? undefined : Number(b['noPathRetry']),
        grouping: optStr(b['grouping']),
      });
      return mode(mgr);
    });
    this.add('POST', /^\/api\/v1\/rescan$/, async () => {
      const added = await mgr.rescan();
      return { added, devices: mgr.devices.map(showDevice) };
    });
    this.add('POST', /^\/api\/v1\/persist$/, (b) =>
      mgr.persist(str(b['device'], 'device'), str(b['action'], 'action'), { key: optStr(b['key']), saKey: optStr(b['saKey']), type: optStr(b['type']) }),
    );
    this.add('GET', /^\/api\/v1\/events$/, () => log.recent.slice(-200));
  }

  private add(method: string, re: RegExp, fn: Handler): void {
    this.routes.push({ method, re, fn });
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    const srv = http.createServer((req, res) => void this.handle(req, res));
    this.server = srv;
    return listenOn(srv, { host, port }).then(() => srv.address() as net.AddressInfo);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, v: unknown) => {
      const body = JSON.stringify(v);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://pathd');
      if (req.method === 'GET' && url.pathname === '/api/v1/logs/archive') return await this.archive(res);
      const route = this.routes.find((r) => r.method === req.method && r.re.test(url.pathname));
      if (!route) throw CONTROL_NO_ROUTE({ method: req.method, pathname: url.pathname });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > 1 << 20) throw CONTROL_BODY_TOO_LARGE();
        chunks.push(c as Buffer);
      }
      let body: Record<string, unknown> = {};
      if (size > 0) {
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        } catch {
          throw CONTROL_BODY_NOT_JSON();
        }
      }
      send(200, (await route.fn(body, [])) ?? {});
    } catch (e) {
      const k = asKuraError(e);
      send(k.httpStatus, { error: k.toJSON() });
    }
  }

  /** The seed's log extraction: logs, current configuration and state in one .tar.gz. */
  private async archive(res: http.ServerResponse): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pathd-logs-'));
    try {
      const bundle = path.join(dir, 'pathd-logs');
      fs.mkdirSync(bundle);
      const snapshot = {
        collected: new Date().toISOString(),
        ...this.info(),
        watcher: this.mgr.watcher,
        mode: mode(this.mgr),
        devices: this.mgr.devices.map(showDevice),
        stats: this.mgr.devices.map(showStats),
      };
      fs.writeFileSync(path.join(bundle, 'state.json'), JSON.stringify(snapshot, null, 2));
      fs.writeFileSync(
        path.join(bundle, 'events.log'),
        this.log.recent.map((e) => `${e.time} ${e.level.toUpperCase()} ${e.id} ${entryText(e)}`).join('\n') + '\n',
      );
      if (this.log.file) for (const f of [this.log.file, `${this.log.file}.old`]) if (fs.existsSync(f)) fs.copyFileSync(f, path.join(bundle, path.basename(f)));
      const tgz = path.join(dir, 'pathd-logs.tar.gz');
      await new Promise<void>((resolve, reject) => {
        const c = spawn('tar', ['-czf', tgz, '-C', dir, 'pathd-logs'], { stdio: 'ignore', timeout: 30_000 });
        c.on('error', reject);
        c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
      });
      const data = fs.readFileSync(tgz);
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': data.length });
      res.end(data);
    } catch (e) {
      const k = LOG_COLLECTION_FAILED({ reason: (e as Error).message });
      res.writeHead(k.httpStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: k.toJSON() }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function mode(mgr: PathManager) {
  return { failback: mgr.settings.failback, cluster: mgr.settings.cluster, grouping: mgr.settings.grouping, noPathRetry: mgr.settings.noPathRetryMs / 1000 };
}
