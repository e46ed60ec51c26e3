// Processes of a distributed deployment for the HA tests: `kura array` and
// `kura manager --etcd` started on free 127.0.0.1 ports, each waited for until it
// prints "ready", killed (any signal), paused and resumed, and stopped at the end.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KURA } from './cli.js';

export interface KuraProcess {
  proc: ChildProcess;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  running(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL (after SIGCONT) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Spawns `kura ARGS` and resolves once it prints a line "ready". */
export async function startKura(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<KuraProcess> {
  const proc = spawn(process.execPath, [KURA, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const exited = () => new Promise<void>((r) => (running() ? proc.once('exit', () => r()) : r()));
  proc.once('exit', () => live.delete(proc));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kura ${args[0]} did not print "ready" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (c, s) => {
      clearTimeout(timer);
      reject(new Error(`kura ${args[0]} exited (${c ?? s}) before it was ready:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    running,
    signal: (sig) => {
      if (running()) proc.kill(sig);
    },
    kill: async () => {
      if (running()) {
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
      }
      await exited();
    },
    stop: async (graceMs = 10_000) => {
      if (!running()) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited();
      clearTimeout(t);
    },
  };
}

export interface TestArray extends KuraProcess {
  dataDir: string;
  agentUrl: string;
  tokenFile: string;
  fencingLog: string;
}

/** `kura array` on free ports in `dataDir`. */
export async function startArray(dataDir: string, extra: string[] = []): Promise<TestArray> {
  fs.mkdirSync(dataDir, { recursive: true });
  const p = await startKura(['array', '--data', dataDir, '--agent', '127.0.0.1:0', '--nbd', '127.0.0.1:0', '--iscsi', '127.0.0.1:0,127.0.0.1:0', ...extra]);
  const m = /^listening agent=(\S+)/m.exec(p.output());
  if (!m) throw new Error(`kura array printed no "listening agent=" line:\n${p.output()}`);
  return { ...p, dataDir, agentUrl: m[1]!, tokenFile: path.join(dataDir, 'agent.token'), fencingLog: path.join(dataDir, 'fencing.log') };
}

export interface TestManager extends KuraProcess {
  name: string;
  url: string;
  dataDir: string;
  /** Starts the same manager again (same name, data directory and etcd URLs) after a kill. */
  restart(): Promise<TestManager>;
}

/** `kura manager --etcd ENDPOINTS` on a free port. */
export async function startManager(endpoints: string, dataDir: string, name: string, ttl?: number, extra: string[] = []): Promise<TestManager> {
  const args = [
    'manager',
    '--etcd',
    endpoints,
    '--data',
    dataDir,
    '--http',
    '127.0.0.1:0',
    '--name',
    name,
    ...(ttl ? ['--lease-ttl', String(ttl)] : []),
    ...extra,
  ];
  const p = await startKura(args);
  const m = /^listening api=(\S+)/m.exec(p.output());
  if (!m) throw new Error(`kura manager printed no "listening api=" line:\n${p.output()}`);
  return { ...p, name, url: m[1]!, dataDir, restart: () => startManager(endpoints, dataDir, name, ttl, extra) };
}

/** A request to a manager's API with the deployment's token; never throws (status 0: no answer in time). */
export async function api(
  base: string,
  token: string,
  method: string,
  p: string,
  o: { array?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; json: unknown; servedBy: string | null }> {
  try {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(o.array ? { 'x-kura-array': o.array } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined, servedBy: res.headers.get('x-kura-served-by') };
  } catch {
    return { status: 0, json: undefined, servedBy: null };
  }
}

export interface CuttableLink {
  /** Client URLs through the proxies, comma separated. */
  endpoints: string;
  /** Drops every connection and refuses new ones (a partition between one client and etcd). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** TCP proxies in front of each etcd client URL, for one manager whose connection a test cuts. */
export async function cuttableLink(clientUrls: string[]): Promise<CuttableLink> {
  const net = await import('node:net');
  let open = true;
  const sockets = new Set<import('node:net').Socket>();
  const servers: import('node:net').Server[] = [];
  const urls: string[] = [];
  for (const u of clientUrls) {
    const target = new URL(u);
    const server = net.createServer((c) => {
      if (!open) return void c.destroy();
      const up = net.connect(Number(target.port), target.hostname);
      sockets.add(c);
      sockets.add(up);
      const drop = () => {
        c.destroy();
        up.destroy();
        sockets.delete(c);
        sockets.delete(up);
      };
      c.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  }
  return {
    endpoints: urls.join(','),
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: () => {
      open = true;
    },
    close: async () => {
      open = false;
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
