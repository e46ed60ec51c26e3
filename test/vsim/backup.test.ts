// VM backup and restore end to end through `kura vsim` (issue 12): a real
// `kura serve` and a real `kura pathd` (the ESXi host), two VMs made by the
// simulator on a backup policy of two generations with two `vvolbackup`
// pools. vmA's owner gave a guest-quiesce hook (`--quiesce-hook`, which the
// simulator writes into the VM's VVOL metadata), vmB has none. The guest's
// bytes go in and come back out through pathd's NBD export of each bound data
// VVOL, as the VM sees its disk: a backup, an overwrite, a restore from the
// last backup gives the original bytes; a second backup goes to generation 2
// and a restore from the previous one gives the first backup's bytes; a third
// goes back to generation 1, and previous/last give the second's and third's.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BACKUPS } from '../../src/api/backup.js';
import { POOLS } from '../../src/api/pools.js';
import { POLICIES, VVOLS } from '../../src/api/vasa.js';
import type { BackupJob, VmBackupView } from '../../src/vvol/backup/engine.js';
import type { VvolView } from '../../src/vvol/model.js';
import { readExport, writeExport } from '../../src/vsim/disk-io.js';
import { HostList } from '../../src/vsim/host-list.js';
import { Hypervisor, type VmInfo } from '../../src/vsim/hypervisor.js';
import { spawnKura, type CliResult } from '../helpers/cli.js';
import { startVsimWorld, type VsimWorld } from './fixture.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
let w: VsimWorld;
let hook: string;
let hookLog: string;

before(async () => {
  w = await startVsimWorld({ initiator: 'iqn.2026-11.test:vsim-backup' });
  for (const p of ['vvolbackup1', 'vvolbackup2']) await w.api.send(POOLS.create, {}, { name: p, size: 6 * GiB, container: true });
  await w.api.send(POLICIES.create, {}, { name: 'bk2', backup: true, generations: 2 });
  hookLog = path.join(w.dir, 'hook.log');
  hook = path.join(w.dir, 'quiesce.sh');
  // The VM owner's script: one line per step with the environment kura serve gives it.
  fs.writeFileSync(hook, `#!/bin/sh\necho "$1 KURA_VM=$KURA_VM KURA_VM_ID=$KURA_VM_ID KURA_DATACENTER=$KURA_DATACENTER" >> ${hookLog}\n`, { mode: 0o755 });
});
after(async () => {
  await w?.stop();
});

const T0 = Date.now();
const mark = (what: string): void => void process.stderr.write(`# ${((Date.now() - T0) / 1000).toFixed(1)} s ${what}\n`);

/** kura ARGS in the background (several at once: each CLI run is mostly a node start). */
async function kura(...args: string[]): Promise<CliResult> {
  const t = Date.now();
  const r = await spawnKura(args, { env: w.env, cwd: w.srv.dataDir, timeoutMs: 180_000 });
  mark(`kura ${args.join(' ')}: exit ${r.status}, ${(Date.now() - t) / 1000} s`);
  return r;
}
async function kuraJson<T>(...args: string[]): Promise<T> {
  const r = await kura(...args, '--json');
  assert.equal(r.status, 0, `kura ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs kura ARGS, expects exit 1 and the error id with its sentence on stderr. */
async function refused(args: string[], id: string, sentence: RegExp): Promise<void> {
  const r = await kura(...args);
  assert.equal(r.status, 1, `kura ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^${id}: `, 'm'), `kura ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, sentence, `kura ${args.join(' ')}: ${r.stderr}`);
}

/** What a guest writes to its data disk: pieces at offsets, kept to compare later. */
type Image = Array<[number, Buffer]>;
const image = (): Image => [
  [0, crypto.randomBytes(2 * MiB)],
  [40 * MiB, crypto.randomBytes(MiB)],
  [63 * MiB, crypto.randomBytes(MiB)],
];
const dataExport = (vm: VmInfo): string => {
  const d = vm.vvols.find((v) => v.type === 'data')!;
  assert.ok(d.export, `${vm.name}: its data VVOL is exported by pathd (${JSON.stringify(d)})`);
  return d.export;
};
async function put(uri: string, img: Image): Promise<void> {
  for (const [off, b] of img) await writeExport(uri, off, b);
}
/** Every byte of the image read back through pathd's export equals what was written. */
async function expectImage(uri: string, img: Image, what: string): Promise<void> {
  for (const [off, b] of img) assert.ok((await readExport(uri, off, b.length)).equals(b), `${what}: bytes ${off}+${b.length} of ${uri} differ`);
}

const hookLines = (): string[] => (fs.existsSync(hookLog) ? fs.readFileSync(hookLog, 'utf8').trim().split('\n') : []);

