// VM backup and restore through `kura serve` and the CLI (issue 12): a VM's
// VVOLs are made through the provider API with the VM's metadata, backed up
// three times with different data (two generations rotate), overwritten, and
// restored from the previous and from the last backup; every byte is read back
// through the array's NBD export of the VVOL's LD. The guest-quiesce hook (a
// script the VM owner names in KURA_QuiesceHook) decides "with" or "without
// keeping consistency" and holds a backup in place for the busy and cancel
// messages; the seed's messages are provoked one by one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LdInfo } from '../../src/array/agent.js';
import { NbdClient } from '../../src/nbd/client.js';
import type { BackupJob, VmBackupView } from '../../src/vvol/backup/engine.js';
import type { VvolView } from '../../src/vvol/model.js';
import { KURA, ROOT, runKura } from '../helpers/cli.js';
import { readAll, writeAll } from '../helpers/nbd-io.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MiB = 2 ** 20;
let srv: TestServer;
let tmp: string;
let hook: string;

before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
  for (const l of ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication']) srv.cli.json('license', 'unlock', l);
  srv.cli.json('pool', 'create', 'sc0', '--size', '6GiB', '--container');
  srv.cli.json('pool', 'create', 'vvolbackup1', '--size', '4GiB', '--container');
  srv.cli.json('pool', 'create', 'vvolbackup2', '--size', '4GiB', '--container');
  srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
  srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
  srv.cli.json('policy', 'create', 'bk2', '--backup', '--generations', '2');
  srv.cli.json('policy', 'create', 'bk1', '--backup', '--generations', '1', '--auto-delete');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-backup-'));
  // `kura` on the PATH for the generated backup script.
  fs.mkdirSync(path.join(tmp, 'bin'));
  fs.writeFileSync(path.join(tmp, 'bin', 'kura'), `#!/bin/sh\nexec "${process.execPath}" "${KURA}" "$@"\n`, { mode: 0o755 });
  hook = path.join(tmp, 'quiesce.sh');
  // The VM owner's hook: logs each step; while the file "block" exists, freeze waits (a backup held in place).
  fs.writeFileSync(
    hook,
    `#!/bin/sh\necho "$1 $KURA_DATACENTER/$KURA_VM" >> ${tmp}/hook.log\nif [ "$1" = freeze ]; then while [ -e ${tmp}/block ]; do sleep 0.05; done; fi\nexit 0\n`,
    { mode: 0o755 },
  );
});

after(async () => {
  await srv?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A VM as vCenter makes one: a config VVOL and data VVOLs with the VM's metadata. */
async function makeVm(name: string, dc: string, opts: { policy?: string; disks?: number; hook?: boolean } = {}): Promise<VvolView[]> {
  const id = crypto.randomUUID();
  const md = (vvolName: string): Record<string, string> => ({
    VMW_VmID: id,
    VMW_Datacenter: dc,
    VMW_VVolName: vvolName,
    ...(opts.hook ? { KURA_QuiesceHook: hook } : {}),
  });
  const out: VvolView[] = [];
  const mk = async (type: string, vvolName: string) => {
    const r = await srv.api<{ vvol: VvolView }>('POST', '/vasa/vvols', {
      container: 'sc0',
      type,
      size: '1GiB',
      vm: name,
      metadata: md(vvolName),
      ...(opts.policy ? { policy: opts.policy } : {}),
    });
    out.push(r.vvol);
  };
  await mk('config', `${name}.vmx`);
  for (let i = 0; i < (opts.disks ?? 1); i++) await mk('data', `${name}_${i}.vmdk`);
  return out;
}

const ldName = (ld: number): string => srv.cli.json<LdInfo>('ld', 'show', String(ld)).name;

async function withNbd<T>(ld: number, fn: (c: NbdClient) => Promise<T>): Promise<T> {
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: ldName(ld) });
  try {
    return await fn(c);
  } finally {
    await c.disconnect();
  }
}

const write = (ld: number, off: number, data: Buffer) => withNbd(ld, (c) => writeAll(c, off, data));
const read = (ld: number, off: number, len: number) => withNbd(ld, (c) => readAll(c, off, len));
const show = (vm: string, dc: string) => srv.cli.json<VmBackupView>('backup', 'show', vm, dc);

