// Starts real cluster node agents (`kura cluster node`) for the cluster tests,
// waits for their "ready" line, and stops (or kills -9) them; every agent a
// test started is killed when the test process exits, whatever happened.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { KURA, kuraCli } from './cli.js';
import type { KuraCli } from './cli.js';
import { ClusterAdmin } from '../../src/cluster/admin.js';
import { ClusterStore } from '../../src/cluster/store.js';

export interface TestNode {
  name: string;
  dataDir: string;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM (a server shutdown) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL the agent only (its group processes live on, as after a crash). */
  kill9(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

export async function startNode(etcd: string, name: string, dataDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<TestNode> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const p of live) p.kill('SIGKILL');
    });
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const proc = spawn(process.execPath, [KURA, 'cluster', 'node', '--etcd', etcd, '--name', name, '--data', dataDir, ...extra], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      live.delete(proc);
      r();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`node ${name} did not print ready within 30 s:\n${out}`)), 30_000);
    proc.stdout!.on('data', () => {
      if (/^ready$/m.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', () => {
      clearTimeout(t);
      reject(new Error(`node ${name} exited:\n${out}`));
    });
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    dataDir,
    proc,
    output: () => out,
    stop: async () => {
      if (!alive()) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
    kill9: async () => {
      if (!alive()) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Reads the cluster in this process (polling through the CLI would start a process per look). */
export function clusterAdmin(etcd: string): { admin: ClusterAdmin; close(): void } {
  const store = new ClusterStore(etcd.split(','));
  return { admin: new ClusterAdmin(store), close: () => store.close() };
}

/** The kura CLI with KURA_ETCD set. */
export function clusterCli(etcd: string): KuraCli {
  return kuraCli({ env: { ...process.env, KURA_ETCD: etcd } });
}

/** Polls `check` every 100 ms until it returns a value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
