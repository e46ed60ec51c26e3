// Starts a real `kura serve` on free ports and a data dir, waits for "ready".
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const KURA = path.join(ROOT, 'bin', 'kura.js');

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

export interface TestServer {
  proc: ChildProcess;
  dataDir: string;
  url: string;
  nbdPort: number;
  iscsiPorts: [number, number];
  token: string;
  output: () => string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
  env: NodeJS.ProcessEnv;
}

export async function startServer(opts: { dataDir?: string; args?: string[] } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kura-srv-'));
  const httpPort = await freePort();
  const nbdPort = await freePort();
  const iscsiPorts: [number, number] = [await freePort(), await freePort()];
  const proc = spawn(
    process.execPath,
    [KURA, 'serve', '--data', dataDir, '--http', `127.0.0.1:${httpPort}`, '--nbd', `127.0.0.1:${nbdPort}`, '--iscsi', `127.0.0.1:${iscsiPorts[0]},127.0.0.1:${iscsiPorts[1]}`, ...(opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kura serve did not print ready within 30 s:\n${out}`)), 30000);
    const check = () => {
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((c) => {
      clearTimeout(timer);
      reject(new Error(`kura serve exited (${c}) before ready:\n${out}`));
    });
  });
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const url = `http://127.0.0.1:${httpPort}`;
  return {
    proc,
    dataDir,
    url,
    nbdPort,
    iscsiPorts,
    token,
    output: () => out,
    exited,
    env: { ...process.env, KURA_URL: url, KURA_TOKEN: token },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