async function until<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('three backups rotate two generations; restore from previous and last gives their bytes back', { timeout: 120_000 }, async () => {
  const [config, data] = await makeVm('vm1', 'dc1', { policy: 'bk2' });
  assert.equal(data!.backups.length, 2, 'a generation-2 policy made two backup volumes');
  assert.notEqual(data!.backups[0]!.pool, data!.backups[1]!.pool, 'in different vvolbackup pools');

  let s = show('vm1', 'dc1');
  assert.equal(s.state, '－');
  assert.deepEqual(
    s.disks.map((d) => [d.name, d.type, d.backupState, d.last, d.previous]),
    [
      ['vm1.vmx', 'config', 'no backup', null, null],
      ['vm1_0.vmdk', 'data', 'no backup', null, null],
    ],
  );

  const A = crypto.randomBytes(2 * MiB);
  const B = crypto.randomBytes(2 * MiB);
  const C = crypto.randomBytes(2 * MiB);
  const D = crypto.randomBytes(2 * MiB);
  const CFG = crypto.randomBytes(64 * 1024);
  await write(config!.ld, 0, CFG);

  // Backup 1 (A) goes to generation 1, never backed up.
  await write(data!.ld, 0, A);
  let r = srv.cli.run('backup', 'run', 'vm1', 'dc1');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'Start to check information of specified VM.');
  assert.equal(lines[1], 'Start to back up the specified VM.');
  assert.equal(lines[2], 'Success to online backup VM(dc1/vm1) without keeping consistency.');
  assert.equal(lines[3], 'config-vvol:');
  assert.equal(lines[4], `  LD Name: ${ldName(config!.ld)}`);
  assert.equal(lines[5], '  Backup State: backuped');
  assert.equal(lines[6], `  Backup LD Name: ${ldName(config!.backups[0]!.ld)}`);
  assert.match(lines[7]!, /^ {2}Diskarray Name: \S+/);
  assert.equal(lines[8], 'data-vvol:');
  assert.equal(lines[10], '  Disk File: vm1_0.vmdk');
  assert.equal(lines[12], `  Backup LD Name: ${ldName(data!.backups[0]!.ld)}`);
  s = show('vm1', 'dc1');
  assert.equal(s.state, 'Backup completed');
  assert.equal(s.consistent, false);
  const first = s.disks[1]!.last!;
  assert.equal(first.rv, data!.backups[0]!.ld);
  assert.equal(s.disks[1]!.previous, null);

  // Backup 2 (B) goes to generation 2; backup 3 (C) to the oldest, generation 1.
  await write(data!.ld, 0, B);
  assert.equal(srv.cli.run('backup', 'run', 'vm1', 'dc1').status, 0);
  s = show('vm1', 'dc1');
  assert.equal(s.disks[1]!.last!.rv, data!.backups[1]!.ld);
  assert.equal(s.disks[1]!.previous!.rv, data!.backups[0]!.ld);
  await write(data!.ld, 0, C);
  assert.equal(srv.cli.run('backup', 'run', 'vm1', 'dc1').status, 0);
  s = show('vm1', 'dc1');
  assert.equal(s.disks[1]!.last!.rv, data!.backups[0]!.ld, 'the third backup overwrote the oldest generation');
  assert.equal(s.disks[1]!.previous!.rv, data!.backups[1]!.ld);
  assert.ok(s.lastBackupTime! > s.previousBackupTime!);
  assert.deepEqual(
    s.disks.map((d) => d.backupState),
    ['backuped', 'backuped'],
  );

  // Overwrite, then restore from the previous backup (B), then from the last (C).
  await write(data!.ld, 0, D);
  await write(config!.ld, 0, crypto.randomBytes(64 * 1024));
  const restored = srv.cli.json<BackupJob>('backup', 'restore', 'vm1', 'dc1', '--from', 'previous', '--wait');
  assert.equal(restored.phase, 'Restore completed');
  assert.deepEqual(
    restored.disks.map((d) => d.disk),
    ['vm1_0.vmdk'],
    'data disks only by default',
  );
  assert.deepEqual(await read(data!.ld, 0, 2 * MiB), B);
  assert.equal(show('vm1', 'dc1').state, 'Restore completed');
  r = srv.cli.run('backup', 'restore', 'vm1', '--from', 'last', '--config', '--wait');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Restore completed \(copying in background\) \(VM dc1\/vm1: vm1\.vmx from \S+, vm1_0\.vmdk from \S+\)\nRestore completed\n$/);
  assert.deepEqual(await read(data!.ld, 0, 2 * MiB), C);
  assert.deepEqual(await read(config!.ld, 0, 64 * 1024), CFG, 'the config VVOL too, when asked');

  // The VM is usable and backs up again after restores; the relation of pairs is intact.
  await write(data!.ld, 0, A);
  assert.equal(srv.cli.run('backup', 'run', 'vm1', 'dc1').status, 0);
  assert.deepEqual(await read(data!.ld, 0, 2 * MiB), A);

  // Disk names, and the list.
  const list = srv.cli.json<VmBackupView[]>('backup', 'list');
  assert.ok(list.some((v) => v.vm === 'vm1' && v.datacenter === 'dc1' && v.generations === 2 && v.state === 'Backup completed'));
});

