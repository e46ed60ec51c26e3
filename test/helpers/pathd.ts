// Starts a real `kura pathd` (node bin/kura.js pathd ARGS), waits for its
// "ready nbd=HOST:PORT control=URL devices=N" line and says where it listens.
// Pass --nbd 127.0.0.1:0 and --control 127.0.0.1:0 so parallel tests never race
// for a port. pathd.cli runs `kura path ...` against its control API.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { KURA, kuraCli } from './cli.js';
import type { KuraCli } from './cli.js';

export interface TestPathd {
  proc: ChildProcess;
  nbdPort: number;
  /** Control API base URL. */
  control: string;
  /** Devices pathd had found when it printed ready. */
  devices: number;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** The environment pathd ran with, plus KURA_PATHD_URL. */
  env: NodeJS.ProcessEnv;
  /** The kura CLI with `env`. */
  cli: KuraCli;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test that fails or forgets stop() must not leave pathd running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

export async function startPathd(args: string[], opts: { env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {}): Promise<TestPathd> {
  installExitHook();
  const env = opts.env ?? process.env;
  const proc = spawn(process.execPath, [KURA, 'pathd', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  let m: RegExpExecArray;
  try {
    m = await new Promise<RegExpExecArray>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`pathd did not print ready within ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
      proc.stdout!.on('data', () => {
        const r = /ready nbd=\S+:(\d+) control=(\S+) devices=(\d+)/.exec(out);
        if (r) {
          clearTimeout(t);
          resolve(r);
        }
      });
      proc.once('exit', () => {
        clearTimeout(t);
        reject(new Error(`pathd exited:\n${out}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const control = m[2]!;
  const withControl = { ...env, KURA_PATHD_URL: control };
  return { proc, nbdPort: Number(m[1]), control, devices: Number(m[3]), output: () => out, stop, env: withControl, cli: kuraCli({ env: withControl }) };
}
