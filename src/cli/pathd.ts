// kura pathd: the host multipath daemon. It logs in to the array through every
// --portal, groups the paths by logical unit, exports each multipath device
// over NBD (TCP, and a Unix socket with --unix) and serves the control API
// that `kura path` uses. Output contract: one line
// "ready nbd=HOST:PORT control=URL devices=N" once the devices are exported;
// events go to stderr, the log file and syslog.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { EVENTS } from '../api/events.js';
import { pathOf } from '../api/route.js';
import { NbdServer } from '../nbd/server.js';
import { ControlApi } from '../pathmgr/control-api.js';
import { PathLog, entryText } from '../pathmgr/log.js';
import type { LogEntry } from '../pathmgr/log.js';
import { PathManager } from '../pathmgr/manager.js';
import { StateReporter } from '../pathmgr/state-report.js';
import { POLICIES } from '../pathmgr/policy.js';
import type { Policy } from '../pathmgr/policy.js';
import { formatHostPort } from './serve.js';
import { argError, hostPortArg } from './units.js';
import { CHAP_OPTION_MISSING, CHAP_SECRETS_EQUAL, CHAP_SECRET_FILE_EMPTY, CHAP_SECRET_FILE_UNREADABLE, MUTUAL_CHAP_WITHOUT_CHAP } from '../catalogue/cli.js';
import {
  EVENTS_NOT_SENT,
  PATHD_FAILBACK_ARG,
  PATHD_GROUPING_ARG,
  PATHD_NEEDS_PORTAL,
  PATHD_POLICY_ARG,
  PATHD_SECONDS_ARG,
  NO_LOGICAL_UNIT_FOUND,
  PATHD_CANNOT_LISTEN,
  PATHD_DATA_DIR_FAILED,
} from '../catalogue/pathmgr.js';

interface PathdOpts {
  portal: string[];
  nbd: string;
  control: string;
  patrolInterval?: string;
  unix?: string;
  initiator?: string;
  logDir?: string;
  stateFile?: string;
  data?: string;
  policy: string;
  queueIfNoPath: string;
  commandTimeout: string;
  failback: string;
  cluster?: boolean;
  pathGrouping: string;
  syslog: boolean;
  manager?: string;
  managerToken?: string;
  reportInterval: string;
  chapUser?: string;
  chapSecretFile?: string;
  chapTargetUser?: string;
  chapTargetSecretFile?: string;
}

/** A CHAP secret from a file (never from the command line, where ps and shell history would show it). */
function readSecretFile(file: string, option: string): string {
  let secret: string;
  try {
    secret = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw argError(CHAP_SECRET_FILE_UNREADABLE, { file, option, reason: (e as Error).message });
  }
  if (secret.length === 0) throw argError(CHAP_SECRET_FILE_EMPTY, { file, option });
  return secret;
}

/** --chap-user/--chap-secret-file (and the mutual --chap-target-* pair): both of a pair or neither. */
export function chapOptions(
  o: Pick<PathdOpts, 'chapUser' | 'chapSecretFile' | 'chapTargetUser' | 'chapTargetSecretFile'>,
): { user: string; secret: string; mutual?: { user: string; secret: string } } | undefined {
  const pair = (user: string | undefined, file: string | undefined, u: string, f: string) => {
    if ((user === undefined) !== (file === undefined)) {
      throw argError(CHAP_OPTION_MISSING, { missing: user === undefined ? u : f, neededBy: user === undefined ? f : u, u, f });
    }
  };
  pair(o.chapUser, o.chapSecretFile, '--chap-user', '--chap-secret-file');
  pair(o.chapTargetUser, o.chapTargetSecretFile, '--chap-target-user', '--chap-target-secret-file');
  if (o.chapUser === undefined) {
    if (o.chapTargetUser !== undefined) throw argError(MUTUAL_CHAP_WITHOUT_CHAP, undefined);
    return undefined;
  }
  const secret = readSecretFile(o.chapSecretFile!, '--chap-secret-file');
  if (o.chapTargetUser === undefined) return { user: o.chapUser, secret };
  const mutual = { user: o.chapTargetUser, secret: readSecretFile(o.chapTargetSecretFile!, '--chap-target-secret-file') };
  if (mutual.secret === secret) {
    throw argError(CHAP_SECRETS_EQUAL, undefined);
  }
  return { user: o.chapUser, secret, mutual };
}