test(
  'two VMs through kura vsim: quiesce hook, backup x3 rotating two generations, restore from last and previous read back through pathd',
  { timeout: 300_000 },
  async () => {
    // What the test does not check through the CLI (host, power, snapshots) the simulator does in-process over REST.
    const hv = new Hypervisor({ api: w.api, hosts: new HostList(w.env['KURA_VSIM_STATE']!) });
    await hv.addHost('esx1', w.pathd.control);
    const vvolsOf = (vm: string): Promise<VvolView[]> => w.api.send<VvolView[]>(VVOLS.list, {}, undefined, { vm });
    const show = (vm: string, dc: string): Promise<VmBackupView> => w.api.send<VmBackupView>(BACKUPS.show, { vm }, undefined, { datacenter: dc });

    // The hook is checked where it is given; a refused create makes nothing. A script that cannot run is refused on an existing VM too.
    const mk = ['vsim', 'vm', 'create', 'vmX', '--container', 'sc0', '--disk', '64MiB', '--memory', '64MiB', '--quiesce-hook'];
    const plain = path.join(w.dir, 'plain.sh');
    fs.writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
    const vmOpts = ['--container', 'sc0', '--disk', '64MiB', '--memory', '64MiB', '--policy', 'bk2'];
    const [created] = await Promise.all([
      Promise.all([
        kuraJson<VmInfo>('vsim', 'vm', 'create', 'vmA', ...vmOpts, '--datacenter', 'dc7', '--quiesce-hook', hook),
        kuraJson<VmInfo>('vsim', 'vm', 'create', 'vmB', ...vmOpts),
      ]),
      refused([...mk, 'quiesce.sh'], 'KURA-E3624', /The quiesce hook "quiesce\.sh" is not an absolute path\./),
      refused([...mk, path.join(w.dir, 'nosuch.sh')], 'KURA-E3625', /The quiesce hook \S+nosuch\.sh cannot be used: no such file\./),
      refused([...mk, w.dir], 'KURA-E3625', /The quiesce hook \S+ cannot be used: it is not a regular file\./),
      refused([...mk, plain], 'KURA-E3626', /The quiesce hook \S+plain\.sh is not executable\./),
    ]);
    let [vmA, vmB] = created;
    assert.equal(vmA.quiesceHook, hook);
    assert.equal(vmB.quiesceHook, null);
    assert.deepEqual(
      (await hv.listVms()).map((v) => v.name),
      ['vmA', 'vmB'],
      'the refused creates made no VM',
    );
    // The hook is in the provider, on every VVOL of the VM, where the backup engine reads it.
    for (const v of await vvolsOf('vmA')) assert.equal(v.metadata['KURA_QuiesceHook'], hook, `${v.type} VVOL`);

    // Set and clear on an existing VM.
    assert.equal((await kuraJson<VmInfo>('vsim', 'vm', 'set', 'vmB', '--quiesce-hook', hook)).quiesceHook, hook);
    for (const v of await vvolsOf('vmB')) assert.equal(v.metadata['KURA_QuiesceHook'], hook, `${v.type} VVOL of vmB`);
    assert.equal((await kuraJson<VmInfo>('vsim', 'vm', 'set', 'vmB', '--quiesce-hook', 'none')).quiesceHook, null);
    for (const v of await vvolsOf('vmB')) assert.equal(v.metadata['KURA_QuiesceHook'], undefined, `${v.type} VVOL of vmB`);

    vmA = await hv.powerOn('vmA', 'esx1');
    vmB = await hv.powerOn('vmB', 'esx1');
    const uriA = dataExport(vmA);
    const uriB = dataExport(vmB);
    const A1 = image();
    const B1 = image();
    await put(uriA, A1);
    await put(uriB, B1);

    // Backup 1 of both at once: vmA through its hook, vmB without keeping consistency.
    const [ra, rb] = await Promise.all([kura('backup', 'run', 'vmA', 'dc7'), kura('backup', 'run', 'vmB', 'dc0')]);
    assert.equal(ra.status, 0, ra.stdout + ra.stderr);
    assert.equal(rb.status, 0, rb.stdout + rb.stderr);
    assert.match(ra.stdout, /^Success to online backup VM\(dc7\/vmA\)\.$/m);
    assert.match(rb.stdout, /^Success to online backup VM\(dc0\/vmB\) without keeping consistency\.$/m);
    const env = `KURA_VM=vmA KURA_VM_ID=${vmA.id} KURA_DATACENTER=dc7`;
    assert.deepEqual(hookLines(), [`freeze ${env}`, `thaw ${env}`], 'the hook ran freeze then thaw, for vmA only');

    const first = { A: await show('vmA', 'dc7'), B: await show('vmB', 'dc0') };
    for (const [s, consistent] of [
      [first.A, true],
      [first.B, false],
    ] as const) {
      assert.equal(s.state, 'Backup completed', s.vm);
      assert.equal(s.consistent, consistent, `${s.vm}: consistency through the hook`);
      assert.equal(s.generations, 2);
      assert.ok(s.lastBackupTime && !Number.isNaN(Date.parse(s.lastBackupTime)), `${s.vm}: last backup time ${s.lastBackupTime}`);
      assert.equal(s.previousBackupTime, null);
      assert.deepEqual(
        s.disks.map((d) => [d.type, d.backupState, d.generations.map((g) => g.valid)]),
        [
          ['config', 'backuped', [true, false]],
          ['data', 'backuped', [true, false]],
        ],
        `${s.vm}: generation 1 holds the first backup`,
      );
      for (const d of s.disks) assert.equal(d.last!.rv, d.generations[0]!.rv);
    }

    // The guests overwrite their disks; a restore from the last backup gives the original bytes back.
    await put(uriA, image());
    await put(uriB, image());
    for (const r of await Promise.all(['vmA', 'vmB'].map((vm) => kura('backup', 'restore', vm, '--from', 'last', '--wait')))) {
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^Restore completed \(copying in background\) \(VM dc\d\/(vm[AB]): \1\.vmdk from \S+\)\nRestore completed\n$/);
    }
    assert.equal((await show('vmA', 'dc7')).state, 'Restore completed');
    await expectImage(uriA, A1, 'vmA restored from its last backup');
    await expectImage(uriB, B1, 'vmB restored from its last backup');

    // A VM with a snapshot cannot be restored (VVM L3061).
    await hv.snapshot('vmA', 's1');
    await refused(
      ['backup', 'restore', 'vmA', '--from', 'last'],
      'KURA-E3730',
      /^KURA-E3730: If the target VM has a snapshot, the virtual device cannot be restored\.\n {2}Delete all snapshots in the target VM and restore the virtual device\.\n$/,
    );
    await hv.deleteSnapshot('vmA', 's1');

    // A later backup of both with new bytes: it goes to generation `to` (1-based), the one before it becomes the previous backup.
    const backupBoth = async (to: 1 | 2, what: string): Promise<{ A: Image; B: Image }> => {
      const before = { A: await show('vmA', 'dc7'), B: await show('vmB', 'dc0') };
      const bytes = { A: image(), B: image() };
      await put(uriA, bytes.A);
      await put(uriB, bytes.B);
      for (const r of await Promise.all([kura('backup', 'run', 'vmA', 'dc7'), kura('backup', 'run', 'vmB', 'dc0')]))
        assert.equal(r.status, 0, r.stdout + r.stderr);
      for (const [s, was] of [
        [await show('vmA', 'dc7'), before.A],
        [await show('vmB', 'dc0'), before.B],
      ] as const) {
        assert.equal(s.state, 'Backup completed', `${s.vm}: ${what}`);
        assert.equal(s.previousBackupTime, was.lastBackupTime, `${s.vm}: the backup before the ${what} is now the previous one`);
        assert.ok(s.lastBackupTime! > was.lastBackupTime!, `${s.vm}: the ${what} has a later time`);
        const data = s.disks.find((d) => d.type === 'data')!;
        assert.equal(data.last!.rv, data.generations[to - 1]!.rv, `${s.vm}: the ${what} went to generation ${to}`);
        assert.equal(data.previous!.rv, data.generations[2 - to]!.rv);
      }
      return bytes;
    };

    // Backup 2 goes to generation 2; the previous backup is the first.
    const { A: A2 } = await backupBoth(2, 'second backup');
    assert.equal(hookLines().length, 4, 'the second backup of vmA ran the hook again');

    // Overwrite; restore from the previous backup (the first bytes), then vmA from the last (the second).
    await put(uriA, image());
    await put(uriB, image());
    const [prevA, prevB] = await Promise.all([
      kuraJson<BackupJob>('backup', 'restore', 'vmA', '--from', 'previous', '--wait'),
      kuraJson<BackupJob>('backup', 'restore', 'vmB', '--from', 'previous', '--wait'),
    ]);
    assert.deepEqual([prevA.phase, prevB.phase], ['Restore completed', 'Restore completed']);
    await expectImage(uriA, A1, 'vmA restored from its previous backup');
    await expectImage(uriB, B1, 'vmB restored from its previous backup');
    assert.equal((await kuraJson<BackupJob>('backup', 'restore', 'vmA', '--from', 'last', '--wait')).phase, 'Restore completed');
    await expectImage(uriA, A2, 'vmA restored from its last backup');
    assert.equal((await show('vmA', 'dc7')).state, 'Restore completed');

    // Backup 3 with new bytes rotates back to generation 1 (the oldest); the second backup is now the previous one.
    const { B: B3 } = await backupBoth(1, 'third backup');
    await put(uriA, image());
    await put(uriB, image());
    const [prev3A, prev3B] = await Promise.all([
      kuraJson<BackupJob>('backup', 'restore', 'vmA', '--from', 'previous', '--wait'),
      kuraJson<BackupJob>('backup', 'restore', 'vmB', '--from', 'last', '--wait'),
    ]);
    assert.deepEqual([prev3A.phase, prev3B.phase], ['Restore completed', 'Restore completed']);
    await expectImage(uriA, A2, 'vmA restored from its previous backup (the second)');
    await expectImage(uriB, B3, 'vmB restored from its last backup (the third)');
  },
);
