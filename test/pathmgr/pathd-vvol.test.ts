// pathd and VVOLs: a PE (the administrative LU of a LUN conglomerate) is mapped
// to the host on both controllers' portals; a VVOL bound behind it for the host
// appears as a multipath device with two paths, exported over NBD under the
// VVOL's NAA id, and its bytes read with nbdcopy equal what was written through
// the array's own NBD export of the LD. Unbinding closes the export.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { vvolNaa } from '../../src/array/conglomerates/service.js';
import { IscsiFrontEnd } from '../../src/array/iscsi-front-end.js';
import { NbdServer } from '../../src/nbd/server.js';
import { showDevice } from '../../src/pathmgr/control-api.js';
import { PathLog } from '../../src/pathmgr/log.js';
import { PathManager } from '../../src/pathmgr/manager.js';

const MiB = 1 << 20;
// The NBD servers run in this process: the clients must not block its event loop.
const run = promisify(execFile);
const HOST_IQN = 'iqn.2026-11.test:esx-vvol';

function haveNbdcopy(): boolean {
  try {
    execFileSync('nbdcopy', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  "a bound VVOL becomes a two-path NBD export named by its NAA id with the LD's bytes; unbind closes it",
  { timeout: 45_000, skip: !haveNbdcopy() && 'nbdcopy (libnbd-bin) is not installed' },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pathd-vvol-'));
    const array = await KuraArray.open({
      dataDir: dir,
      portals: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0 },
      ],
    });
    const fe = new IscsiFrontEnd(array.frontEnd, { keepaliveMs: 0 });
    const arrayNbd = new NbdServer({ exports: array.frontEnd.exports() });
    // Closed last-opened first.
    const closers: Array<() => Promise<unknown>> = [
      async () => fs.rmSync(dir, { recursive: true, force: true }),
      () => array.close(),
      () => fe.close(),
      () => arrayNbd.close(),
    ];
    t.after(async () => {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    });
    await fe.listen();
    await arrayNbd.listen('127.0.0.1', 0);
    const ports = fe.server.addresses().map((a) => a.port);
    assert.equal(ports.length, 2);
    const m = new PathManager({
      portals: ports.map((port) => ({ host: '127.0.0.1', port })),
      initiatorName: HOST_IQN,
      log: new PathLog({ dir: path.join(dir, 'pathd-log') }),
      watcher: { interval: 1, threshold: 1, timeout: 5 },
      settings: { noPathRetryMs: 2000, commandTimeoutMs: 5000 },
    });
    const pathdNbd = new NbdServer({
      exports: {
        list: () => m.devices.map((d) => ({ name: d.name, description: d.id })),
        open: (name) => m.devices.find((d) => d.name === name),
      },
    });
    closers.push(
      () => m.close(),
      () => pathdNbd.close(),
    );
    await array.pools.createPool({ name: 'p', size: 128 * MiB, raid: 'RAID1' });
    await array.lds.createLd({ name: 'pe', pool: 'p', size: 4 * MiB });
    await array.lds.createLd({ name: 'v1', pool: 'p', size: 16 * MiB });
    await array.hosts.createHost('esx', [HOST_IQN]);
    await array.hosts.mapLun('esx', 'pe', 2);
    const pe = array.lds.getLd('pe').number;
    const v1 = array.lds.getLd('v1').number;
    array.conglomerates.markPe(pe);

    // Data written through the array's own NBD export of the VVOL's LD.
    const src = path.join(dir, 'written.bin');
    const data = crypto.randomBytes(16 * MiB);
    fs.writeFileSync(src, data);
    await run('nbdcopy', [src, `nbd://127.0.0.1:${arrayNbd.address().port}/v1`], { timeout: 20_000 });

    await pathdNbd.listen('127.0.0.1', 0);
    await m.rescan();
    assert.equal(m.devices.length, 1, 'the PE alone, like any LU');
    assert.equal(showDevice(m.devices[0]!).pe, null);
    m.start();

    const naa = `naa.${vvolNaa(array.wwn(), v1)}`;
    const slu = array.conglomerates.bind(pe, v1, 'esx');
    const dev = await until("the bound VVOL's device", () => m.devices.find((d) => d.name === naa && d.paths.length === 2));
    const shown = showDevice(dev);
    assert.equal(shown.export, naa);
    assert.equal(shown.id, naa, "named by the VVOL's NAA id");
    assert.equal(shown.slu, slu);
    assert.match(String(shown.pe), /^eui\.[0-9a-f]{16}$/, 'behind the PE, known by its EUI-64 id');
    assert.deepEqual(new Set(dev.paths.map((p) => p.portal)).size, 2, 'one path per controller portal');

    const out = path.join(dir, 'read.bin');
    await run('nbdcopy', [`nbd://127.0.0.1:${pathdNbd.address().port}/${naa}`, out], { timeout: 20_000 });
    assert.ok(fs.readFileSync(out).equals(data), 'the bytes through pathd equal those written through the array');

    array.conglomerates.unbind(pe, v1, 'esx');
    await until('the export to close', () => (m.devices.some((d) => d.name === naa) ? undefined : true));
    await assert.rejects(run('nbdcopy', [`nbd://127.0.0.1:${pathdNbd.address().port}/${naa}`, out], { timeout: 10_000 }), 'the export is gone');
    await assert.rejects(
      dev.read(0, 1),
      (e: { id?: string; message: string }) => /^KURA-E/.test(e.id ?? '') && /is gone/.test(e.message),
      'a client that still holds the device gets an error at once',
    );
    assert.equal(m.devices.length, 1, 'the PE stays');
  },
);
