// The VM lifecycle through `kura vsim` against a real `kura serve` and a real
// `kura pathd` (the ESXi host's storage stack): create, power on, write random
// data, three snapshots with different data, revert to the second, linked
// clone, full clone, migration, power off, delete. Every byte of each disk is
// compared with what the guest wrote, read by nbdcopy through pathd's NBD export of
// the bound VVOL; at the end `kura check` is clean and no chunk is left in the
// containers.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { PoolInfo } from '../../src/array/agent.js';
import type { VvolView } from '../../src/vvol/model.js';
import { memoryImage, readExport, writeExport } from '../../src/vsim/disk-io.js';
import type { VmInfo } from '../../src/vsim/hypervisor.js';
import { runKura } from '../helpers/cli.js';
import { ok, run } from '../helpers/tools.js';
import { startVsimWorld, type VsimWorld } from './fixture.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
let w: VsimWorld;

before(async () => {
  w = await startVsimWorld();
});
after(async () => {
  await w?.stop();
});

/** What the guest has written to one disk: a sparse raw file of the disk's size, kept in step with the VVOL. */
class Disk {
  /** Every range ever written, so a quick check reads them back. */
  ranges: Array<[number, number]> = [];
  constructor(readonly file: string) {
    fs.writeFileSync(file, '');
    fs.truncateSync(file, GiB);
  }
  copyTo(file: string): Disk {
    fs.copyFileSync(this.file, file);
    return Object.assign(Object.create(Disk.prototype) as Disk, { file, ranges: [...this.ranges] });
  }
  /** Random bytes at each offset, written through the export and into the file. */
  async write(uri: string, ranges: Array<[number, number]>): Promise<void> {
    const fd = fs.openSync(this.file, 'r+');
    try {
      for (const [off, len] of ranges) {
        const b = crypto.randomBytes(len);
        await writeExport(uri, off, b);
        fs.writeSync(fd, b, 0, b.length, off);
        this.ranges.push([off, len]);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  /**
   * The ranges ever written read back equal the file. A whole-disk read through
   * pathd takes 20-60 s on the shared machine, so the bounded run checks every
   * byte at the steps that matter most and the written ranges elsewhere;
   * KURA_VSIM_VERIFY=all checks every byte at every step.
   */
  async check(uri: string, what: string): Promise<void> {
    if (ALL) return this.verify(uri, what);
    const fd = fs.openSync(this.file, 'r');
    try {
      for (const [off, len] of this.ranges) {
        const want = Buffer.alloc(len);
        fs.readSync(fd, want, 0, len, off);
        assert.ok((await readExport(uri, off, len)).equals(want), `${what}: bytes ${off}+${len} of ${uri}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  /** Every byte of the export equals the file: nbdcopy (a real NBD client, several connections) reads it all, cmp compares. */
  verify(uri: string, what: string): void {
    const t = Date.now();
    const out = `${this.file}.read`;
    ok('nbdcopy', [uri, out], { timeout: 180_000 });
    const r = run('cmp', [this.file, out]);
    fs.rmSync(out, { force: true });
    mark(`nbdcopy + cmp (${what}): ${(Date.now() - t) / 1000} s`);
    assert.equal(r.status, 0, `${what}: the bytes of ${uri} differ from those written: ${r.stdout}${r.stderr}`);
  }
}

const ALL = process.env['KURA_VSIM_VERIFY'] === 'all';
const T0 = Date.now();
const mark = (what: string): void => void process.stderr.write(`# ${((Date.now() - T0) / 1000).toFixed(1)} s ${what}\n`);
const disk = (vm: VmInfo): VmInfo['vvols'][number] => vm.vvols.find((v) => v.type === 'data')!;
const exportOf = (vm: VmInfo): string => {
  const d = disk(vm);
  assert.ok(d.bound && d.export, `${vm.name}: its data VVOL is bound and exported (${JSON.stringify(d)})`);
  return d.export;
};

test('VM lifecycle through kura vsim: every byte checked through pathd exports; kura check clean at the end', { timeout: 900_000 }, async () => {
  const cli = {
    ...w.cli,
    json: <T>(...a: string[]): T => {
      const t = Date.now();
      const r = w.cli.json<T>(...a);
      mark(`kura ${a.join(' ')}: ${(Date.now() - t) / 1000} s`);
      return r;
    },
  };
  const added = cli.json<{ initiator: string; pes: Array<{ pe: string; lun: number }> }>('vsim', 'host', 'add', 'esx1', '--pathd', w.pathd.control);
  assert.equal(added.initiator, 'iqn.2026-11.test:vsim-esx1', "the host's initiator is its pathd's");
  assert.deepEqual(added.pes, [{ pe: 'pe0', lun: 0 }]);
  const entry = cli
    .json<Array<{ name: string; initiators: string[]; luns: Array<{ ld: string; lun: number }> }>>('host', 'list')
    .find((h) => h.name === 'esx1');
  assert.deepEqual(entry?.initiators, ['iqn.2026-11.test:vsim-esx1']);
  assert.deepEqual(
    entry?.luns.map((l) => [l.ld, l.lun]),
    [['pe0', 0]],
    'the PE is mapped to the host',
  );

  // Create: config, data and swap VVOLs, none bound.
  let vm = cli.json<VmInfo>('vsim', 'vm', 'create', 'vm1', '--container', 'sc0', '--disk', '1GiB');
  assert.deepEqual(
    vm.vvols.map((v) => v.type),
    ['config', 'data', 'swap'],
  );
  assert.equal(vm.datacenter, 'dc0');
  assert.equal(vm.power, 'off');
  for (const v of vm.vvols) {
    assert.equal(v.bound, false);
    assert.equal(v.export, null);
    assert.match(v.id, /^naa\.6[0-9a-f]{31}$/);
  }
  // The VM's identity is in the provider: another tool finds its VVOLs without the simulator.
  const listed = cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1');
  assert.deepEqual(listed.map((v) => v.id).sort(), vm.vvols.map((v) => v.id).sort());
  for (const v of listed) {
    assert.equal(v.metadata['VMW_VmID'], vm.id);
    assert.equal(v.metadata['VMW_VmName'], 'vm1');
    assert.equal(v.metadata['VMW_Datacenter'], 'dc0');
  }
  assert.equal(listed.find((v) => v.type === 'data')!.metadata['VMW_VVolName'], 'vm1.vmdk');

  // Power on: every VVOL bound and exported by pathd under its NAA id.
  vm = cli.json<VmInfo>('vsim', 'vm', 'power-on', 'vm1', '--host', 'esx1');
  assert.equal(vm.power, 'on');
  assert.equal(vm.host, 'esx1');
  for (const v of vm.vvols) {
    assert.equal(v.bound, true, `${v.type} bound`);
    assert.equal(v.export, `nbd://127.0.0.1:${w.pathd.nbdPort}/${v.id}`, `${v.type} exported by pathd under its id`);
  }
  const info = JSON.parse(ok('nbdinfo', ['--json', exportOf(vm)])) as { exports: Array<{ 'export-size': number }> };
  assert.equal(info.exports[0]!['export-size'], GiB, 'nbdinfo sees the 1 GiB data VVOL');
  const vmx = (await readExport(vm.vvols.find((v) => v.type === 'config')!.export!, 0, 4096)).toString();
  assert.match(vmx, new RegExp(`vc.uuid = "${vm.id}"`), 'the VMX file was written to the config VVOL through pathd');
  assert.deepEqual(
    cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1').map((v) => v.boundPes.length),
    [1, 1, 1],
  );

  // Write, and three snapshots with different data.
  const d0 = new Disk(path.join(w.dir, 'vm1.raw'));
  await d0.write(exportOf(vm), [
    [0, 4 * MiB],
    [300 * MiB, 2 * MiB],
    [GiB - MiB, MiB],
  ]);
  await d0.check(exportOf(vm), 'after the first writes');
  const at: Disk[] = [];
  for (const [i, s] of ['s1', 's2', 's3'].entries()) {
    vm = cli.json<VmInfo>('vsim', 'vm', 'snapshot', 'vm1', '--name', s);
    at.push(d0.copyTo(path.join(w.dir, `vm1-${s}.raw`)));
    await d0.write(exportOf(vm), [
      [i * MiB, 2 * MiB],
      [(500 + i * 7) * MiB, 3 * MiB],
    ]);
    await d0.check(exportOf(vm), `after the writes that follow ${s}`);
  }
  assert.deepEqual(
    vm.snapshots.map((s) => s.name),
    ['s1', 's2', 's3'],
  );
  for (const s of vm.snapshots) {
    assert.equal(s.vvols.length, 2, 'one ESV for the config VVOL and one for the data VVOL');
    assert.ok(s.memory, 'a running VM saves its memory');
  }
  const memVvols = cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1', '--type', 'memory');
  assert.deepEqual(memVvols.map((v) => v.metadata['VMW_SnapshotName']).sort(), ['s1', 's2', 's3']);

  // Revert to s2: the VM powers off, its VVOLs go back, and it resumes from s2's memory on esx1.
  vm = cli.json<VmInfo>('vsim', 'vm', 'revert', 'vm1', '--snapshot', 's2');
  assert.equal(vm.power, 'on');
  assert.equal(vm.host, 'esx1');
  at[1]!.verify(exportOf(vm), 'after the revert to s2');
  const mem = vm.snapshots.find((s) => s.name === 's2')!.memory!;
  // The memory VVOL is bound only while it is written; bind it again as ESXi would to resume from it.
  const bound = cli.json<Array<{ ok: boolean }>>('vvol', 'bind', mem, '--host', 'esx1');
  assert.ok(bound[0]!.ok);
  const memUri = `nbd://127.0.0.1:${w.pathd.nbdPort}/${mem}`;
  for (let i = 0; i < 100 && run('nbdinfo', ['--size', memUri]).status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
  assert.ok((await readExport(memUri, 0, MiB)).equals(memoryImage(vm.id, 's2')), "s2's memory image through pathd");
  cli.json('vvol', 'unbind', mem, '--host', 'esx1');

  // Linked clone: shares vm1's data; its writes stay its own.
  const linked = cli.json<VmInfo>('vsim', 'vm', 'clone', 'vm1', 'vm1-linked', '--linked');
  assert.equal(disk(linked).linkedFrom, disk(vm).id);
  assert.notEqual(linked.id, vm.id);
  let lk = cli.json<VmInfo>('vsim', 'vm', 'power-on', 'vm1-linked', '--host', 'esx1');
  await at[1]!.check(exportOf(lk), 'the linked clone');
  const dl = at[1]!.copyTo(path.join(w.dir, 'linked.raw'));
  await dl.write(exportOf(lk), [[10 * MiB, 4 * MiB]]);
  dl.verify(exportOf(lk), 'the linked clone after its own writes');
  await at[1]!.check(exportOf(vm), "vm1 untouched by its linked clone's writes");
  lk = cli.json<VmInfo>('vsim', 'vm', 'power-off', 'vm1-linked');
  assert.equal(lk.power, 'off');

  // Full clone: a copy with progress on stderr.
  const fc = w.cli.run('vsim', 'vm', 'clone', 'vm1', 'vm1-full', '--json');
  assert.equal(fc.status, 0, fc.stderr);
  assert.match(fc.stderr, /full clone of vm1 to vm1-full.* 100%/);
  let full = JSON.parse(fc.stdout) as VmInfo;
  assert.equal(disk(full).linkedFrom, null);
  full = cli.json<VmInfo>('vsim', 'vm', 'power-on', 'vm1-full', '--host', 'esx1');
  await at[1]!.check(exportOf(full), 'the full clone');
  cli.json('vsim', 'vm', 'power-off', 'vm1-full');

  // Migration of the full clone to sc1 (powered off, no snapshots), with progress.
  const oldIds = full.vvols.map((v) => v.id);
  const mg = w.cli.run('vsim', 'vm', 'migrate', 'vm1-full', '--container', 'sc1', '--json');
  assert.equal(mg.status, 0, mg.stderr);
  assert.match(mg.stderr, /migration of vm1-full to sc1.* 100%/);
  full = JSON.parse(mg.stdout) as VmInfo;
  assert.equal(full.container, 'sc1');
  assert.equal(full.vvols.length, 3);
  for (const v of full.vvols) assert.ok(!oldIds.includes(v.id), 'a moved VVOL has a new id (its new LD)');
  assert.equal(cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1-full', '--container', 'sc1').length, 3, 'the VM identity moved with the VVOLs');
  full = cli.json<VmInfo>('vsim', 'vm', 'power-on', 'vm1-full', '--host', 'esx1');
  at[1]!.verify(exportOf(full), 'the migrated clone');
  cli.json('vsim', 'vm', 'power-off', 'vm1-full');

  // Power off: unbound, pathd's exports closed.
  const uri = exportOf(vm);
  vm = cli.json<VmInfo>('vsim', 'vm', 'power-off', 'vm1');
  assert.equal(vm.power, 'off');
  for (const v of vm.vvols) assert.deepEqual([v.bound, v.export], [false, null]);
  assert.notEqual(run('nbdinfo', ['--size', uri]).status, 0, "pathd's export of the unbound VVOL is gone");

  const list = cli.json<Array<{ name: string; power: string; snapshots: number }>>('vsim', 'vm', 'list');
  assert.deepEqual(
    list.map((v) => [v.name, v.power, v.snapshots]),
    [
      ['vm1', 'off', 3],
      ['vm1-full', 'off', 0],
      ['vm1-linked', 'off', 0],
    ],
  );

  // Delete: vm1 is refused while its linked clone shares its data.
  const refused = cli.run('vsim', 'vm', 'delete', 'vm1');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /KURA-E3617: Virtual machine vm1 is the source of linked clone\(s\) vm1-linked\./);
  for (const n of ['vm1-linked', 'vm1-full', 'vm1']) cli.json('vsim', 'vm', 'delete', n);
  assert.deepEqual(cli.json<unknown[]>('vvol', 'list'), []);
  assert.deepEqual(cli.json<unknown[]>('vsim', 'vm', 'list'), []);
  cli.json('vsim', 'host', 'remove', 'esx1');

  for (const p of ['sc0', 'sc1']) {
    const pool = cli.json<PoolInfo>('pool', 'show', p);
    assert.equal(pool.ldCount, p === 'sc0' ? 1 : 0, `${p}: only the PE is left`);
    assert.equal(pool.used, 0, `${p}: no chunk left in the container`);
  }
  // The host is gone; its pathd (the ESXi host) is shut down before the PE goes.
  await w.pathd.stop();
  cli.json('pe', 'delete', 'pe0');
  for (const p of ['sc0', 'sc1']) cli.json('pool', 'delete', p);
  cli.json('ld', 'delete', 'ssv');
  cli.json('pool', 'delete', 'sys');
  assert.equal(await w.srv.stop(), 0);
  const check = runKura(['check', '--data', w.srv.dataDir, '--json']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.deepEqual((JSON.parse(check.stdout) as { faults: string[] }).faults, []);
});
