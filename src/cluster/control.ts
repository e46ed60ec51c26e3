// The node agent's local control socket (DATA/agent.sock, HTTP/JSON), what the
// script commands armload, armkill, armloadc and armlog talk to. Local only:
// a Unix socket in the node's data directory (mode 0700).
import fs from 'node:fs';
import http from 'node:http';
import { KuraError, asKuraError } from '../errors.js';
import { AGENT_NO_ROUTE, WATCH_ID_UNKNOWN, WATCH_START_FAILED } from '../catalogue/cluster.js';
import type { NodeAgent } from './agent.js';
import { listenOn } from '../io/listen.js';

export interface ArmloadRequest {
  group: string;
  id: string;
  command: string;
  monitor: boolean;
  fov: boolean;
  /** Seconds to wait for an early exit; a non-zero one is the start's failure (ERRORLEVEL 1). */
  wait: number;
  env?: Record<string, string>;
}

export class ControlServer {
  private server: http.Server | undefined;

  constructor(private readonly agent: NodeAgent) {}

  async listen(socket: string): Promise<void> {
    fs.rmSync(socket, { force: true });
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await listenOn(this.server, { path: socket });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    try {
      let raw = '';
      for await (const c of req) raw += (c as Buffer).toString();
      const b = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      const str = (k: string) => String(b[k] ?? '');
      const w = this.agent.watched;
      switch (req.url) {
        case '/armload':
          return send(200, await this.armload(b as unknown as ArmloadRequest));
        case '/armkill':
          if (!(await w.kill(str('group'), str('id')))) throw WATCH_ID_UNKNOWN({ id: str('id') });
          return send(200, {});
        case '/armloadc':
          if (!w.setPaused(str('group'), str('id'), b['pause'] === true)) throw WATCH_ID_UNKNOWN({ id: str('id') });
          return send(200, {});
        case '/armlog':
          this.agent.log(`group ${str('group')}: ${str('text')}`);
          return send(200, {});
        case '/shutdown':
          send(200, {});
          void this.agent.serverShutdown();
          return;
        default:
          throw AGENT_NO_ROUTE({ route: req.url ?? '' });
      }
    } catch (e) {
      const k = e instanceof KuraError ? e : asKuraError(e);
      send(k.httpStatus, { error: k.toJSON() });
    }
  }

  private async armload(r: ArmloadRequest): Promise<{ pid: number }> {
    const action = r.fov ? 'failover' : r.monitor ? 'shutdown' : 'none';
    // The script's own environment (ARMS_*, KURA_*, PATH), so the process sees what its script saw.
    const env = r.env ?? process.env;
    // Watched without a recovery action until the wait is over: an early exit is armload's failure, not a failover.
    const err = await this.agent.watched.start(r.group, r.id, r.command, 'none', env);
    if (err) throw WATCH_START_FAILED({ id: r.id, reason: err });
    const w = this.agent.watched.get(r.group, r.id);
    if (r.wait > 0 && w) {
      const early = await Promise.race([w.exited, new Promise<'running'>((res) => setTimeout(() => res('running'), r.wait * 1000))]);
      if (early !== 'running' && early !== 0)
        throw WATCH_START_FAILED({ id: r.id, reason: `it exited at once with ${early === null ? 'a signal' : `exit status ${early}`}` });
    }
    if (w) w.action = action;
    return { pid: w?.proc.pid ?? 0 };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