function seconds(v: string, what: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > 86400) throw argError(PATHD_SECONDS_ARG, { what, v, min });
  return n;
}

/**
 * pathd's data directory when --data is not given: the --log-dir (where earlier
 * releases kept the state file), else KURA_PATHD_DATA, else the system's state
 * directory for root and the user's XDG state directory for anyone else.
 */
export function defaultDataDir(logDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (logDir) return logDir;
  if (env['KURA_PATHD_DATA']) return env['KURA_PATHD_DATA'];
  if (env['XDG_STATE_HOME']) return path.join(env['XDG_STATE_HOME'], 'kura', 'pathd');
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/kura/pathd';
  return path.join(os.homedir(), '.local', 'state', 'kura', 'pathd');
}

export function registerPathd(program: Command): void {
  program
    .command('pathd')
    .description('run the host multipath daemon: one NBD export per logical unit over all --portal paths')
    .option('--portal <host:port>', 'an iSCSI portal of the array (repeat once per path)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--nbd <host:port>', 'NBD listener for the multipath devices (port 0: any free port)', '127.0.0.1:10810')
    .option('--control <host:port>', 'control API listener for kura path (port 0: any free port)', '127.0.0.1:9950')
    .option('--unix <path>', 'also serve NBD on this Unix socket')
    .option('--patrol-interval <seconds>', 'path patrol interval, 1 to 86400 (default 60)')
    .option('--initiator <iqn>', 'initiator name (default iqn.2026-11.io.kura:pathd.HOSTNAME)')
    .option(
      '--data <dir>',
      'pathd data directory: state file and log (default: the --log-dir, else KURA_PATHD_DATA, else /var/lib/kura/pathd as root, $XDG_STATE_HOME/kura/pathd or ~/.local/state/kura/pathd otherwise)',
    )
    .option('--log-dir <dir>', 'directory of pathd.log, rotated at 5 MiB to pathd.log.old (default: the data directory)')
    .option('--state-file <file>', 'where priorities, policies, path states and reservation keys survive restarts (default DATA/pathd-state.json)')
    .option('--policy <policy>', `balancing policy of new devices: ${POLICIES.join(', ')}`, 'failover')
    .option('--queue-if-no-path <seconds>', 'how long I/O waits for a usable path before it fails (no_path_retry)', '30')
    .option('--command-timeout <seconds>', 'a command taking longer fails its path over', '10')
    .option('--failback <mode>', 'auto (a recovered path is used again) or manual (it waits in standby)', 'auto')
    .option('--cluster', 'cluster mode: no dynamic load balancing')
    .option('--path-grouping <grouping>', 'alua (optimized paths first, like group_by_prio) or multibus (all active paths alike)', 'alua')
    .option('--no-syslog', 'do not copy events to syslog')
    .option('--manager <url>', "also send path events to this array manager's event list (its API URL)")
    .option('--manager-token <token>', 'API token for --manager (or KURA_TOKEN)')
    .option('--report-interval <seconds>', 'with --manager: report the path states at least this often, 1 to 3600 (and within a second of a change)', '30')
    .option('--chap-user <name>', "log in with CHAP as this user (the host entry's kura host set-chap --user)")
    .option('--chap-secret-file <file>', 'file holding the CHAP secret for --chap-user')
    .option('--chap-target-user <name>', 'mutual CHAP: the user name the target must answer with (kura target set-chap --user)')
    .option('--chap-target-secret-file <file>', 'mutual CHAP: file holding the secret the target must prove')
    .action(async (o: PathdOpts) => {
      if (o.portal.length === 0) throw argError(PATHD_NEEDS_PORTAL, undefined);
      const portals = o.portal.map((p) => hostPortArg(p, '--portal'));
      const nbd = hostPortArg(o.nbd, '--nbd');
      const control = hostPortArg(o.control, '--control');
      if (!POLICIES.includes(o.policy as Policy)) throw argError(PATHD_POLICY_ARG, { policy: o.policy, policies: POLICIES.join(', ') });
      if (o.failback !== 'auto' && o.failback !== 'manual') throw argError(PATHD_FAILBACK_ARG, { failback: o.failback });
      if (o.pathGrouping !== 'alua' && o.pathGrouping !== 'multibus') throw argError(PATHD_GROUPING_ARG, { pathGrouping: o.pathGrouping });
      const interval = o.patrolInterval === undefined ? 60 : seconds(o.patrolInterval, '--patrol-interval', 1);
      const data = path.resolve(o.data ?? defaultDataDir(o.logDir));
      try {
        fs.mkdirSync(data, { recursive: true, mode: 0o700 });
        fs.accessSync(data, fs.constants.W_OK);
      } catch (e) {
        throw PATHD_DATA_DIR_FAILED({ data, reason: (e as Error).message });
      }
      const chap = chapOptions(o);
      await runPathd({
        portals,
        nbd,
        control,
        unix: o.unix,
        interval,
        initiator:
          o.initiator ??
          `iqn.2026-11.io.kura:pathd.${os
            .hostname()
            .toLowerCase()
            .replace(/[^a-z0-9.-]/g, '-')}`,
        logDir: o.logDir ?? data,
        stateFile: o.stateFile ?? path.join(data, 'pathd-state.json'),
        policy: o.policy as Policy,
        noPathRetry: seconds(o.queueIfNoPath, '--queue-if-no-path', 0),
        commandTimeout: seconds(o.commandTimeout, '--command-timeout', 1),
        failback: o.failback,
        cluster: o.cluster === true,
        grouping: o.pathGrouping,
        syslog: o.syslog,
        manager:
          o.manager === undefined
            ? undefined
            : {
                url: o.manager.replace(/\/+$/, ''),
                token: o.managerToken ?? process.env['KURA_TOKEN'],
                reportInterval: Math.min(3600, Math.round(seconds(o.reportInterval, '--report-interval', 1))),
              },
        chap,
      });
    });
}

