// A group's start and stop chains on one node. Start: the resources in their
// order (shared disk, floating IP, synchronized keys, exec, monitored
// processes), then the start script. Stop: the stop script, the processes the
// scripts started with armload (newest first), then the resources in reverse.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DISK_RESERVE_FAILED, FOREIGN_KEY_PREEMPTED, GARP_FAILED } from '../catalogue/cluster.js';
import { addAddress, announce, removeAddress } from './floating-ip.js';
import type { ArmsEvent, GroupConfig, Resource } from './model.js';
import { reservationKey } from './model.js';
import { serverRole } from './placement.js';
import { scriptEnv } from './script-env.js';
import type { ScriptContext } from './script-env.js';
import { giveDisk, hex, takeDisk } from './shared-disk.js';
import type { PathdPersist } from './shared-disk.js';
import type { Watched } from './watched.js';

export interface RunnerDeps {
  node: string;
  dataDir: string;
  socket: string;
  etcd: string;
  netns?: string;
  pathd?: PathdPersist;
  watched: Watched;
  /** PATH with DATA/bin (kura, armload, ...) first. */
  path: string;
  log(line: string): void;
  syncValues(group: string): Promise<Map<string, string>>;
  syncPut(group: string, key: string, value: string): Promise<void>;
}

export interface Running {
  cfg: GroupConfig;
  event: ArmsEvent;
  started: Resource[];
  diskFailure: boolean;
}

export type StartResult = { ok: true; running: Running } | { ok: false; reason: string };

export class GroupRunner {
  constructor(private readonly d: RunnerDeps) {}

  private ctx(cfg: GroupConfig, event: ArmsEvent, phase: 'start' | 'stop', extra: Partial<ScriptContext> = {}): NodeJS.ProcessEnv {
    const env = scriptEnv({
      group: cfg.name,
      node: this.d.node,
      event,
      phase,
      server: serverRole(cfg, this.d.node),
      diskFailure: false,
      serverShutdown: false,
      dataDir: this.d.dataDir,
      socket: this.d.socket,
      etcd: this.d.etcd,
      ...extra,
    });
    env['PATH'] = this.d.path;
    return env;
  }

  /** The environment of the group's start chain where `running` runs (for its jobs). */
  envFor(running: Running): NodeJS.ProcessEnv {
    return this.ctx(running.cfg, running.event, 'start');
  }

