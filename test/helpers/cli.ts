// Runs the real `kura` command (node bin/kura.js) as a user would: the one CLI
// runner every test that drives the CLI uses. runKura blocks (fine against a
// server in another process); spawnKura does not (for tests whose fake
// servers live in this process). kuraCli binds an environment and working
// directory once, so a test file writes `const { run: kura, json } = kuraCli(...)`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const KURA = path.join(ROOT, 'bin', 'kura.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Killed after this long (default 60 s). */
  timeoutMs?: number;
  /** ok() and json() also require that nothing was written to stderr. */
  quiet?: boolean;
}

/** Runs `kura ARGS` to its end. */
export function runKura(args: string[], o: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [KURA, ...args], { env: o.env, cwd: o.cwd, encoding: 'utf8', timeout: o.timeoutMs ?? 60_000, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `kura ARGS` without blocking this process. */
export function spawnKura(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [KURA, ...args], { env: o.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface KuraCli {
  /** Exit status and output. */
  run(...args: string[]): CliResult;
  /** stdout; the test fails on a non-zero exit. */
  ok(...args: string[]): string;
  /** The parsed output of ARGS --json; the test fails on a non-zero exit. */
  json<T = unknown>(...args: string[]): T;
  /** run() without blocking this process. */
  spawn(...args: string[]): Promise<CliResult>;
}

/** A runner bound to options, or to a function giving them (for a server started later, in before()). */
export function kuraCli(options: CliOptions | (() => CliOptions) = {}): KuraCli {
  const opts = typeof options === 'function' ? options : () => options;
  const ok = (...args: string[]): string => {
    const o = opts();
    const r = runKura(args, o);
    assert.equal(r.status, 0, `kura ${args.join(' ')}: ${r.stderr}`);
    if (o.quiet) assert.equal(r.stderr, '', `kura ${args.join(' ')} wrote to stderr`);
    return r.stdout;
  };
  return {
    run: (...args) => runKura(args, opts()),
    ok,
    json: <T>(...args: string[]) => JSON.parse(ok(...args, '--json')) as T,
    spawn: (...args) => spawnKura(args, opts()),
  };
}

/** A refused command: its exit status, nothing on stdout, and on stderr "ID: sentence" then the indented action. */
export function expectCliError(r: CliResult, status: number, id: string | RegExp, what: string, detail?: RegExp): void {
  assert.equal(r.status, status, `${what}: exit ${r.status}\n${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: stdout`);
  assert.match(r.stderr, /^KURA-E\d{4}: \S.*\n {2}\S.*\n$/, `${what}: stderr ${JSON.stringify(r.stderr)}`);
  if (typeof id === 'string') assert.ok(r.stderr.startsWith(`${id}: `), `${what}: ${r.stderr}`);
  else assert.match(r.stderr, id, what);
  if (detail) assert.match(r.stderr, detail, what);
}
