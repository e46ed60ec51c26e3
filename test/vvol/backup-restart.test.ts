// A backup cut short by `kill -9` of `kura serve` (issue 12): after the restart
// the VM shows "Backup failed" with the seed's message, the generation that
// was being written is invalid, the other one still restores its bytes, the
// next backup goes into the failed generation, and `kura check` is clean.
// Also the provider settings (SetProviderConf) with the seed's lines and
// limits, kept across the restart.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LdInfo } from '../../src/array/agent.js';
import { NbdClient } from '../../src/nbd/client.js';
import type { VmBackupView } from '../../src/vvol/backup/engine.js';
import type { ProviderSettings } from '../../src/vvol/backup/settings.js';
import type { VvolView } from '../../src/vvol/model.js';
import { runKura } from '../helpers/cli.js';
import { readAll, writeAll } from '../helpers/nbd-io.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MiB = 2 ** 20;
let srv: TestServer;
let dataDir: string;
let tmp: string;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-backup-restart-'));
  dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  srv = await startServer({ dataDir, args: ['--no-demo'] });
});

after(async () => {
  await srv?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function io<T>(ld: number, fn: (c: NbdClient) => Promise<T>): Promise<T> {
  const name = srv.cli.json<LdInfo>('ld', 'show', String(ld)).name;
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: name });
  try {
    return await fn(c);
  } finally {
    await c.disconnect();
  }
}

async function until<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('provider settings: the seed lines, limits and messages', () => {
  const set = (...a: string[]) => srv.cli.run('provider', 'set', ...a);
  const r = set('--interval', '4');
  assert.equal(r.status, 1);
  assert.equal(r.stderr.split('\n')[0], 'KURA-E3800: ERROR:Invalid time value. Please set up an integer between 5 and 1440.');
  assert.match(set('--interval', '1441').stderr, /^KURA-E3800: /);
  assert.match(set('--interval', '7.5').stderr, /^KURA-E3800: /);
  assert.equal(set('--interval', '1440').stdout, 'Set successfully!\n');
  assert.equal(set('--user', 'admin!#$%', '--password', 'p@ss"w0rd\\').stdout, 'Set successfully!\n');
  assert.match(set('--user', 'has space', '--password', 'x').stderr, /^KURA-E3801: The user name of the provider account is invalid: it holds a space/);
  assert.match(set('--user', 'a'.repeat(256), '--password', 'x').stderr, /^KURA-E3801: .*256 characters/);
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) assert.equal(set('--add-array', ip).stdout, 'ADD successfully!\n');
  assert.match(set('--add-array', '10.0.0.5').stderr, /^KURA-E3802: Up to four disk arrays can be registered\./);
  assert.match(set('--add-array', '10.0.0.1').stderr, /^KURA-E3806: /);
  assert.match(set('--add-array', 'fe80::1').stderr, /^KURA-E3803: .*only IPv4 can be used/);
  assert.equal(set('--delete-array', '10.0.0.4').stdout, 'Delete successfully!\n');
  assert.match(set('--delete-array', '10.0.0.9').stderr, /^KURA-E3805: /);
  assert.match(
    set('--vcenter', '192.168.1.20', '--vcenter-user', 'admin;', '--vcenter-password', 'x').stderr,
    /^KURA-E3804: The vCenter Server user name is invalid: it holds ;/,
  );
  assert.match(
    set('--vcenter', '192.168.1.20', '--vcenter-user', 'admin', '--vcenter-password', 'a|b').stderr,
    /^KURA-E3804: The vCenter Server password is invalid/,
  );
  assert.equal(
    set('--vcenter', '192.168.1.20', '--vcenter-user', 'administrator@vsphere.local', '--vcenter-password', 'Secret!1').stdout,
    'Set successfully!\n',
  );
  const s = srv.cli.json<ProviderSettings>('provider', 'show');
  assert.deepEqual(s, {
    user: 'admin!#$%',
    arrays: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    vcenter: { ip: '192.168.1.20', port: 443, user: 'administrator@vsphere.local' },
    interval: 1440,
  });
  assert.ok(!JSON.stringify(s).includes('Secret'), 'passwords are not shown');
  assert.match(srv.cli.ok('provider', 'show'), /\[DISKARRAY\]\n10\.0\.0\.1\n10\.0\.0\.2\n10\.0\.0\.3/);
});

