// kura path: the seed's spscmd for pathd. It talks to pathd's control API
// (--pathd URL, KURA_PATHD_URL, default http://127.0.0.1:9950).
import fs from 'node:fs';
import type { Command } from 'commander';
import { KuraError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { argError } from './units.js';
import { TransportError, httpExchange } from './http.js';
import type { HttpAnswer } from './http.js';
import { PATHD_ANSWER_INCOMPLETE } from '../catalogue/cli.js';
import {
  PATH_ARG_CHECK_SELECTOR,
  PATH_ARG_NOT_HITO,
  PATH_ARG_NOT_NUMBER,
  PATH_ARG_NOT_ON_OFF,
  SORT_ARG_UNKNOWN,
  OUTPUT_WRITE_FAILED,
  PATHD_ANSWER_ERROR,
  PATHD_ANSWER_NOT_JSON,
  PATHD_UNREACHABLE,
} from '../catalogue/pathmgr.js';

const DEFAULT_PATHD_URL = 'http://127.0.0.1:9950';

interface PathView {
  number: string;
  portal: string;
  target: string;
  lun: number;
  state: string;
  priority: number;
  alua: string;
  marginal: boolean;
  reason: string;
  inflight: number;
  /** The seed's path index in its LU (absent from older pathd versions). */
  index?: number;
}

interface DeviceView {
  id: string;
  export: string;
  policy: string;
  blockSize: number;
  blockCount: number;
  reservationKey: string | null;
  /** The seed's LogicalUnit #N (absent from older pathd versions). */
  logicalUnit?: number;
  paths: PathView[];
}

function pathdUrl(cmd: Command): string {
  let c: Command | null = cmd;
  let url: string | undefined;
  while (c && url === undefined) {
    url = c.opts<{ pathd?: string }>().pathd;
    c = c.parent;
  }
  return (url ?? process.env['KURA_PATHD_URL'] ?? DEFAULT_PATHD_URL).replace(/\/+$/, '');
}

async function call<T>(cmd: Command, method: string, route: string, body?: unknown): Promise<T> {
  const base = pathdUrl(cmd);
  let res: HttpAnswer;
  try {
    res = await httpExchange({
      method,
      base: new URL(base),
      path: `/api/v1${route}`,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 5 * 60_000,
    });
  } catch (e) {
    if (e instanceof TransportError && e.kind === 'closed') {
      throw PATHD_ANSWER_INCOMPLETE({ base, method, route, reason: e.message });
    }
    throw PATHD_UNREACHABLE({ base, reason: (e as Error).message });
  }
  if (res.contentType === 'application/gzip') return res.body as T;
  const text = res.body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw PATHD_ANSWER_NOT_JSON({ base, status: res.status });
  }
  if (res.status < 200 || res.status > 299) {
    const e = (json as { error?: { id: string; code: ErrorCode; message: string; action: string } })?.error;
    if (e) throw new KuraError(e.id, e.code, e.message, e.action);
    throw PATHD_ANSWER_ERROR({ status: res.status });
  }
  return json as T;
}

const SYMBOL: Record<string, string> = { 'in-use': '>', active: ' ', standby: '@', failed: 'X', unavailable: '-' };

export type SortBy = 'default' | 'priority' | 'path';

/** --sort: priority or path, or the seed's -s2 / -s1 as 2 / 1. */
export function sortArg(v: string | undefined): SortBy {
  if (v === undefined) return 'default';
  if (v === 'priority' || v === '2') return 'priority';
  if (v === 'path' || v === '1') return 'path';
  throw argError(SORT_ARG_UNKNOWN, { v });
}

/** How a policy is named in the LU header: the seed spells round robin with a space (PM L21). */
function policyLabel(policy: string): string {
  return policy.replace(/-/g, ' ');
}

function byPathNumber(a: PathView, b: PathView): number {
  const x = a.number.split(':').map(Number);
  const y = b.number.split(':').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * The seed's -getlun layout (PM L12-28): "*** LogicalUnit #N ***" for a normal LU,
 * "+++ LogicalUnit #N +++ [round robin]" for dynamic balancing, then one line per
 * path "S I: Priority=P, PathNumber=..." with S the state symbol and I the path's
 * index in the LU. Kura's additions (export, LU designator, portal, ALUA state,
 * state name) follow the seed's text on the same lines. By default a dynamic LU
 * lists its paths by path number and any other by priority (PM L60); --sort
 * priority or path picks one order for all.
 */
