// Starts a real `kura serve` (node bin/kura.js serve) on a data dir, waits for
// its "ready" line and says where it listens. The API and NBD listeners bind
// port 0 (the iSCSI portals too) and the helper reads the bound ports from the
// server's "listening api=URL nbd=HOST:PORT iscsi=HOST:PORT,HOST:PORT" line, so parallel tests never race for a
// port ("nbd=off" with --nbd off: nbdHost is then '' and nbdPort 0). Shared by the CLI/API, NBD, crash and benchmark code;
// srv.cli runs the kura CLI against the server (test/helpers/cli.ts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KURA, kuraCli } from './cli.js';
import type { KuraCli } from './cli.js';

/** A TCP port that was free a moment ago (for listeners that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface StartOptions {
  /** Data directory; a new temporary one when absent (removed by cleanup()). */
  dataDir?: string;
  /** Extra arguments for `kura serve`, e.g. ['--no-demo']. */
  args?: string[];
  /** Fixed ports instead of port 0. */
  httpPort?: number;
  nbdPort?: number;
  /** iSCSI host ports of controllers 0 and 1. */
  iscsiPorts?: [number, number];
  /** Extra environment for the server process. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for "ready" (default 30 s). */
  readyTimeoutMs?: number;
  /** Another checkout's bin/kura.js (benchmarks compare two builds); this checkout's by default. */
  kuraBin?: string;
}

export interface TestServer {
  /** The `node bin/kura.js serve` child process. */
  proc: ChildProcess;
  dataDir: string;
  /** API base URL without /api/v1, e.g. http://127.0.0.1:40123. */
  url: string;
  httpPort: number;
  /** '' and 0 when the server runs with --nbd off. */
  nbdHost: string;
  nbdPort: number;
  /** nbd://HOST:PORT/NAME for an LD (or snapshot) export. */
  nbdUri(name: string): string;
  /** iSCSI host ports of controllers 0 and 1 as bound. */
  iscsiPorts: [number, number];
  /** The array's iSCSI target name. */
  iqn: string;
  /** iscsi://127.0.0.1:PORT/IQN/LUN through controller `ctl`'s port. */
  iscsiUrl(lun: number, ctl?: number): string;
  token: string;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code, or the signal name, when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs` (default 20 s); resolves with the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string>;
  /** Sends a signal (default SIGKILL, as a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** stop(), then removes the data directory if the helper made it. */
  cleanup(): Promise<void>;
  /** process.env plus KURA_URL and KURA_TOKEN for running the CLI against this server. */
  env: NodeJS.ProcessEnv;
  /** The kura CLI with `env`, run in the data directory (which holds no kura-data/, so no token file is found by accident). */
  cli: KuraCli;
  /** A REST call (route below /api/v1) that must succeed: its JSON answer; throws with the status and body otherwise, or after 30 s. */
  api<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test that fails or forgets stop() must not leave a server running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  installExitHook();
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kura-srv-'));
  const wantIscsi = opts.iscsiPorts ?? [0, 0];
  const args = [
    opts.kuraBin ?? KURA,
    'serve',
    '--data',
    dataDir,
    '--http',
    `127.0.0.1:${opts.httpPort ?? 0}`,
    '--nbd',
    `127.0.0.1:${opts.nbdPort ?? 0}`,
    '--iscsi',
    `127.0.0.1:${wantIscsi[0]},127.0.0.1:${wantIscsi[1]}`,
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  live.add(proc);
  let out = '';
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    out += d;
    stdout += d;
  });
  proc.stderr!.on('data', (d: string) => {
    out += d;
    stderr += d;
  });
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, sig) => {
      live.delete(proc);
      resolve(code ?? sig ?? -1);
    }),
  );

  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  let listening: RegExpExecArray | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kura serve did not print "ready" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        if (/^ready$/m.test(stdout)) {
          clearTimeout(timer);
          listening = /^listening api=(http:\/\/\S+:(\d+)) nbd=(?:(\S+):(\d+)|off) iscsi=\S+:(\d+),\S+:(\d+)$/m.exec(stdout);
          if (listening) resolve();
          else reject(new Error(`kura serve printed "ready" without a "listening api=... nbd=..." line:\n${out}`));
        }
      };
      proc.stdout!.on('data', check);
      void exited.then((c) => {
        clearTimeout(timer);
        reject(new Error(`kura serve exited (${c}) before it was ready:\n${out}`));
      });
    });
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const m = listening as unknown as RegExpExecArray;
  const url = m[1]!;
  const nbdHost = (m[3] ?? '').replace(/^\[|\]$/g, '');
  const nbdPort = Number(m[4] ?? 0);
  const iscsiPorts: [number, number] = [Number(m[5]), Number(m[6])];
  const iqn = /target (iqn\S+),/.exec(stdout)?.[1] ?? '';
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();

  const running = () => proc.exitCode === null && proc.signalCode === null;
  const stop = async (stopTimeoutMs = 20_000): Promise<number | string> => {
    if (running()) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => {
        if (running()) proc.kill('SIGKILL');
      }, stopTimeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    }
    return exited;
  };
  const env = { ...process.env, KURA_URL: url, KURA_TOKEN: token };
  return {
    proc,
    dataDir,
    url,
    httpPort: Number(m[2]),
    nbdHost,
    nbdPort,
    nbdUri: (name: string) => `nbd://${m[3]}:${nbdPort}/${name}`,
    iscsiPorts,
    iqn,
    iscsiUrl: (lun: number, ctl = 0) => `iscsi://127.0.0.1:${iscsiPorts[ctl]}/${iqn}/${lun}`,
    token,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (running()) proc.kill(signal);
      return exited;
    },
    cleanup: async () => {
      await stop();
      if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
    env,
    cli: kuraCli({ env, cwd: dataDir }),
    api: async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
}