interface RunOptions {
  portals: Array<{ host: string; port: number }>;
  nbd: { host: string; port: number };
  control: { host: string; port: number };
  unix?: string;
  interval: number;
  initiator: string;
  logDir?: string;
  stateFile?: string;
  policy: Policy;
  noPathRetry: number;
  commandTimeout: number;
  failback: 'auto' | 'manual';
  cluster: boolean;
  grouping: 'alua' | 'multibus';
  syslog: boolean;
  manager?: { url: string; token?: string; reportInterval: number };
  chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
}

/** Sends events to the array manager's event list in order; a failure is reported once, not per event. */
function managerSink(m: { url: string; token?: string }, host: string): (e: LogEntry) => void {
  let chain: Promise<void> = Promise.resolve();
  let warned = false;
  return (e) => {
    if (e.id === 'KURA-I7040') return; // per-connection NBD chatter stays local
    chain = chain.then(async () => {
      try {
        const r = await fetch(`${m.url}${pathOf(EVENTS.record)}`, {
          method: EVENTS.record.method,
          headers: { 'content-type': 'application/json', ...(m.token ? { authorization: `Bearer ${m.token}` } : {}) },
          body: JSON.stringify({ id: e.id, severity: e.level, host, text: entryText(e) }),
          signal: AbortSignal.timeout(5000),
        });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        warned = false;
      } catch (err) {
        if (!warned) process.stderr.write(`${EVENTS_NOT_SENT.id}: ${EVENTS_NOT_SENT({ url: m.url, reason: (err as Error).message })}\n`);
        warned = true;
      }
    });
  };
}

