// Running the real client tools the tests drive. A missing tool is a failure
// that names its Debian package, never a skip.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';

const PACKAGES: Record<string, string> = {
  nbdinfo: 'libnbd-bin',
  nbdcopy: 'libnbd-bin',
  'qemu-img': 'qemu-utils',
  fio: 'fio',
  nbdkit: 'nbdkit',
};

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: opts.env, input: opts.input, timeout: opts.timeout ?? 120_000, maxBuffer: 256 << 20 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${cmd} is not installed: install the Debian package ${PACKAGES[cmd] ?? '(unknown)'} (npm test runs scripts/ensure-tools.sh, which does)`);
  }
  return r;
}

/** Runs and requires exit status 0, returning stdout. */
export function ok(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
