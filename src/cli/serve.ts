// kura serve: the embedded array, its manager (REST API, events) and the NBD
// and iSCSI front ends in one process. A first start on an empty data dir creates the
// admin token, the demo pool and LD, and prints how to connect.
//
// Output contract (tests and scripts rely on it): stdout gets the connection
// summary, then one line "listening api=URL nbd=HOST:PORT iscsi=HOST:PORT,HOST:PORT" with the bound
// addresses (port 0 picks free ports; "nbd=off" with --nbd off), then a line "ready" once every listener
// accepts connections. Logs go to stderr. SIGINT/SIGTERM stop the listeners,
// close the array and exit 0.
import path from 'node:path';
import type { Command } from 'commander';
import { ARRAY } from '../api/array.js';
import { API_PREFIX, pathOf } from '../api/route.js';
import { KuraArray } from '../array/array.js';
import { makeDataDir } from '../block/data-dir.js';
import { INTERNAL_ERROR, KuraError, asKuraError } from '../errors.js';
import { Manager, ensureToken } from '../manager/manager.js';
import { NbdServer } from '../nbd/server.js';
import { NBD_TLS_MODES } from '../nbd/tls.js';
import type { NbdTlsMode } from '../nbd/tls.js';
import { nbdExposure } from '../array/nbd-access.js';
import { IscsiFrontEnd } from '../array/iscsi-front-end.js';
import { NBD_PORT_KEY } from '../array/stats/service.js';
import { RotatingLog } from '../ops/logs/log-file.js';
import { argError, hostPortArg } from './units.js';
import { limitOptions, parseLimits, startLimits } from './serve-limits.js';
import type { ServeLimits } from './serve-limits.js';
import { DATA_DIR_CREATE_FAILED, ISCSI_NEEDS_TWO_PORTS, ISCSI_SAME_PORT, LISTEN_FAILED, SERVE_FAILED } from '../catalogue/cli.js';
import { NBD_TLS_MODE_UNKNOWN } from '../catalogue/protocols.js';

export const DEMO_POOL = 'pool0';
export const DEMO_LD = 'demo0';

type HostPort = { host: string; port: number };

/** "127.0.0.1:9940", "[::1]:9940". */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the embedded array with its manager (REST API, events) and its NBD and iSCSI front ends')
    .option('--data <dir>', 'data directory', './kura-data')
    .option('--http <host:port>', 'API listener (port 0: any free port)', '127.0.0.1:9940')
    .option('--nbd <host:port|off>', 'NBD listener (port 0: any free port; off: no NBD at all)', '127.0.0.1:10809')
    .option('--nbd-tls <mode>', 'NBD TLS-PSK: off, allowed (the client chooses) or required (no plain NBD)', 'allowed')
    .option('--iscsi <host:port,host:port>', 'iSCSI host ports of controllers 0 and 1 (port 0: any free port)', '127.0.0.1:3260,127.0.0.1:3261')
    .option('--no-demo', 'do not create the demo pool and LD on first start')
    .option('--metrics-public', 'serve GET /metrics without the API token (for a Prometheus that holds no token)');
  limitOptions(cmd);
  cmd.action(async (o: { data: string; http: string; nbd: string; nbdTls: string; iscsi: string; demo: boolean } & Record<string, string>) => {
    const http = hostPortArg(o.http, '--http');
    const nbd = o.nbd.trim() === 'off' ? null : hostPortArg(o.nbd, '--nbd');
    if (!(NBD_TLS_MODES as readonly string[]).includes(o.nbdTls)) {
      throw argError(NBD_TLS_MODE_UNKNOWN, { nbdTls: o.nbdTls });
    }
    const portals = o.iscsi.split(',').map((p) => hostPortArg(p, '--iscsi'));
    if (portals.length !== 2) {
      throw argError(ISCSI_NEEDS_TWO_PORTS, { length: portals.length });
    }
    if (portals[0]!.port !== 0 && formatHostPort(portals[0]!) === formatHostPort(portals[1]!)) {
      throw argError(ISCSI_SAME_PORT, { port: formatHostPort(portals[0]!) });
    }
    await serve({
      dataDir: o.data,
      http,
      nbd,
      nbdTls: o.nbdTls as NbdTlsMode,
      portals,
      demo: o.demo,
      limits: parseLimits(o),
      metricsPublic: Boolean(o['metricsPublic']),
    });
  });
}