test('kill -9 during a backup: failed cleanly after the restart, nothing lost, kura check clean', { timeout: 180_000 }, async () => {
  for (const l of ['VirtualVolume', 'DynamicSnapVolume', 'DynamicDataReplication']) srv.cli.json('license', 'unlock', l);
  srv.cli.json('pool', 'create', 'sc0', '--size', '4GiB', '--container');
  srv.cli.json('pool', 'create', 'vvolbackup1', '--size', '4GiB', '--container');
  srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
  srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
  const warned = srv.cli.json<{ warnings: Array<{ id: string; text: string }> }>('policy', 'create', 'bk2', '--backup', '--generations', '2');
  assert.ok(warned);
  const hook = path.join(tmp, 'hook.sh');
  fs.writeFileSync(hook, `#!/bin/sh\necho "$1" >> ${tmp}/hook.log\nif [ "$1" = freeze ]; then while [ -e ${tmp}/block ]; do sleep 0.05; done; fi\n`, {
    mode: 0o755,
  });
  const made = await srv.api<{ vvol: VvolView; warnings: Array<{ id: string; text: string }> }>('POST', '/vasa/vvols', {
    container: 'sc0',
    type: 'data',
    size: '1GiB',
    vm: 'vm1',
    policy: 'bk2',
    metadata: { VMW_VmID: 'uuid-1', VMW_Datacenter: 'dc1', VMW_VVolName: 'vm1.vmdk', KURA_QuiesceHook: hook },
  });
  // One vvolbackup pool for two generations: the seed's warning.
  assert.deepEqual(
    made.warnings.map((w) => w.text),
    ['The disk array has only one pool for backup.'],
  );
  const v = made.vvol;
  const A = crypto.randomBytes(4 * MiB);
  const B = crypto.randomBytes(4 * MiB);
  await io(v.ld, (c) => writeAll(c, 0, A));
  assert.equal(srv.cli.run('backup', 'run', 'vm1', 'dc1').status, 0);

  // The second backup is held in the hook (pairs replicated, not yet separated) when the server dies.
  await io(v.ld, (c) => writeAll(c, 0, B));
  fs.writeFileSync(path.join(tmp, 'block'), '');
  const cli = srv.cli.spawn('backup', 'run', 'vm1', 'dc1');
  await until('the hook to be called', () => fs.readFileSync(path.join(tmp, 'hook.log'), 'utf8').trim().split('\n').length === 3);
  assert.equal(await srv.kill('SIGKILL'), 'SIGKILL');
  fs.rmSync(path.join(tmp, 'block'));
  assert.equal((await cli).status, 1, 'the waiting command fails');

  srv = await startServer({ dataDir, args: ['--no-demo'] });
  const s = await until('the recovery', () => {
    const x = srv.cli.json<VmBackupView>('backup', 'show', 'vm1', 'dc1');
    return x.state === 'Backup failed' && x;
  });
  assert.equal(s.message, 'Failed to back up VM(dc1/vm1).Backup is interrupted.');
  const d = s.disks[0]!;
  assert.equal(d.backupState, 'backuped');
  assert.equal(d.last!.rv, v.backups[0]!.ld, 'the first generation is kept');
  assert.equal(d.previous, null);
  assert.equal(d.generations[1]!.state, 'Backup failed');
  const events = srv.cli.json<Array<{ id: string }>>('events', '--limit', '500');
  assert.ok(events.some((e) => e.id === 'KURA-W3701'));

  // Nothing lost: the kept generation restores A.
  await io(v.ld, (c) => writeAll(c, 0, crypto.randomBytes(4 * MiB)));
  assert.equal(srv.cli.run('backup', 'restore', 'vm1', 'dc1', '--from', 'last', '--wait').status, 0);
  assert.deepEqual(await io(v.ld, (c) => readAll(c, 0, 4 * MiB)), A);
  // The next backup goes into the failed generation; then previous is A again.
  await io(v.ld, (c) => writeAll(c, 0, B));
  assert.equal(srv.cli.run('backup', 'run', 'vm1', 'dc1').status, 0);
  const t = srv.cli.json<VmBackupView>('backup', 'show', 'vm1', 'dc1');
  assert.equal(t.disks[0]!.last!.rv, v.backups[1]!.ld);
  assert.equal(t.disks[0]!.previous!.rv, v.backups[0]!.ld);
  // Settings survived the crash.
  assert.equal(srv.cli.json<ProviderSettings>('provider', 'show').interval, 1440);

  assert.equal(await srv.stop(), 0);
  const check = runKura(['check', '--data', dataDir, '--json']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.deepEqual((JSON.parse(check.stdout) as { faults: string[] }).faults, []);
});
