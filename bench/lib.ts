// Shared pieces of the benchmarks: starting a Kura server and peers, running
// fio, reading its JSON.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer } from '../test/helpers/server.js';

export { freePort };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function waitForPort(port: number, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

export interface KuraServer {
  proc: ChildProcess;
  http: string;
  nbdPort: number;
  /** iSCSI portals of controllers 0 and 1. */
  iscsiPorts: [number, number];
  iqn: string;
  token: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `kura serve` on free ports (API, NBD and both iSCSI portals) and waits for its ready line. */
export async function startKura(dataDir: string, kuraBin?: string): Promise<KuraServer> {
  const s = await startServer({ dataDir, readyTimeoutMs: 60_000, kuraBin });
  return {
    proc: s.proc,
    http: s.url,
    nbdPort: s.nbdPort,
    iscsiPorts: s.iscsiPorts,
    iqn: s.iqn,
    token: s.token,
    dataDir,
    stop: async () => {
      await s.stop();
    },
  };
}

export async function api(s: KuraServer, method: string, route: string, body?: unknown): Promise<unknown> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`kura serve exited (${s.proc.exitCode ?? s.proc.signalCode})`);
  const req = () =>
    fetch(`${s.http}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // After a long fio run the pooled connection may have just timed out on the server.
  const res = await req().catch((e: { cause?: { code?: string } }) => {
    if (method === 'GET' && e.cause?.code === 'UND_ERR_SOCKET') return req();
    throw e;
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Starts `nbdkit file` on a file and waits for its port. */
export async function startNbdkit(file: string): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const proc = spawn('nbdkit', ['-f', '--exit-with-parent', '-i', '127.0.0.1', '-p', String(port), 'file', `file=${file}`], { stdio: 'ignore' });
  await waitForPort(port);
  return { port, stop: () => proc.kill('SIGTERM') };
}

export interface FioResult {
  iops: number;
  bw: number; // bytes per second
}

/** Runs one fio job over NBD and returns read+write IOPS and bandwidth. */
export function fio(uri: string, args: string[]): FioResult {
  const r = spawnSync('fio', ['--name=job', '--ioengine=nbd', `--uri=${uri}`, '--output-format=json', '--group_reporting', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`fio failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
    jobs: Array<{ read: { iops: number; bw_bytes: number }; write: { iops: number; bw_bytes: number } }>;
  };
  const job = j.jobs[0]!;
  return { iops: job.read.iops + job.write.iops, bw: job.read.bw_bytes + job.write.bw_bytes };
}

export function rssOf(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) * 1024 : 0;
}
