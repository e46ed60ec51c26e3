// kura vsim demo: a whole VM lifecycle against a running kura serve, each step
// printed as it is done. It prepares what it needs (licences, an SSV, two
// storage containers, a PE, a host backed by a pathd it starts itself unless
// --pathd is given), runs the VM through power on, I/O through pathd's NBD
// export, snapshots, revert, linked and full clones and a migration, checks
// the bytes at each step, and removes what it created unless --keep.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTS } from '../api/hosts.js';
import { LDS } from '../api/lds.js';
import { LICENSES } from '../api/licenses.js';
import { POOLS } from '../api/pools.js';
import { PES } from '../api/vasa.js';
import type { LdInfo } from '../array/lds/agent.js';
import type { TargetInfo } from '../array/hosts/agent.js';
import type { LicenseInfo } from '../array/licenses/agent.js';
import { isKuraError } from '../errors.js';
import { VSIM_DATA_MISMATCH, VSIM_DEMO_FAILED } from '../catalogue/vsim.js';
import { readExport, writeExport } from './disk-io.js';
import { HostList, defaultStateFile } from './host-list.js';
import { Hypervisor, type ApiTransport, type VmInfo } from './hypervisor.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PREFIX = 'vsimdemo';
const LICENCES = ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager'];
const KURA_BIN = fileURLToPath(new URL('../../../bin/kura.js', import.meta.url));

export interface DemoOptions {
  api: ApiTransport;
  /** The simulator's host list (default: a temporary one, removed at the end). */
  state?: string;
  /** A running pathd's control URL; else the demo starts one. */
  pathd?: string;
  keep: boolean;
  out: (line: string) => void;
  /** Where full clone and migration progress is drawn (stderr), or nothing. */
  progress?: NodeJS.WriteStream;
}

export interface DemoResult {
  steps: Array<{ step: string; seconds: number }>;
  vms: string[];
  kept: boolean;
}

interface Pathd {
  control: string;
  stop(): Promise<void>;
}

