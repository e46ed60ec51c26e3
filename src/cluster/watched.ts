// Processes a node runs for its groups and watches (armload, monitor resources).
// Each runs in its own process group with its output in DATA/groups/G/ID.log and
// its pid in DATA/groups/G/ID.pid, so an agent restarted after a crash finds and
// ends what its previous life left running.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type ExitAction = 'none' | 'failover' | 'shutdown';

export interface WatchedProcess {
  group: string;
  id: string;
  proc: ChildProcess;
  action: ExitAction;
  paused: boolean;
  /** Set by armkill and by the stop chain: the exit that follows is expected. */
  killed: boolean;
  exited: Promise<number | null>;
}

export type OnUnexpectedExit = (w: WatchedProcess, code: string) => void;

export class Watched {
  private readonly procs = new Map<string, WatchedProcess>();

  constructor(
    private readonly dataDir: string,
    private readonly onExit: OnUnexpectedExit,
  ) {}

  private dir(group: string): string {
    return path.join(this.dataDir, 'groups', group);
  }

  /** Starts `command` (through sh -c) and watches it; resolves once it runs, or with the reason it could not start. */
  async start(group: string, id: string, command: string, action: ExitAction, env: NodeJS.ProcessEnv): Promise<string | undefined> {
    const key = `${group}/${id}`;
    const old = this.procs.get(key);
    if (old) await this.kill(group, id);
    const dir = this.dir(group);
    fs.mkdirSync(dir, { recursive: true });
    const log = fs.openSync(path.join(dir, `${id}.log`), 'a');
    const proc = spawn('/bin/sh', ['-c', command], { cwd: this.dataDir, env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const spawnError = await new Promise<string | undefined>((resolve) => {
      proc.once('error', (e) => resolve(e.message));
      proc.once('spawn', () => resolve(undefined));
    });
    if (spawnError) return spawnError;
    fs.writeFileSync(path.join(dir, `${id}.pid`), `${proc.pid}\n`);
    const w: WatchedProcess = { group, id, proc, action, paused: false, killed: false, exited };
    this.procs.set(key, w);
    void exited.then((code) => {
      if (this.procs.get(key) === w) this.procs.delete(key);
      fs.rmSync(path.join(dir, `${id}.pid`), { force: true });
      if (!w.killed && !w.paused && w.action !== 'none') this.onExit(w, code === null ? `signal ${proc.signalCode}` : `exit status ${code}`);
    });
    return undefined;
  }

  get(group: string, id: string): WatchedProcess | undefined {
    return this.procs.get(`${group}/${id}`);
  }

  /** armloadc --pause/--resume: a paused watch ignores the process's exit. */
  setPaused(group: string, id: string, paused: boolean): boolean {
    const w = this.get(group, id);
    if (!w) return false;
    w.paused = paused;
    return true;
  }

  /** Ends one watched process (SIGTERM to its process group, SIGKILL after `graceMs`) without any recovery action. */
  async kill(group: string, id: string, graceMs = 3000): Promise<boolean> {
    const w = this.get(group, id);
    if (!w) return false;
    w.killed = true;
    signalGroup(w.proc.pid, 'SIGTERM');
    const t = setTimeout(() => signalGroup(w.proc.pid, 'SIGKILL'), graceMs);
    await w.exited;
    clearTimeout(t);
    signalGroup(w.proc.pid, 'SIGKILL'); // children that outlived the leader
    return true;
  }

  /** Ends every watched process of a group, newest first (the reverse of the start order). */
  async killGroup(group: string, graceMs = 3000): Promise<void> {
    const ids = [...this.procs.values()].filter((w) => w.group === group).map((w) => w.id);
    for (const id of ids.reverse()) await this.kill(group, id, graceMs);
  }

  ids(group: string): string[] {
    return [...this.procs.values()].filter((w) => w.group === group).map((w) => w.id);
  }

  /** Kills what a previous life of this agent left (pid files under DATA/groups). */
  killLeftovers(): number {
    const root = path.join(this.dataDir, 'groups');
    let n = 0;
    if (!fs.existsSync(root)) return 0;
    for (const g of fs.readdirSync(root)) {
      for (const f of fs.readdirSync(path.join(root, g))) {
        if (!f.endsWith('.pid')) continue;
        const file = path.join(root, g, f);
        const pid = Number(fs.readFileSync(file, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 1 && signalGroup(pid, 'SIGKILL')) n++;
        fs.rmSync(file, { force: true });
      }
    }
    return n;
  }
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}
