// The VVOL provider through a real `kura serve`, driven over REST as a
// hypervisor drives it (src/vsim):
//   - bind latency: 1,000 BindVirtualVolume requests (one VVOL each, cycling
//     over 20 unbound VVOLs so every bind makes a binding on the array), p50/p99;
//   - a VM of 3 data VVOLs of 100 GiB (thin, 1 GiB written to each): the time
//     of a VM snapshot (prepare + snapshot task) and of a linked clone (one
//     FastClone task per disk);
//   - full-clone throughput (the Clone task, a copy through a replication pair)
//     of one 100 GiB VVOL with 1 GiB written, against `qemu-img convert` of the
//     same VVOL into another one through the array's NBD exports.
//
//   npm run bench:vvol      (KURA_BENCH_BINDS=N for another bind count)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { HOSTS } from '../src/api/hosts.js';
import { LDS } from '../src/api/lds.js';
import { LICENSES } from '../src/api/licenses.js';
import { PES, VASA, VVOLS } from '../src/api/vasa.js';
import type { LdInfo } from '../src/array/lds/agent.js';
import { ApiClient } from '../src/cli/client.js';
import { NbdClient } from '../src/nbd/client.js';
import type { VvolView } from '../src/vvol/model.js';
import type { TaskInfo } from '../src/vvol/tasks.js';
import { HostList } from '../src/vsim/host-list.js';
import { Hypervisor } from '../src/vsim/hypervisor.js';
import { startServer } from '../test/helpers/server.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const BINDS = Number(process.env['KURA_BENCH_BINDS'] ?? 1000);
const WORK = process.env['KURA_BENCH_DIR'] ?? '/var/tmp/kura-bench';
const dir = path.join(WORK, 'vvol');
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });

const srv = await startServer({ dataDir: path.join(dir, 'data'), args: ['--no-demo'], readyTimeoutMs: 60_000 });
const api = new ApiClient({ url: srv.url, token: srv.token, owner: 'bench' });
const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function settled(t: TaskInfo): Promise<TaskInfo> {
  while (t.state === 'queued' || t.state === 'running') {
    await new Promise((r) => setTimeout(r, 20));
    t = await api.send<TaskInfo>(VASA.task, { id: t.id });
  }
  if (t.state !== 'success') throw new Error(`task ${t.id} ended ${t.state}: ${JSON.stringify(t.error)}`);
  return t;
}

/** The LD's NBD export name, opened to plain NBD clients (access control is on once a host entry exists). */
const ldName = async (n: number): Promise<string> => {
  const name = (await api.send<LdInfo>(LDS.show, { ref: String(n) })).name;
  await api.send(LDS.setNbdPlain, { ref: name }, { plain: true });
  return name;
};

/** 1 GiB in 1,024 pieces of 1 MiB spread evenly over the LD, through the array's NBD export. */
async function write1GiB(ld: number, size: number): Promise<void> {
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: await ldName(ld) });
  const piece = crypto.randomBytes(MiB);
  const step = Math.floor(size / 1024 / MiB) * MiB;
  for (let i = 0; i < 1024; i++) await c.write(i * step, piece);
  await c.flush();
  await c.disconnect();
}