/** Starts `kura pathd` on the array's portals with a patrol of 1 s, and waits for its ready line. */
async function startPathd(portals: Array<{ host: string; port: number }>, dir: string): Promise<Pathd> {
  const args = [KURA_BIN, 'pathd', ...portals.flatMap((p) => ['--portal', `${p.host}:${p.port}`])];
  args.push('--nbd', '127.0.0.1:0', '--control', '127.0.0.1:0', '--patrol-interval', '1', '--data', dir, '--no-syslog');
  args.push(
    '--initiator',
    `iqn.2026-11.io.kura:${PREFIX}.${os
      .hostname()
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')}`,
  );
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const control = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pathd printed no ready line within 30 s: ${out.slice(-500)}`)), 30_000);
    proc.stdout.on('data', () => {
      const m = /ready nbd=\S+ control=(\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.once('exit', () => {
      clearTimeout(t);
      reject(new Error(`pathd exited: ${out.slice(-500)}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { control, stop };
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const steps: DemoResult['steps'] = [];
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-vsim-demo-'));
  const stateFile = o.state ?? (o.keep ? defaultStateFile() : path.join(tmp, 'hosts.json'));
  let drawn = '';
  const hv = new Hypervisor({
    api: o.api,
    hosts: new HostList(stateFile),
    progress: (label, p) => {
      if (!o.progress) return;
      const line = `  ${label}: ${Math.floor(p)}%`;
      if (line === drawn) return;
      drawn = line;
      o.progress.write(o.progress.isTTY ? `\r${line}\x1b[K${p >= 100 ? '\n' : ''}` : `${line}\n`);
    },
  });
  const api = o.api;
  let current = '';
  const step = async <T>(what: string, fn: () => Promise<T>, said?: (v: T) => string): Promise<T> => {
    current = what;
    const t0 = Date.now();
    const v = await fn();
    const seconds = (Date.now() - t0) / 1000;
    steps.push({ step: what, seconds });
    o.out(`${what}${said ? `: ${said(v)}` : ''} (${seconds.toFixed(2)} s)`);
    return v;
  };
  const dataOf = (vm: VmInfo): string => {
    const d = vm.vvols.find((v) => v.type === 'data');
    if (!d?.export) throw VSIM_DEMO_FAILED({ step: current, reason: `the data VVOL of ${vm.name} has no pathd export` });
    return d.export;
  };
  const check = async (vm: VmInfo, want: Buffer, what: string): Promise<string> => {
    const got = await readExport(dataOf(vm), 0, want.length);
    if (!got.equals(want)) throw VSIM_DATA_MISMATCH({ what });
    return `${want.length / MiB} MiB read through ${dataOf(vm)} equal ${what}`;
  };
  const vmName = `${PREFIX}-vm`;
  const linkedName = `${PREFIX}-linked`;
  const fullName = `${PREFIX}-full`;
  const hostName = `${PREFIX}-esx`;
  const poolA = `${PREFIX}-a`;
  const poolB = `${PREFIX}-b`;

  try {
    await step(
      'Licences for VVOLs, snapshots, clones and replication',
      async () => {
        const locked = (await api.send<LicenseInfo[]>(LICENSES.list)).filter((l) => LICENCES.includes(l.name) && l.state === 'locked');
        for (const l of locked) await api.send(LICENSES.unlock, { name: l.name });
        return locked.map((l) => l.name);
      },
      (ls) => (ls.length ? `unlocked ${ls.join(', ')}` : 'already unlocked'),
    );
    await step(
      'System reserved volume (SSV) for snapshots and clones',
      async () => {
        const ssv = (await api.send<LdInfo[]>(LDS.list)).find((l) => l.purpose === 'Solution Reserved Volume');
        if (ssv) return `present (${ssv.name})`;
        await api.send(POOLS.create, {}, { name: `${PREFIX}-sys`, size: 5 * GiB, raid: 'RAID0', pds: 1 });
        cleanups.push([`pool ${PREFIX}-sys`, () => api.send(POOLS.delete, { ref: `${PREFIX}-sys` })]);
        await api.send(LDS.create, {}, { name: `${PREFIX}-ssv`, pool: `${PREFIX}-sys`, attr: 'ssv' });
        cleanups.push([`SSV ${PREFIX}-ssv`, () => api.send(LDS.delete, { ref: `${PREFIX}-ssv` })]);
        return `created ${PREFIX}-ssv in pool ${PREFIX}-sys`;
      },
      (s) => s,
    );
    await step(
      'Storage containers and a protocol endpoint',
      async () => {
        for (const p of [poolA, poolB]) {
          await api.send(POOLS.create, {}, { name: p, size: 4 * GiB, container: true });
          cleanups.push([`container ${p}`, () => api.send(POOLS.delete, { ref: p })]);
        }
        await api.send(PES.create, {}, { name: `${PREFIX}-pe`, pool: poolA });
        cleanups.push([`PE ${PREFIX}-pe`, () => api.send(PES.delete, { ref: `${PREFIX}-pe` })]);
      },
      () => `containers ${poolA} and ${poolB}, PE ${PREFIX}-pe in ${poolA}`,
    );
    const pathdUrl =
      o.pathd ??
      (await step(
        'Host side: kura pathd on the array portals',
        async () => {
          const target = await api.send<TargetInfo>(HOSTS.target);
          const p = await startPathd(
            target.portals.map((x) => ({ host: x.host === '0.0.0.0' ? '127.0.0.1' : x.host, port: x.port })),
            path.join(tmp, 'pathd'),
          );
          cleanups.push(['pathd', () => p.stop()]);
          return p.control;
        },
        (u) => `control ${u}`,
      ));
    await step(
      `Host ${hostName}`,
      async () => {
        const h = await hv.addHost(hostName, pathdUrl);
        cleanups.push([`host ${hostName}`, () => hv.removeHost(hostName, true)]);
        return h;
      },
      (h) => `initiator ${h.initiator}, ${h.pes.map((p) => `PE ${p.pe} at LUN ${p.lun}`).join(', ')}`,
    );
    const made: string[] = [];
    cleanups.push([
      'VMs',
      async () => {
        for (const n of [linkedName, fullName, vmName].filter((x) => made.includes(x))) {
          const vm = await hv.getVm(n).catch(() => undefined);
          if (!vm) continue;
          if (vm.power === 'on') await hv.powerOff(n);
          await hv.deleteVm(n);
        }
      },
    ]);
    await step(
      `Create VM ${vmName}`,
      async () => {
        const r = await hv.createVm({ name: vmName, container: poolA, disks: [GiB] });
        made.push(vmName);
        return r.vm;
      },
      (vm) => vm.vvols.map((v) => `${v.type} ${v.id}`).join(', '),
    );
    let vm = await step(
      `Power on ${vmName} at ${hostName}`,
      () => hv.powerOn(vmName, hostName),
      (v) => `data disk at ${dataOf(v)}`,
    );
    const a = crypto.randomBytes(8 * MiB);
    const b = crypto.randomBytes(8 * MiB);
    await step(
      'Guest writes 8 MiB',
      () => writeExport(dataOf(vm), 0, a).then(() => check(vm, a, 'what was written')),
      (s) => s,
    );
    await step(
      'Snapshot s1 (with memory)',
      () => hv.snapshot(vmName, 's1'),
      (r) => `memory VVOL ${r.vm.snapshots[0]?.memory}`,
    );
    vm = await hv.getVm(vmName);
    await step(
      'Guest overwrites the 8 MiB',
      () => writeExport(dataOf(vm), 0, b).then(() => check(vm, b, 'the new data')),
      (s) => s,
    );
    await step(
      'Snapshot s2',
      () => hv.snapshot(vmName, 's2'),
      (r) => `${r.vm.snapshots.length} snapshots`,
    );
    vm = await step(
      'Revert to s1',
      () => hv.revert(vmName, 's1'),
      (v) => `power ${v.power}${v.host ? ` at ${v.host}` : ''} (resumed from memory)`,
    );
    await step(
      'Check the data after the revert',
      () => check(vm, a, 'the data of s1'),
      (s) => s,
    );
    await step(
      `Linked clone ${linkedName}`,
      async () => {
        const r = await hv.cloneVm(vmName, linkedName, { linked: true });
        made.push(linkedName);
        return r.vm;
      },
      (v) => `data ${v.vvols.find((x) => x.type === 'data')?.id} linked from ${v.vvols.find((x) => x.type === 'data')?.linkedFrom}`,
    );
    await step(
      `Full clone ${fullName}`,
      async () => {
        const r = await hv.cloneVm(vmName, fullName);
        made.push(fullName);
        return r.vm;
      },
      (v) => `data ${v.vvols.find((x) => x.type === 'data')?.id}`,
    );
    await step(
      `Migrate ${fullName} to ${poolB}`,
      () => hv.migrate(fullName, poolB),
      (v) => `now in ${v.container}: ${v.vvols.map((x) => x.id).join(', ')}`,
    );
    for (const n of [linkedName, fullName]) {
      await step(
        `Power on ${n}, check its data, power off`,
        async () => {
          const c = await hv.powerOn(n, hostName);
          const said = await check(c, a, `the data of ${vmName} at the clone`);
          await hv.powerOff(n);
          return said;
        },
        (s) => s,
      );
    }
    await step(
      `Power off ${vmName}`,
      () => hv.powerOff(vmName),
      (v) => `power ${v.power}`,
    );
    if (!o.keep) {
      await step(
        'Remove what the demo created',
        async () => {
          const done: string[] = [];
          for (const [what, fn] of cleanups.reverse()) {
            await fn();
            done.push(what);
          }
          cleanups.length = 0;
          return done;
        },
        (d) => d.join(', '),
      );
    } else {
      // What runs on the array stays; only the pathd the demo started must not outlive it.
      const p = cleanups.find(([w]) => w === 'pathd');
      if (p) await p[1]();
      if (o.pathd === undefined) o.out(`Kept: VMs ${made.join(', ')}, host ${hostName} (its pathd stopped with the demo), containers ${poolA}, ${poolB}.`);
      cleanups.length = 0;
    }
    return { steps, vms: made, kept: o.keep };
  } catch (e) {
    for (const [, fn] of cleanups.reverse()) await fn().catch(() => undefined);
    if (isKuraError(e)) throw e;
    throw VSIM_DEMO_FAILED({ step: current, reason: (e as Error).message });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
