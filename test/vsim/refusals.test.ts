// What kura vsim refuses, each with its id and sentence, against a real
// `kura serve` and `kura pathd`; removing a host drops the binds it held
// (reference counts) and the provider's events reach `kura events`; a bind the
// array cannot make comes back as the provider's seed message (VVM L2072).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { VvolView } from '../../src/vvol/model.js';
import type { VmInfo } from '../../src/vsim/hypervisor.js';
import { runKura } from '../helpers/cli.js';
import { startVsimWorld, type VsimWorld } from './fixture.js';

let w: VsimWorld;
before(async () => {
  w = await startVsimWorld({ initiator: 'iqn.2026-11.test:vsim-refusals' });
});
after(async () => {
  await w?.stop();
});

/** Runs kura ARGS, expects exit 1 and the error id with its sentence on stderr. */
function refused(args: string[], id: string, sentence: RegExp, env = w.env): void {
  const r = runKura(args, { env, cwd: w.srv.dataDir, timeoutMs: 120_000 });
  assert.equal(r.status, 1, `kura ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^${id}: `, 'm'), `kura ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, sentence, `kura ${args.join(' ')}: ${r.stderr}`);
}

test('kura vsim refusals, host removal dropping binds, provider events in kura events', { timeout: 600_000 }, async () => {
  const { cli } = w;
  // The host list and the hosts.
  const bad = path.join(w.dir, 'bad-state.json');
  fs.writeFileSync(bad, 'not json');
  refused(['vsim', 'host', 'list'], 'KURA-E3606', /The simulator's host list .*bad-state\.json cannot be used: not JSON/, { ...w.env, KURA_VSIM_STATE: bad });
  refused(['vsim', 'host', 'add', 'esx9', '--pathd', 'http://127.0.0.1:1'], 'KURA-E3600', /The pathd control API at http:\/\/127\.0\.0\.1:1 did not answer/);
  refused(['vsim', 'host', 'add', 'esx9', '--pathd', w.srv.url], 'KURA-E3601', /The pathd control API at .* answered 40\d/);
  cli.json('vsim', 'host', 'add', 'esx1', '--pathd', w.pathd.control);
  // A PE is shared at one LUN: a host whose LUN 0 holds another LD cannot take pe0.
  cli.json('ld', 'create', 'other', '--pool', 'sys', '--size', '64MiB');
  cli.json('host', 'create', 'esx2', '--initiator', 'iqn.2026-11.test:other');
  cli.json('host', 'map', 'esx2', 'other', '--lun', '0');
  refused(
    ['vsim', 'host', 'add', 'esx2', '--pathd', w.pathd.control],
    'KURA-E3603',
    /Protocol endpoint pe0 is at LUN 0 on the other hosts, but host esx2 uses LUN 0 for LD other\./,
  );
  cli.json('host', 'delete', 'esx2');

  // VMs.
  refused(['vsim', 'vm', 'show', 'nosuch'], 'KURA-E3610', /No virtual machine nosuch has VVOLs on this array\./);
  cli.json('vsim', 'vm', 'create', 'vm1', '--container', 'sc0', '--disk', '1GiB', '--datacenter', 'dc7');
  refused(
    ['vsim', 'vm', 'create', 'vm1', '--container', 'sc1', '--disk', '1GiB'],
    'KURA-E3611',
    /A virtual machine vm1 already exists \(in datacenter dc7\)\./,
  );
  refused(['vsim', 'vm', 'power-off', 'vm1'], 'KURA-E3613', /Virtual machine vm1 is already powered off\./);
  refused(['vsim', 'vm', 'power-on', 'vm1', '--host', 'esx5'], 'KURA-E3602', /The simulator knows no host esx5\./);
  refused(
    ['vsim', 'vm', 'clone', 'vm1', 'vm1c', '--linked', '--container', 'sc1'],
    'KURA-E3619',
    /--container is not valid: a linked clone shares its source's data, so it stays in container sc0\./,
  );
  let vm = cli.json<VmInfo>('vsim', 'vm', 'power-on', 'vm1', '--host', 'esx1');
  assert.equal(vm.datacenter, 'dc7');
  refused(['vsim', 'vm', 'power-on', 'vm1', '--host', 'esx1'], 'KURA-E3614', /Virtual machine vm1 is already powered on \(host esx1\)\./);
  refused(
    ['vsim', 'vm', 'migrate', 'vm1', '--container', 'sc1'],
    'KURA-E3612',
    /Virtual machine vm1 is powered on \(host esx1\); a migration needs it powered off\./,
  );
  refused(['vsim', 'vm', 'delete', 'vm1'], 'KURA-E3612', /Virtual machine vm1 is powered on \(host esx1\); deleting it needs it powered off\./);
  cli.json('vsim', 'vm', 'snapshot', 'vm1', '--name', 's1');
  refused(['vsim', 'vm', 'snapshot', 'vm1', '--name', 's1'], 'KURA-E3616', /Virtual machine vm1 already has a snapshot s1\./);
  refused(['vsim', 'vm', 'revert', 'vm1', '--snapshot', 's9'], 'KURA-E3615', /Virtual machine vm1 has no snapshot s9\./);

  // Removing a host that runs a VM needs --force; its binds go with its host entry.
  refused(['vsim', 'host', 'remove', 'esx1'], 'KURA-E3605', /Host esx1 still runs vm1\./);
  cli.json('vsim', 'host', 'remove', 'esx1', '--force');
  assert.deepEqual(cli.json<unknown[]>('vsim', 'host', 'list'), []);
  assert.deepEqual(
    cli.json<VvolView[]>('vvol', 'list', '--vm', 'vm1').map((v) => v.boundPes),
    [[], [], [], [], [], []],
    'no VVOL of vm1 (config, data, swap, two snapshots, memory) is bound any more',
  );
  vm = cli.json<VmInfo>('vsim', 'vm', 'show', 'vm1');
  assert.equal(vm.power, 'off');
  refused(
    ['vsim', 'vm', 'migrate', 'vm1', '--container', 'sc1'],
    'KURA-E3618',
    /Virtual machine vm1 has 1 snapshot\(s\); a migration moves only VMs without snapshots\./,
  );

  // The provider's events are in the manager's event list.
  const events = cli.json<Array<{ id: string; source: string; text: string }>>('events');
  assert.ok(
    events.some((e) => e.id === 'KURA-I3102' && e.source === 'vasa/esx1' && /Host esx1 deleted: its binds on 3 VVOL\(s\) dropped\./.test(e.text)),
    JSON.stringify(events.slice(-10)),
  );
  assert.ok(events.some((e) => e.id === 'KURA-I3040' && e.source.startsWith('vasa/naa.6') && /created for VM vm1/.test(e.text)));
  assert.ok(events.some((e) => e.id === 'KURA-I3150' && /Snapshot s1 of VVOL/.test(e.text)));

  // A bind the array cannot make: the VVOL's LD was deleted behind the provider's back (VVM L2072).
  cli.json('vsim', 'host', 'add', 'esx1', '--pathd', w.pathd.control);
  const data = vm.vvols.find((v) => v.type === 'data')!;
  cli.json('snapshot', 'delete', String(data.ld), 's1');
  cli.json('ld', 'delete', String(data.ld), '--force');
  refused(
    ['vsim', 'vm', 'power-on', 'vm1', '--host', 'esx1'],
    'KURA-E3620',
    new RegExp(`Power on of vm1 failed for VVOL ${data.id}: KURA-E3044 The specified LD does not exist\\.`),
  );
  assert.equal(cli.json<VmInfo>('vsim', 'vm', 'show', 'vm1').power, 'off', 'the binds that were made are undone');
});
