// `kura vsim demo` against a fresh `kura serve`: it prepares what it needs
// (licences, SSV, containers, a PE, a pathd of its own and a host), runs the VM
// lifecycle with its byte checks through pathd, prints each step, and leaves the
// array as it found it (no VVOL, no host, no pool of its own).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

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