export function formatDevices(devs: DeviceView[], sortBy: SortBy = 'default'): string {
  if (devs.length === 0) return 'No multipath devices (kura path rescan looks for new ones).';
  const out: string[] = [];
  for (const [i, d] of devs.entries()) {
    const dynamic = d.policy !== 'failover';
    const mark = dynamic ? '+++' : '***';
    out.push(
      `${mark} LogicalUnit #${d.logicalUnit ?? i} ${mark}${dynamic ? ` [${policyLabel(d.policy)}]` : ''} ${d.export} ${d.id}${d.reservationKey ? ` key=${d.reservationKey}` : ''}`,
    );
    const byPath = sortBy === 'path' || (sortBy === 'default' && dynamic);
    const paths = d.paths.map((p, n) => ({ p, index: p.index ?? n })).sort((a, b) => (byPath ? byPathNumber(a.p, b.p) : b.p.priority - a.p.priority));
    if (paths.length === 0) out.push('  (no path: kura path rescan looks again)');
    for (const { p, index } of paths) {
      const extra = [p.marginal ? 'marginal' : '', p.reason && p.state !== 'in-use' && p.state !== 'active' ? p.reason : ''].filter(Boolean).join('; ');
      out.push(
        `${SYMBOL[p.state] ?? '?'} ${index}: Priority=${p.priority}, PathNumber=${p.number}, Portal=${p.portal}, ALUA=${p.alua}, State=${p.state}${extra ? ` (${extra})` : ''}`,
      );
    }
  }
  return out.join('\n');
}

function onOff(v: string | undefined, what: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(on|enable|e|yes|1|true)$/i.test(v)) return true;
  if (/^(off|disable|d|no|0|false)$/i.test(v)) return false;
  throw argError(PATH_ARG_NOT_ON_OFF, { what, v });
}

function num(v: string | undefined, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw argError(PATH_ARG_NOT_NUMBER, { what, v });
  return n;
}

interface Watcher {
  healthCheck: boolean;
  recoveryCheck: boolean;
  interval: number;
  threshold: number;
  timeout: number;
}

function formatWatcher(w: Watcher): string {
  const en = (b: boolean) => (b ? 'Enable' : 'Disable');
  return [
    `Health check     : ${en(w.healthCheck)}`,
    `Recovery check   : ${en(w.recoveryCheck)}`,
    `Request interval : ${w.interval} sec`,
    `Threshold        : ${w.threshold} sec`,
    `Timeout duration : ${w.timeout} sec`,
  ].join('\n');
}

interface Mode {
  failback: string;
  cluster: boolean;
  grouping: string;
  noPathRetry: number;
}

function formatMode(m: Mode): string {
  return [
    `Failback      : ${m.failback === 'auto' ? 'Active' : 'Standby'} (${m.failback})`,
    `Cluster       : ${m.cluster ? 'Enable' : 'Disable'}`,
    `Path grouping : ${m.grouping}`,
    `No path retry : ${m.noPathRetry} sec`,
  ].join('\n');
}

