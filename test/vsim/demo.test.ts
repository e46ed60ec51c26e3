// `kura vsim demo` against a fresh `kura serve`: it prepares what it needs
// (licences, SSV, containers, a PE, a pathd of its own and a host), runs the VM
// lifecycle with its byte checks through pathd, prints each step, and leaves the
// array as it found it (no VVOL, no host, no pool of its own). Against a
// host whose pathd misbehaves (test/vsim/fake-pathd.ts) it stops with the
// step and the reason, and still removes what it created.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VvolView } from '../../src/vvol/model.js';
import type { PathdDevice } from '../../src/vsim/pathd-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startFakePathd, startNullNbd } from './fake-pathd.js';

let srv: TestServer;
before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
});
after(async () => {
  await srv?.cleanup();
});

test('kura vsim demo runs a whole VM lifecycle and cleans up after itself', { timeout: 600_000 }, async () => {
  const r = await srv.cli.spawn('vsim', 'demo');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const step of [
    /^Licences for VVOLs, snapshots, clones and replication: unlocked VirtualVolume/m,
    /^Host side: kura pathd on the array portals: control http:\/\/127\.0\.0\.1:\d+/m,
    /^Create VM vsimdemo-vm: config naa\.6[0-9a-f]{31}, data naa\.6[0-9a-f]{31}, swap naa\.6[0-9a-f]{31}/m,
    /^Power on vsimdemo-vm at vsimdemo-esx: data disk at nbd:\/\/127\.0\.0\.1:\d+\/naa\.6[0-9a-f]{31}/m,
    /^Check the data after the revert: 8 MiB read through nbd:\/\/\S+ equal the data of s1/m,
    /^Migrate vsimdemo-full to vsimdemo-b: now in vsimdemo-b/m,
    /^Power on vsimdemo-full, check its data, power off: 8 MiB read through \S+ equal the data of vsimdemo-vm at the clone/m,
    /^Remove what the demo created: VMs, host vsimdemo-esx, pathd, PE vsimdemo-pe, container vsimdemo-b, container vsimdemo-a, SSV vsimdemo-ssv, pool vsimdemo-sys/m,
  ])
    assert.match(r.stdout, step);
  assert.match(r.stderr, /full clone of vsimdemo-vm to vsimdemo-full: 100%/, 'progress of the full clone');
  assert.deepEqual(srv.cli.json<unknown[]>('vvol', 'list'), []);
  assert.deepEqual(srv.cli.json<unknown[]>('host', 'list'), []);
  assert.deepEqual(srv.cli.json<unknown[]>('pool', 'list'), []);
});

/** A pathd that exports every bound VVOL of the array under its id, at `nbd`. */
const devicesOf = async (): Promise<PathdDevice[]> =>
  (await srv.api<VvolView[]>('GET', '/vasa/vvols'))
    .filter((v) => v.boundPes.length > 0)
    .map((v) => ({ id: v.id, export: v.id, pe: null, slu: null, paths: [{ portal: 'fake', state: 'active' }] }));

async function assertClean(what: string): Promise<void> {
  assert.deepEqual(await srv.api('GET', '/vasa/vvols'), [], `${what}: no VVOL left`);
  assert.deepEqual(await srv.api('GET', '/hosts'), [], `${what}: no host left`);
  assert.deepEqual(await srv.api('GET', '/pools'), [], `${what}: no pool left`);
}

test('kura vsim demo stops on a host that loses writes or cannot be reached over NBD, and removes what it made', { timeout: 300_000 }, async () => {
  // The host's storage drops every write: the first check of the guest's bytes fails.
  const nul = await startNullNbd();
  const lossy = await startFakePathd({ initiator: 'iqn.2026-11.test:vsim-lossy', nbd: nul.nbd, devices: devicesOf });
  try {
    const r = await srv.cli.spawn('vsim', 'demo', '--pathd', lossy.control);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Power on vsimdemo-vm at vsimdemo-esx: data disk at nbd:\/\/127\.0\.0\.1:\d+\/naa\.6/m);
    assert.match(r.stderr, /^KURA-E3623: The bytes read back through pathd differ from those written: what was written\.\n/);
  } finally {
    await lossy.stop();
    await nul.stop();
  }
  await assertClean('after the data mismatch');

  // The host's NBD listener is not there: the power on cannot write the VMX file.
  const deaf = await startFakePathd({ initiator: 'iqn.2026-11.test:vsim-deaf', nbd: '127.0.0.1:1', devices: devicesOf });
  try {
    const r = await srv.cli.spawn('vsim', 'demo', '--pathd', deaf.control);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^KURA-E3622: The demo stopped at "Power on vsimdemo-vm at vsimdemo-esx": .*ECONNREFUSED.*\.\n/);
  } finally {
    await deaf.stop();
  }
  await assertClean('after the failed power on');
});