export interface ServeOptions {
  dataDir: string;
  http: HostPort;
  /** null: no NBD listener (--nbd off). */
  nbd: HostPort | null;
  nbdTls?: NbdTlsMode;
  portals: HostPort[];
  demo: boolean;
  /** Resource limits (defaults when absent). */
  limits?: ServeLimits;
  /** GET /metrics without the API token. */
  metricsPublic?: boolean;
}

export async function serve(o: ServeOptions): Promise<void> {
  // Logs go to stderr and, once the data directory exists, to DATA/logs/kura.log (kura logs collect gathers it).
  let logFile: RotatingLog | undefined = undefined;
  const log = (m: string) => {
    const line = `${new Date().toISOString()} ${m}\n`;
    process.stderr.write(line);
    logFile?.write(line);
  };
  const nbdTls = o.nbdTls ?? 'allowed';

  // Signals that arrive while starting are honoured once start-up is done.
  let stopRequested: string | null = null;
  let stop: ((sig: string) => Promise<void>) | null = null;
  const onSignal = (sig: string) => {
    if (stopRequested !== null) {
      log(`${sig} again: exiting without a clean shutdown`);
      process.exit(1);
    }
    stopRequested = sig;
    if (stop) void stop(sig);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  // Everything the server creates (metadata, WAL, PDs, token, event store) is
  // private to its user: the data directory holds CHAP secrets and the API token.
  process.umask(0o077);
  try {
    makeDataDir(o.dataDir);
  } catch (e) {
    throw DATA_DIR_CREATE_FAILED({ dataDir: o.dataDir, reason: (e as Error).message });
  }
  logFile = new RotatingLog(o.dataDir);
  const array = await KuraArray.open({ dataDir: o.dataDir, portals: o.portals, log });
  const lim = startLimits(o.limits, log);
  let manager: Manager | undefined;
  let nbdServer: NbdServer | undefined;
  let iscsi: IscsiFrontEnd | undefined;
  let created: boolean | undefined;
  let phase = 'start';
  try {
    phase = 'the API token';
    created = ensureToken(o.dataDir).created;
    phase = 'the event store';
    manager = new Manager({ dataDir: o.dataDir, agent: array, log, metricsPublic: o.metricsPublic });
    if (array.isNew && o.demo) {
      phase = 'the demo pool and LD';
      await manager.createDemo(DEMO_POOL, DEMO_LD);
    }
    phase = `the API listener ${formatHostPort(o.http)} (--http)`;
    await manager.listen(o.http.host, o.http.port, lim.http);
    if (o.nbd) {
      phase = `the NBD listener ${formatHostPort(o.nbd)} (--nbd)`;
      const n = new NbdServer({
        exports: array.frontEnd.nbdExports(),
        tls: { mode: nbdTls, psk: (id) => array.frontEnd.nbdPsk(id) },
        log,
        counters: array.portCounters(NBD_PORT_KEY),
        ...lim.nbd,
      });
      nbdServer = n;
      array.frontEnd.onAccessChanged(() => n.revalidate());
      array.frontEnd.registerSessionSource(() =>
        n.openDevices().map((d) => ({ device: d.device, holder: `NBD client ${d.peer}${d.identity ? ` (host ${d.identity})` : ''}` })),
      );
      await n.listen(o.nbd.host, o.nbd.port);
    }
    phase = `the iSCSI portals ${o.portals.map(formatHostPort).join(', ')} (--iscsi)`;
    iscsi = new IscsiFrontEnd(array.frontEnd, { log, ...lim.iscsi });
    await iscsi.listen();
  } catch (e) {
    await iscsi?.close().catch(() => undefined);
    await nbdServer?.close().catch(() => undefined);
    await manager?.close().catch(() => undefined);
    await array.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
      throw LISTEN_FAILED({ phase, reason: err.message });
    }
    const k = asKuraError(e);
    const failed = SERVE_FAILED({ phase, reason: k.message });
    if (k.id === INTERNAL_ERROR.id) throw failed;
    // Any other error keeps its id (scripts test it) and its action, in this sentence.
    throw new KuraError(k.id, k.code, failed.message, k.action);
  }

  const info = array.info();
  const api = manager.address();
  const url = `http://${formatHostPort(api)}`;
  const nbdHp = nbdServer ? formatHostPort(nbdServer.address()) : 'off';
  const portals = array.frontEnd.hostPorts().map((p) => formatHostPort(p));
  const target = array.frontEnd.targetName();
  manager.events.record({
    id: 'KURA-I4000',
    severity: 'info',
    source: 'array',
    text: `Array ${info.name} started (data ${path.resolve(o.dataDir)}, API ${url}, NBD ${nbdHp}, iSCSI ${portals.join(', ')}).`,
  });

  const tokenPath = path.join(o.dataDir, 'admin.token');
  const lds = array.lds.listLds();
  const example = lds.find((l) => l.name === DEMO_LD) ?? lds[0];
  const exposure = nbdExposure(array.hostTable, nbdTls);
  const nbdLines = !nbdServer
    ? ['  NBD:      off (--nbd off)']
    : [
        ...(array.hostTable.accessControlOn()
          ? nbdTls === 'off'
            ? [`  NBD:      nbd://${nbdHp}/LD    (plain NBD, --nbd-tls off)`]
            : [`  NBD:      nbds://HOST@${nbdHp}/LD?tls-psk-file=FILE    (a host's key: kura host set-nbd-psk HOST --psk-file FILE --generate)`]
          : example
            ? [
                `  NBD:      nbd://${nbdHp}/${example.name}    e.g. nbdinfo nbd://${nbdHp}/${example.name}`,
                `            (qemu-img info nbd://${nbdHp}/${example.name}, nbdcopy FILE nbd://${nbdHp}/${example.name}; every LD is an export)`,
              ]
            : [`  NBD:      nbd://${nbdHp}/LD    (every LD is an export; none exists yet)`]),
        `            NBD ${nbdHp} exposes: ${exposure}`,
      ];
  const lines = [
    `Kura ${info.version}: array ${info.name}, data in ${path.resolve(o.dataDir)}${array.isNew ? ' (new)' : ''}`,
    ...nbdLines,
    `  API:      ${url}${API_PREFIX}    (OpenAPI document at ${url}${pathOf(ARRAY.document)})`,
    `  token:    ${tokenPath}${created ? ' (new, mode 0600)' : ''}`,
    `  CLI:      KURA_URL=${url} KURA_TOKEN=$(cat ${tokenPath}) kura ld list`,
    `  iSCSI:    target ${target}, controller 00 on ${portals[0]}, controller 01 on ${portals[1]}`,
    ...(example
      ? [
          array.hosts.accessControl().enabled
            ? `            access control is on: initiators see only the LDs mapped to their host entry (kura host list)`
            : `            iscsi://${portals[0]}/${target}/${example.number}    e.g. iscsi-ls -s iscsi://${portals[0]}; LUN = LD number while access control is off`,
        ]
      : []),
    `listening api=${url} nbd=${nbdHp} iscsi=${portals.join(',')}`,
    'ready',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  log(`ready: API ${url}, NBD ${nbdHp}${nbdServer ? ` (TLS ${nbdTls}; ${exposure})` : ''}, iSCSI ${portals.join(', ')}`);

  const m = manager;
  const n = nbdServer;
  const t = iscsi;
  stop = async (sig: string) => {
    log(`${sig}: stopping`);
    let code = 0;
    for (const [what, close] of [
      ['iSCSI portals', () => t.close()],
      ['NBD listener', () => n?.close() ?? Promise.resolve()],
      [
        'event store',
        async () => {
          m.events.record({ id: 'KURA-I4009', severity: 'info', source: 'array', text: `Array ${info.name} stopping (${sig}).` });
          await m.close();
        },
      ],
      ['array', () => array.close()],
    ] as Array<[string, () => Promise<void>]>) {
      try {
        await close();
      } catch (e) {
        code = 1;
        log(`closing the ${what} failed: ${(e as Error)?.stack ?? e}`);
      }
    }
    log(code === 0 ? 'stopped' : 'stopped with errors');
    process.exit(code);
  };
  if (stopRequested !== null) await stop(stopRequested);
}