try {
  for (const l of ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager'])
    await api.send(LICENSES.unlock, { name: l });
  srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
  srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
  srv.cli.json('pool', 'create', 'sc0', '--size', '12GiB', '--raid', '0', '--pds', '1', '--container');
  await api.send(PES.create, {}, { name: 'pe0', pool: 'sc0' });
  await api.send(HOSTS.create, {}, { name: 'esx1', initiators: ['iqn.2026-11.bench:esx1'] });
  await api.send(HOSTS.map, { name: 'esx1' }, { ld: 'pe0', lun: 0 });

  // ---- bind latency ----
  const ids: string[] = [];
  for (let i = 0; i < 20; i++)
    ids.push((await api.send<{ vvol: VvolView }>(VVOLS.create, {}, { container: 'sc0', type: 'data', size: GiB, vm: `bind${i}` })).vvol.id);
  const lat: number[] = [];
  while (lat.length < BINDS) {
    for (const id of ids) {
      if (lat.length >= BINDS) break;
      const t = process.hrtime.bigint();
      const [r] = await api.send<Array<{ ok: boolean }>>(VVOLS.bind, {}, { ids: [id], host: 'esx1' });
      lat.push(ms(t));
      if (!r?.ok) throw new Error(`bind failed: ${JSON.stringify(r)}`);
    }
    await api.send(VVOLS.unbind, {}, { ids, host: 'esx1' });
  }
  for (const id of ids) await api.send(VVOLS.delete, { id });
  console.log(`bind latency over REST, ${BINDS} binds (each makes a binding): p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms`);

  // ---- a VM of 3 x 100 GiB ----
  const hv = new Hypervisor({ api, hosts: new HostList(path.join(dir, 'hosts.json')) });
  const { vm } = await hv.createVm({ name: 'big', container: 'sc0', disks: [100 * GiB, 100 * GiB, 100 * GiB] });
  const disks = vm.vvols.filter((v) => v.type === 'data');
  let t = process.hrtime.bigint();
  for (const d of disks) await write1GiB(d.ld, d.size);
  console.log(`VM big: 3 data VVOLs of 100 GiB, 1 GiB written to each through NBD in ${(ms(t) / 1000).toFixed(1)} s`);
  t = process.hrtime.bigint();
  await hv.snapshot('big', 's1');
  const snapMs = ms(t);
  t = process.hrtime.bigint();
  await hv.cloneVm('big', 'big-linked', { linked: true });
  const linkedMs = ms(t);
  console.log(
    `VM snapshot (prepare + snapshot task, 4 VVOLs): ${snapMs.toFixed(0)} ms; linked clone (3 FastClone tasks + new config and swap VVOLs): ${linkedMs.toFixed(0)} ms`,
  );

  // ---- full clone against qemu-img convert ----
  const src = disks[0]!;
  t = process.hrtime.bigint();
  const task = await api.send<TaskInfo>(VVOLS.clone, { id: src.id }, { vm: 'copy' });
  const done = await settled(task);
  const cloneMs = ms(t);
  const copy = (done.result as { vvol: string }).vvol;
  const target = (await api.send<{ vvol: VvolView }>(VVOLS.create, {}, { container: 'sc0', type: 'data', size: 100 * GiB, vm: 'qemu' })).vvol;
  const from = srv.nbdUri(await ldName(src.ld));
  const to = srv.nbdUri(await ldName(target.ld));
  t = process.hrtime.bigint();
  const q = spawnSync('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', from, to], { encoding: 'utf8', timeout: 3_600_000 });
  const qemuMs = ms(t);
  if (q.status !== 0) throw new Error(`qemu-img convert: ${q.stderr}`);
  const rate = (msec: number): string => `${(1024 / (msec / 1000)).toFixed(1)} MiB/s`;
  console.log(
    `full clone of a 100 GiB VVOL with 1 GiB written: Clone task ${(cloneMs / 1000).toFixed(2)} s (${rate(cloneMs)} of written data); qemu-img convert ${(qemuMs / 1000).toFixed(2)} s (${rate(qemuMs)}); ratio ${(qemuMs / cloneMs).toFixed(2)}x`,
  );
  const cmp = spawnSync(
    'qemu-img',
    ['compare', '-f', 'raw', '-F', 'raw', from, srv.nbdUri(await ldName((await api.send<VvolView>(VVOLS.show, { id: copy })).ld))],
    {
      encoding: 'utf8',
      timeout: 3_600_000,
    },
  );
  console.log(`clone compared with its source by qemu-img: ${cmp.status === 0 ? 'identical' : `DIFFERENT ${cmp.stdout}${cmp.stderr}`}`);
  console.log(
    `machine: ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at the end (shared with other work)`,
  );
} finally {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