export function registerPath(program: Command, ctx: CliContext): void {
  const path = program
    .command('path')
    .description('show and control the host multipath daemon (kura pathd)')
    .option('--pathd <url>', `pathd control URL (or KURA_PATHD_URL; default ${DEFAULT_PATHD_URL})`);

  path
    .command('show')
    .description('logical units with their paths, states, priorities and balancing policy')
    .option('--sort <by>', "priority or path (the seed's -s2/-s1; default: by path number for dynamic balancing, else by priority)")
    .action(async (o: { sort?: string }, cmd: Command) => {
      const sortBy = sortArg(o.sort);
      const devs = await call<DeviceView[]>(cmd, 'GET', '/devices');
      print(ctx.json(), devs, () => formatDevices(devs, sortBy));
    });

  path
    .command('set')
    .description('set a path available (seed -path), standby (priority disabled, seed -notavail) or unavailable (out of use)')
    .argument('<path>', "path number (P:0:T:L; fields may be left out as in the seed's -path: 0::: is every path through portal 0) or portal HOST:PORT")
    .argument('<state>', 'available, standby or unavailable')
    .option('--device <export>', 'the device, when a portal names several paths')
    .action(async (p: string, state: string, o: { device?: string }, cmd: Command) => {
      const devs = await call<DeviceView[]>(cmd, 'POST', '/paths/state', { path: p, state, device: o.device });
      print(ctx.json(), devs, () => formatDevices(devs));
    });

  path
    .command('priority')
    .description("set a path's priority (1-254, unique per logical unit; higher is preferred)")
    .argument('<path>')
    .argument('<priority>')
    .option('--device <export>')
    .action(async (p: string, prio: string, o: { device?: string }, cmd: Command) => {
      const devs = await call<DeviceView[]>(cmd, 'POST', '/paths/priority', { path: p, priority: Number(prio), device: o.device });
      print(ctx.json(), devs, () => formatDevices(devs));
    });

  path
    .command('swap')
    .description('exchange the priorities of two paths (moves the in-use path)')
    .argument('<path1>')
    .argument('<path2>')
    .option('--device <export>')
    .action(async (a: string, b: string, o: { device?: string }, cmd: Command) => {
      const devs = await call<DeviceView[]>(cmd, 'POST', '/paths/swap', { a, b, device: o.device });
      print(ctx.json(), devs, () => formatDevices(devs));
    });

  path
    .command('policy')
    .description('set the balancing policy of a device (or all): failover, round-robin, least-queue-depth, service-time')
    .argument('<device>', 'export name, id, or all')
    .argument('<policy>')
    .action(async (d: string, pol: string, _o: unknown, cmd: Command) => {
      const devs = await call<DeviceView[]>(cmd, 'POST', '/devices/policy', { device: d, policy: pol });
      print(ctx.json(), devs, () => formatDevices(devs));
    });

  const watcher = path.command('watcher').description('path patrol settings (seed -getwatcher/-setwatcher)');
  watcher.command('show').action(async (_o: unknown, cmd: Command) => {
    const w = await call<Watcher>(cmd, 'GET', '/watcher');
    print(ctx.json(), w, () => formatWatcher(w));
  });
  watcher
    .command('set')
    .description('change patrol settings; also takes the seed form H:I:T:O (checks 0-3, interval, threshold, timeout; empty fields stay)')
    .argument('[hito]')
    .option('--health <on|off>')
    .option('--recovery <on|off>')
    .option('--interval <seconds>')
    .option('--threshold <seconds>')
    .option('--timeout <seconds>')
    .action(
      async (hito: string | undefined, o: { health?: string; recovery?: string; interval?: string; threshold?: string; timeout?: string }, cmd: Command) => {
        const body: Partial<Watcher> = {};
        if (hito !== undefined) {
          const f = hito.split(':');
          if (f.length !== 4) throw argError(PATH_ARG_NOT_HITO, { hito });
          if (f[0] !== '') {
            const h = Number(f[0]);
            if (![0, 1, 2, 3].includes(h)) throw argError(PATH_ARG_CHECK_SELECTOR, { selector: f[0] });
            body.healthCheck = h === 1 || h === 3;
            body.recoveryCheck = h === 2 || h === 3;
          }
          if (f[1] !== '') body.interval = num(f[1], 'interval');
          if (f[2] !== '') body.threshold = num(f[2], 'threshold');
          if (f[3] !== '') body.timeout = num(f[3], 'timeout');
        }
        const h = onOff(o.health, '--health');
        const r = onOff(o.recovery, '--recovery');
        if (h !== undefined) body.healthCheck = h;
        if (r !== undefined) body.recoveryCheck = r;
        for (const k of ['interval', 'threshold', 'timeout'] as const) {
          const v = num(o[k], `--${k}`);
          if (v !== undefined) body[k] = v;
        }
        const w = await call<Watcher>(cmd, 'PUT', '/watcher', body);
        print(ctx.json(), w, () => formatWatcher(w));
      },
    );

  const mode = path.command('mode').description('failback and cluster mode (seed -getmode/-setfbmode/-setmscsmode)');
  mode.command('show').action(async (_o: unknown, cmd: Command) => {
    const m = await call<Mode>(cmd, 'GET', '/mode');
    print(ctx.json(), m, () => formatMode(m));
  });
  mode
    .command('set')
    .option('--failback <mode>', 'auto (active failback) or manual (standby failback)')
    .option('--cluster <on|off>', 'cluster mode: no dynamic balancing')
    .option('--queue-if-no-path <seconds>', 'how long I/O waits for a usable path (no_path_retry)')
    .option('--path-grouping <grouping>', 'alua (optimized paths first) or multibus (all active paths alike)')
    .action(async (o: { failback?: string; cluster?: string; queueIfNoPath?: string; pathGrouping?: string }, cmd: Command) => {
      const fb =
        o.failback === undefined
          ? undefined
          : /^(a|active|auto)$/i.test(o.failback)
            ? 'auto'
            : /^(s|standby|manual)$/i.test(o.failback)
              ? 'manual'
              : o.failback;
      const m = await call<Mode>(cmd, 'PUT', '/mode', {
        failback: fb,
        cluster: onOff(o.cluster, '--cluster'),
        noPathRetry: num(o.queueIfNoPath, '--queue-if-no-path'),
        grouping: o.pathGrouping,
      });
      print(ctx.json(), m, () => formatMode(m));
    });

  path
    .command('rescan')
    .description('look for new paths and logical units behind the portals')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await call<{ added: number; devices: DeviceView[] }>(cmd, 'POST', '/rescan');
      print(ctx.json(), r, () => `${r.added} path(s) added.\n${formatDevices(r.devices)}`);
    });

  path
    .command('stats')
    .description('per-path I/O statistics')
    .action(async (_o: unknown, cmd: Command) => {
      type Stat = {
        number: string;
        portal: string;
        state: string;
        inflight: number;
        reads: number;
        writes: number;
        readBytes: number;
        writeBytes: number;
        errors: number;
        failures: number;
        serviceTimeMs: number;
      };
      const s = await call<Array<{ export: string; paths: Stat[] }>>(cmd, 'GET', '/stats');
      print(ctx.json(), s, () =>
        table(
          ['DEVICE', 'PATH', 'PORTAL', 'STATE', 'READS', 'WRITES', 'READ MiB', 'WRITE MiB', 'QUEUE', 'ERRORS', 'FAILURES', 'SVC ms'],
          s.flatMap((d) =>
            d.paths.map((p) => [
              d.export,
              p.number,
              p.portal,
              p.state,
              p.reads,
              p.writes,
              (p.readBytes / 1048576).toFixed(1),
              (p.writeBytes / 1048576).toFixed(1),
              p.inflight,
              p.errors,
              p.failures,
              p.serviceTimeMs.toFixed(2),
            ]),
          ),
        ),
      );
    });

  path
    .command('events')
    .description('the newest path events')
    .action(async (_o: unknown, cmd: Command) => {
      const ev = await call<Array<{ time: string; level: string; id: string; text: string; seedEvent?: number; seedLevel?: string }>>(cmd, 'GET', '/events');
      // The seed's event id and level follow the text, as in pathd.log.
      const seed = (e: { seedEvent?: number; seedLevel?: string }) =>
        e.seedEvent === undefined ? '' : ` [PathManager event ${e.seedEvent} ${e.seedLevel ?? ''}]`;
      print(ctx.json(), ev, () => ev.map((e) => `${e.time} ${e.level.toUpperCase().padEnd(7)} ${e.id} ${e.text}${seed(e)}`).join('\n') || 'No events.');
    });

  path
    .command('persist')
    .description(
      'persistent reservations through pathd (like mpathpersist): register, unregister, reserve, release, preempt, clear, read-keys, read-reservation',
    )
    .argument('<action>')
    .argument('<device>', 'export name or id')
    .option('--key <key>', "this host's reservation key (0x... or decimal)")
    .option('--sa-key <key>', 'the key to preempt')
    .option('--type <type>', 'reservation type (default write-exclusive-registrants-only)')
    .action(async (action: string, device: string, o: { key?: string; saKey?: string; type?: string }, cmd: Command) => {
      const r = await call<Record<string, unknown>>(cmd, 'POST', '/persist', { action, device, key: o.key, saKey: o.saKey, type: o.type });
      print(ctx.json(), r, () => {
        if (action === 'read-keys') {
          const k = r as { generation: number; keys: string[] };
          return [`PR generation=0x${k.generation.toString(16)}, ${k.keys.length} registered reservation key(s)`, ...k.keys.map((x) => `    ${x}`)].join('\n');
        }
        if (action === 'read-reservation') {
          const k = r as { generation: number; reservation?: { key: string; type: string } };
          return k.reservation
            ? `PR generation=0x${k.generation.toString(16)}, reservation key=${k.reservation.key}, type=${k.reservation.type}`
            : `PR generation=0x${k.generation.toString(16)}, there is NO reservation held`;
        }
        return `persist ${action} on ${device}: done`;
      });
    });

  const logs = path.command('logs').description('log extraction');
  logs
    .command('collect')
    .description("bundle pathd's logs, configuration and state into one .tar.gz")
    .option('--output <file>', 'archive to write (default pathd-logs-TIMESTAMP.tar.gz)')
    .action(async (o: { output?: string }, cmd: Command) => {
      const data = await call<Buffer>(cmd, 'GET', '/logs/archive');
      const file = o.output ?? `pathd-logs-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
      try {
        fs.writeFileSync(file, data);
      } catch (e) {
        throw OUTPUT_WRITE_FAILED({ file, reason: (e as Error).message });
      }
      print(ctx.json(), { file, bytes: data.length }, () => `Wrote ${file} (${data.length} bytes).`);
    });
}