test('the quiesce hook keeps consistency; busy, cancel and the seed messages', { timeout: 120_000 }, async () => {
  const [, data] = await makeVm('vm2', 'dc1', { policy: 'bk1', hook: true });
  await write(data!.ld, 0, crypto.randomBytes(MiB));
  let r = srv.cli.run('backup', 'run', 'vm2', 'dc1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Success to online backup VM\(dc1\/vm2\)\.$/m);
  assert.deepEqual(fs.readFileSync(path.join(tmp, 'hook.log'), 'utf8').trim().split('\n'), ['freeze dc1/vm2', 'thaw dc1/vm2']);
  assert.equal(show('vm2', 'dc1').consistent, true);

  // Held in the hook: a second backup of the VM is refused; a restore too.
  fs.writeFileSync(path.join(tmp, 'block'), '');
  const job = srv.cli.json<BackupJob>('backup', 'run', 'vm2', 'dc1', '--no-wait');
  await until('the backup to reach the hook', () => fs.readFileSync(path.join(tmp, 'hook.log'), 'utf8').split('\n').length > 3);
  assert.equal(show('vm2', 'dc1').state, 'Backing up');
  r = srv.cli.run('backup', 'run', 'vm2', 'dc1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^KURA-E3711: Failed to back up for VM\(dc1\/vm2\)\. Backup is already running\.\n/);
  r = srv.cli.run('backup', 'restore', 'vm2', 'dc1', '--from', 'last');
  assert.match(r.stderr, /^KURA-E3734: /);

  // Cancel: the backup ends as "Backup failed" with the seed's message once the hook lets go.
  srv.cli.json('backup', 'cancel', 'vm2', 'dc1');
  fs.rmSync(path.join(tmp, 'block'));
  const ended = await until('the cancelled backup to end', () => {
    const j = srv.cli.json<BackupJob>('backup', 'job', job.id);
    return j.finished !== null && j;
  });
  assert.equal(ended.state, 'failed');
  assert.equal(ended.error!.id, 'KURA-E3713');
  assert.equal(ended.error!.message, 'Failed to back up VM(dc1/vm2).Backup is interrupted.');
  const s = show('vm2', 'dc1');
  assert.equal(s.state, 'Backup failed');
  assert.equal(s.message, 'Failed to back up VM(dc1/vm2).Backup is interrupted.');
  assert.equal(s.disks[1]!.generations[0]!.state, 'Backup failed');
  assert.equal(s.disks[1]!.backupState, 'no backup', 'the interrupted generation holds no valid backup');
  const ev = srv.cli.json<Array<{ id: string; text: string }>>('events', '--limit', '200');
  assert.ok(ev.some((e) => e.id === 'KURA-E3713' && e.text === 'Failed to back up VM(dc1/vm2).Backup is interrupted.'));
  assert.ok(ev.some((e) => e.id === 'KURA-I3700' && e.text.startsWith('Success to online backup VM(dc1/vm2).')));
  // The failed generation is the next target, and the VM backs up again.
  assert.equal(srv.cli.run('backup', 'run', 'vm2', 'dc1').status, 0);

  // Cancel with nothing running.
  r = srv.cli.run('backup', 'cancel', 'vm2', 'dc1');
  assert.match(r.stderr, /^KURA-E3714: /);
  // Specified VM does not exist.
  r = srv.cli.run('backup', 'run', 'nosuch', 'dc1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^KURA-E3700: Specified VM\(dc1\/nosuch\) does not exist\.\n/);
  // The backup policy is not set.
  await makeVm('vm3', 'dc1');
  r = srv.cli.run('backup', 'run', 'vm3', 'dc1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^KURA-E3701: The backup policy of VM\(dc1\/vm3\) is not set\.\n/);
  // Restore from previous with one generation.
  r = srv.cli.run('backup', 'restore', 'vm2', 'dc1', '--from', 'previous');
  assert.match(r.stderr, /^KURA-E3731: VM\(dc1\/vm2\) has no previous backup of disk vm2_0\.vmdk/);
  r = srv.cli.run('backup', 'restore', 'vm2', 'dc1', '--from', 'last', '--disk', 'nope.vmdk');
  assert.match(r.stderr, /^KURA-E3733: /);
  r = srv.cli.run('backup', 'restore', 'vm2', 'dc1', '--from', 'yesterday');
  assert.equal(r.status, 1);
  // Refused while the VM has a snapshot.
  const prep = await srv.api<{ prepareId: string }>('POST', '/vasa/snapshots/prepare', { ids: [data!.id] });
  const t = await srv.api<{ id: string }>('POST', `/vasa/snapshots/${prep.prepareId}/take`, { name: 's1' });
  await until('the snapshot', () => srv.cli.json<{ state: string }>('task', 'show', t.id).state === 'success');
  r = srv.cli.run('backup', 'restore', 'vm2', 'dc1', '--from', 'last');
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^KURA-E3730: If the target VM has a snapshot, the virtual device cannot be restored\.\n {2}Delete all snapshots in the target VM and restore the virtual device\.\n$/,
  );

  // The array refuses a verb (the RV is already another LD's RV): its message under "Failed to execute command(...)".
  const [, d5] = await makeVm('vm5', 'dc1', { policy: 'bk1' });
  srv.cli.json('ld', 'create', 'other5', '--pool', 'sys', '--size', '1GiB');
  srv.cli.json('pair', 'create', 'other5', ldName(d5!.backups[0]!.ld));
  r = srv.cli.run('backup', 'run', 'vm5', 'dc1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^KURA-E3703: Failed to execute command\(kura pair create\)\.\nKURA-E\d{4}: .*\n {2}Check the output message/);
  assert.equal(show('vm5', 'dc1').state, 'Backup failed');
  srv.cli.json('pair', 'delete', 'other5', ldName(d5!.backups[0]!.ld));
  srv.cli.json('ld', 'delete', 'other5');
  assert.equal(srv.cli.run('backup', 'run', 'vm5', 'dc1').status, 0, 'backs up once the RV is free');
});

/** Validates a relation file against schemas/relation.xsd with xmllint. */
function validate(file: string): void {
  const r = spawnSync('xmllint', ['--noout', '--schema', path.join(ROOT, 'schemas', 'relation.xsd'), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${file}: ${r.stderr}`);
}

const latestFiles = (): string[] => {
  const top = path.join(srv.dataDir, 'latestRelationBetweenVMandVVOL');
  return fs.existsSync(top) ? fs.readdirSync(top).flatMap((d) => fs.readdirSync(path.join(top, d)).map((f) => path.join(top, d, f))) : [];
};

test('relation file, VM-VVOL relation, backup script; deleted VMs leave their RVs listed; kura check clean', { timeout: 120_000 }, async () => {
  let w = srv.cli.json<{ written: boolean; file: string }>('provider', 'relation', 'write');
  const arrayDir = path.basename(path.dirname(w.file));
  assert.match(arrayDir, /^[0-9a-f]{16}_\S+$/);
  assert.match(path.basename(w.file), /^\d{14}\.xml$/);
  validate(w.file);
  assert.equal(srv.cli.json<{ written: boolean }>('provider', 'relation', 'write').written, false, 'no change, no file');

  const vm1 = srv.cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1');
  const rel = srv.cli.ok('vm', 'relation', 'vm1', 'dc1').split('\n');
  assert.equal(rel[0], '[VM]');
  assert.equal(rel[2], 'VM Name              : vm1');
  assert.equal(rel[4], 'DataCenter Name      : dc1');
  assert.ok(rel.includes('VMware Type          : config-vvol'));
  assert.ok(rel.includes('Disk File            : vm1_0.vmdk'));
  const data1 = vm1.find((v) => v.type === 'data')!;
  for (const b of data1.backups) assert.ok(rel.includes(b.ld.toString(16).padStart(4, '0')), `RV ${b.ld} listed`);
  // A VM newer than the relation file.
  await makeVm('vm4', 'dc2');
  let r = srv.cli.run('vm', 'relation', 'vm4', 'dc2');
  assert.match(r.stderr, /^KURA-E3705: Failed to get information of specified VM\(dc2\/vm4\) from VM-VVOL relation file\.\n/);
  r = srv.cli.run('vm', 'relation', 'nosuch', 'dc2');
  assert.match(r.stderr, /^KURA-E3700: /);

  // The backup script runs the backup.
  const script = path.join(tmp, 'backup-vm1.sh');
  srv.cli.ok('vm', 'backup-script', 'vm1', 'dc1', '--output', script);
  const ran = spawnSync('sh', [script], { env: { ...srv.env, PATH: `${path.join(tmp, 'bin')}:${process.env['PATH']}` }, encoding: 'utf8', cwd: srv.dataDir });
  assert.equal(ran.status, 0, ran.stderr);
  assert.match(ran.stdout, /^Success to online backup VM\(dc1\/vm1\)/m);

  // vm1 (no automatic deletion) goes: its RVs stay, listed as rvVVOLList with the VM's id.
  for (const v of vm1) await srv.api('DELETE', `/vasa/vvols/${v.id}`);
  w = srv.cli.json('provider', 'relation', 'write');
  assert.equal(w.written, true);
  validate(w.file);
  const xml = fs.readFileSync(w.file, 'utf8');
  for (const b of data1.backups)
    assert.match(xml, new RegExp(`<rvVVOL id="${b.ld.toString(16).padStart(4, '0')}" type="vmdk" mvVMid="${data1.metadata['VMW_VmID']}"/>`));
  assert.equal(latestFiles().length, 1, 'the older file left the latest folder');
  const zips = fs.readdirSync(path.join(srv.dataDir, 'RelationBetweenVMandVVOL', arrayDir));
  assert.ok(zips.length >= 1 && zips.every((z) => /^\d{14}\.zip$/.test(z)));

  // Everything goes (vm2's backups with it: auto-delete); the array is clean.
  for (const v of srv.cli.json<VvolView[]>('vvol', 'list').sort((a, b) => Number(b.snapshotOf !== null) - Number(a.snapshotOf !== null))) {
    const d = await srv.api<{ task: { id: string } | null }>('DELETE', `/vasa/vvols/${v.id}`);
    if (d.task) await until('the snapshot deletion', () => srv.cli.json<{ state: string }>('task', 'show', d.task!.id).state === 'success');
  }
  const left = srv.cli.json<LdInfo[]>('ld', 'list').filter((l) => l.vmwareType !== '---');
  assert.deepEqual(
    left.map((l) => l.number).sort(),
    [...data1.backups, ...vm1.find((v) => v.type === 'config')!.backups].map((b) => b.ld).sort(),
    "only vm1's kept backup volumes remain",
  );
  assert.equal(await srv.stop(), 0);
  const check = runKura(['check', '--data', srv.dataDir, '--json']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.deepEqual((JSON.parse(check.stdout) as { faults: string[] }).faults, []);
});