  /** Runs a script or command in the data directory; resolves with its exit status (null: killed at the deadline). */
  runScript(command: string, env: NodeJS.ProcessEnv, timeoutMs: number, group: string): Promise<number | null> {
    const dir = path.join(this.d.dataDir, 'groups', group);
    fs.mkdirSync(dir, { recursive: true });
    const log = fs.openSync(path.join(dir, 'scripts.log'), 'a');
    const file = command.includes(' ') || !fs.existsSync(command) ? undefined : command;
    const proc = file
      ? spawn(file, [], { cwd: this.d.dataDir, env, detached: true, stdio: ['ignore', log, log] })
      : spawn('/bin/sh', ['-c', command], { cwd: this.d.dataDir, env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      proc.once('error', () => {
        clearTimeout(t);
        resolve(127);
      });
      proc.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  async start(cfg: GroupConfig, event: ArmsEvent): Promise<StartResult> {
    const running: Running = { cfg, event, started: [], diskFailure: false };
    const fail = async (reason: string): Promise<StartResult> => {
      await this.stop(running, { serverShutdown: false, timeoutMs: 60_000 });
      return { ok: false, reason };
    };
    for (const r of cfg.resources) {
      try {
        await this.startResource(cfg, r, running);
      } catch (e) {
        const reason = `${r.kind} resource: ${(e as Error).message}`;
        if (r.kind === 'disk') {
          // The start script still runs and sees ARMS_DISK=FAILURE (the seed's scripts broadcast and exit).
          running.diskFailure = true;
          this.d.log(`${DISK_RESERVE_FAILED.id} ${DISK_RESERVE_FAILED({ group: cfg.name, device: r.device, reason: (e as Error).message })}`);
          if (cfg.startScript) await this.runScript(cfg.startScript, this.ctx(cfg, event, 'start', { diskFailure: true }), 300_000, cfg.name);
        }
        return fail(reason);
      }
      running.started.push(r);
    }
    if (cfg.startScript) {
      const code = await this.runScript(cfg.startScript, this.ctx(cfg, event, 'start'), 300_000, cfg.name);
      if (code !== 0) return fail(`start script ${cfg.startScript} ended with ${code === null ? 'a timeout' : `exit status ${code}`}`);
    }
    return { ok: true, running };
  }

  private async startResource(cfg: GroupConfig, r: Resource, running: Running): Promise<void> {
    switch (r.kind) {
      case 'disk': {
        if (!this.d.pathd) throw new Error('the node has no pathd (kura cluster node --pathd URL)');
        const fenced = await takeDisk(this.d.pathd, r.device, reservationKey(this.d.node));
        for (const k of fenced) this.d.log(`${FOREIGN_KEY_PREEMPTED.id} ${FOREIGN_KEY_PREEMPTED({ group: cfg.name, device: r.device, key: hex(k) })}`);
        return;
      }
      case 'ip':
        await addAddress(r, this.d.netns);
        // Not awaited: arping lingers about a second after sending, which the failover need not wait for.
        void announce(r, this.d.netns).then((reason) => {
          if (reason) this.d.log(`${GARP_FAILED.id} ${GARP_FAILED({ group: cfg.name, address: r.address, reason })}`);
        });
        return;
      case 'sync': {
        const values = await this.d.syncValues(cfg.name);
        const v = values.get(r.key);
        const file = this.syncFile(cfg.name, r.key);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        if (v !== undefined) fs.writeFileSync(file, v);
        return;
      }
      case 'exec': {
        const code = await this.runScript(r.start, this.ctx(cfg, running.event, 'start'), 300_000, cfg.name);
        if (code !== 0) throw new Error(`${r.start} ended with ${code === null ? 'a timeout' : `exit status ${code}`}`);
        return;
      }
      case 'monitor': {
        const err = await this.d.watched.start(cfg.name, r.id, r.command, r.onExit, this.ctx(cfg, running.event, 'start'));
        if (err) throw new Error(err);
        return;
      }
    }
  }

  /** The file a synchronized key lives in on the node while the group runs here. */
  syncFile(group: string, key: string): string {
    return path.join(this.d.dataDir, 'sync', group, key);
  }

  /** Stops what `running` started; never throws (a failing step is logged and the chain goes on). */
  async stop(running: Running, o: { serverShutdown: boolean; timeoutMs: number; killGraceMs?: number }): Promise<void> {
    const grace = o.killGraceMs ?? Math.min(3000, o.timeoutMs);
    const { cfg } = running;
    const env = this.ctx(cfg, running.event, 'stop', { serverShutdown: o.serverShutdown, diskFailure: running.diskFailure });
    if (cfg.stopScript && running.started.length === cfg.resources.length) {
      const code = await this.runScript(cfg.stopScript, env, o.timeoutMs, cfg.name);
      if (code !== 0) this.d.log(`group ${cfg.name}: stop script ended with ${code === null ? 'a timeout' : `exit status ${code}`}`);
    }
    await this.d.watched.killGroup(cfg.name, grace);
    for (const r of [...running.started].reverse()) {
      try {
        await this.stopResource(cfg, r, env, o.timeoutMs, grace);
      } catch (e) {
        this.d.log(`group ${cfg.name}: stopping ${r.kind} resource: ${(e as Error).message}`);
      }
    }
    running.started = [];
  }

  private async stopResource(cfg: GroupConfig, r: Resource, env: NodeJS.ProcessEnv, timeoutMs: number, grace: number): Promise<void> {
    switch (r.kind) {
      case 'disk':
        if (this.d.pathd) await withTimeout(giveDisk(this.d.pathd, r.device, reservationKey(this.d.node)), timeoutMs);
        return;
      case 'ip':
        return removeAddress(r, this.d.netns);
      case 'sync': {
        const file = this.syncFile(cfg.name, r.key);
        if (fs.existsSync(file)) await withTimeout(this.d.syncPut(cfg.name, r.key, fs.readFileSync(file, 'utf8')), timeoutMs);
        return;
      }
      case 'exec':
        if (r.stop) await this.runScript(r.stop, env, timeoutMs, cfg.name);
        return;
      case 'monitor':
        await this.d.watched.kill(cfg.name, r.id, grace);
        return;
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
