// Starts a real etcd cluster (Debian etcd-server) for the distributed tests: N members on
// 127.0.0.1 ports picked free, each with its own data directory, and stops every member it
// started. Members can be killed, paused and restarted one by one, so tests can take a
// member away or cut a quorum.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.js';

export interface EtcdMember {
  name: string;
  /** http://127.0.0.1:PORT for clients. */
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildProcess | null;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member, comma separated (the form `--etcd` takes). */
  endpoints: string;
  /** Sends SIGKILL to one member and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT one member (a paused member keeps its sockets but answers nothing). */
  pause(i: number): void;
  resume(i: number): void;
  /** Starts a killed member again on the same ports and data directory. */
  restart(i: number): Promise<void>;
  /** Stops every member and removes the data directories. */
  stop(): Promise<void>;
}

const ETCD_BINARY = 'etcd';

function requireEtcd(): void {
  const r = spawnSync(ETCD_BINARY, ['--version'], { encoding: 'utf8' });
  if (r.error) {
    throw new Error(`etcd is not installed: install the Debian package etcd-server (npm test runs scripts/ensure-tools.sh, which does)`);
  }
}

/** Resolves once `url/health` reports healthy, or rejects after `timeoutMs`. */
export async function waitHealthy(clientUrl: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
      last = JSON.stringify(body);
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${clientUrl} not healthy after ${timeoutMs} ms (${last})`);
}

/** Starts `size` members (default 3) and waits until every one is healthy. */
export async function startEtcd(size = 3, opts: { heartbeatMs?: number; electionMs?: number } = {}): Promise<EtcdCluster> {
  requireEtcd();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    const name = `etcd${i}`;
    members.push({
      name,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: path.join(root, name),
      proc: null,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const token = path.basename(root);

  const launch = (m: EtcdMember): void => {
    const log = fs.openSync(`${m.dataDir}.log`, 'a');
    m.proc = spawn(
      ETCD_BINARY,
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        m.clientUrl,
        '--advertise-client-urls',
        m.clientUrl,
        '--listen-peer-urls',
        m.peerUrl,
        '--initial-advertise-peer-urls',
        m.peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        token,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        String(opts.heartbeatMs ?? 100),
        '--election-timeout',
        String(opts.electionMs ?? 1000),
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
  };
  const exited = (m: EtcdMember): Promise<void> =>
    new Promise((resolve) => {
      if (!m.proc || m.proc.exitCode !== null || m.proc.signalCode !== null) return resolve();
      m.proc.once('exit', () => resolve());
    });

  for (const m of members) launch(m);
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    async kill(i) {
      const m = members[i];
      m.proc?.kill('SIGKILL');
      await exited(m);
      m.proc = null;
    },
    pause(i) {
      members[i].proc?.kill('SIGSTOP');
    },
    resume(i) {
      members[i].proc?.kill('SIGCONT');
    },
    async restart(i) {
      const m = members[i];
      if (m.proc) throw new Error(`${m.name} is still running`);
      launch(m);
      await waitHealthy(m.clientUrl);
    },
    async stop() {
      for (const m of members) {
        m.proc?.kill('SIGCONT');
        m.proc?.kill('SIGKILL');
      }
      await Promise.all(members.map(exited));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => waitHealthy(m.clientUrl)));
  } catch (e) {
    const logs = members.map((m) => `${m.name}: ${tail(`${m.dataDir}.log`)}`).join('\n');
    await cluster.stop();
    throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
  }
  return cluster;
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}