async function runPathd(o: RunOptions): Promise<void> {
  const host = `${os.hostname()}/${o.initiator}`;
  const log = new PathLog({
    dir: o.logDir,
    syslog: o.syslog,
    sinks: [(e) => process.stderr.write(`${e.time} ${e.level.toUpperCase()} ${e.id} ${entryText(e)}\n`), ...(o.manager ? [managerSink(o.manager, host)] : [])],
  });
  const mgr = new PathManager({
    portals: o.portals,
    initiatorName: o.initiator,
    chap: o.chap,
    log,
    policy: o.cluster ? 'failover' : o.policy,
    stateFile: o.stateFile,
    watcher: { interval: o.interval, threshold: o.interval, timeout: Math.max(o.interval * 2, 5) },
    settings: {
      noPathRetryMs: o.noPathRetry * 1000,
      commandTimeoutMs: o.commandTimeout * 1000,
      failback: o.failback,
      cluster: o.cluster,
      grouping: o.grouping,
    },
  });
  const nbdServer = new NbdServer({
    exports: {
      list: () => mgr.devices.map((d) => ({ name: d.name, description: `multipath ${d.id} (${d.paths.length} paths, ${d.policy})` })),
      open: (name) => mgr.devices.find((d) => d.name === name),
    },
    log: (m) => log.event('info', 'KURA-I7040', m),
  });
  let api: ControlApi | undefined;
  const reporter = o.manager
    ? new StateReporter({
        url: o.manager.url,
        token: o.manager.token,
        host,
        intervalSeconds: o.manager.reportInterval,
        devices: () => mgr.devices,
        warn: (id, text) => log.event('warning', id, text),
      })
    : undefined;
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.event('info', 'KURA-I7041', `pathd stopping (${sig})`);
    reporter?.stop();
    await nbdServer.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await mgr.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  await mgr.rescan();
  if (mgr.devices.length === 0) log.event('warning', NO_LOGICAL_UNIT_FOUND.id, NO_LOGICAL_UNIT_FOUND({ portals: o.portals.map(formatHostPort).join(', ') }));
  mgr.start();
  let nbdAddr: { host: string; port: number };
  let controlUrl: string;
  try {
    await nbdServer.listen(o.nbd.host, o.nbd.port);
    if (o.unix) await nbdServer.listenUnix(path.resolve(o.unix));
    nbdAddr = nbdServer.address();
    api = new ControlApi(mgr, log, () => ({
      initiator: o.initiator,
      portals: o.portals.map(formatHostPort),
      nbd: formatHostPort(nbdAddr),
      unix: o.unix ?? null,
      logFile: log.file ?? null,
    }));
    const a = await api.listen(o.control.host, o.control.port);
    controlUrl = `http://${formatHostPort({ host: a.address, port: a.port })}`;
  } catch (e) {
    await nbdServer.close().catch(() => undefined);
    await mgr.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    throw PATHD_CANNOT_LISTEN({ reason: err.message });
  }
  for (const d of mgr.devices)
    process.stdout.write(
      `device ${d.name} ${d.id} paths=${d.paths.map((p) => `${p.portal}:${p.state}`).join(',')} uri=nbd://${formatHostPort(nbdAddr)}/${d.name}\n`,
    );
  reporter?.start();
  process.stdout.write(`ready nbd=${formatHostPort(nbdAddr)} control=${controlUrl} devices=${mgr.devices.length}\n`);
  log.event(
    'info',
    'KURA-I7044',
    `pathd ready: ${mgr.devices.length} device(s) on nbd ${formatHostPort(nbdAddr)}, control ${controlUrl}, patrol every ${o.interval} s`,
  );
}
