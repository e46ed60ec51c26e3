// The access mode of every kind of LD survives a restart, clean (SIGTERM) or not
// (kill -9): a snapshot (ESV) stays read-only, an RV stays read-only (separated
// with --rv-access ro) or not ready (while its pair mirrors), a separated rw RV
// stays writable. Checked the way hosts meet it: nbdinfo's is_read_only, a write
// over NBD, a WRITE(10) over iSCSI, `kura ld show --json`, and the snapshot's
// bytes, which a later restore must bring back unchanged.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { KuraArray } from '../../src/array/array.js';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { NbdClient } from '../../src/nbd/client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { run } from '../helpers/tools.js';
import { CHECK_CONDITION, DATA_PROTECT, GOOD, NOT_READY, UNIT_ATTENTION, cdb } from '../../src/scsi/spec/index.js';
import { INITIATOR, senseCodeOf } from '../iscsi/helpers.js';

const MiB = 2 ** 20;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-access-'));
let srv: TestServer | undefined;

after(async () => {
  await srv?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function ldJson(s: TestServer, name: string): { accessMode: string; number: number } {
  return JSON.parse(s.cli.ok('ld', 'show', name, '--json')) as { accessMode: string; number: number };
}

interface Expect {
  ld: string;
  mode: 'ReadOnly' | 'ReadWrite' | 'NotReady';
  /** Sense key of a refused iSCSI READ (a not-ready RV refuses reads too). */
  readSense?: number;
}

const EXPECT: Expect[] = [
  { ld: 'v@s', mode: 'ReadOnly' },
  { ld: 'rv-ro', mode: 'ReadOnly' },
  { ld: 'rv-nr', mode: 'NotReady', readSense: NOT_READY },
  { ld: 'rv-rw', mode: 'ReadWrite' },
];

let snapData: Buffer;

/** A WRITE(10) of `data` at LBA 0 (or a READ(10) of as much without data), past any unit attentions. */
async function iscsiIo(s: TestServer, lun: number, data: Buffer, write: boolean): Promise<{ status: number; key?: number }> {
  const ini = await IscsiInitiator.connect('127.0.0.1', s.iscsiPorts[0]);
  try {
    const l = await ini.login({ initiatorName: INITIATOR, targetName: s.iqn });
    assert.equal(l.status, 0);
    const blocks = data.length / 512;
    for (let i = 0; i < 10; i++) {
      const r = await ini.command(write ? { lun, cdb: cdb.write10(0, blocks), dataOut: data } : { lun, cdb: cdb.read10(0, blocks), readLength: data.length });
      const sense = senseCodeOf(r.sense);
      if (r.status !== GOOD && sense?.key === UNIT_ATTENTION) continue;
      return { status: r.status, key: sense?.key };
    }
    throw new Error('unit attentions never stopped');
  } finally {
    await ini.logout().catch(() => undefined);
  }
}

async function checkModes(s: TestServer, when: string): Promise<void> {
  for (const e of EXPECT) {
    const what = `${e.ld} ${when}`;
    const info = ldJson(s, e.ld);
    assert.equal(info.accessMode, e.mode, `ld show ${what}`);
    const ni = JSON.parse(run('nbdinfo', ['--json', s.nbdUri(e.ld)]).stdout || '{}') as { exports?: Array<{ is_read_only: boolean }> };
    assert.equal(ni.exports?.[0]?.is_read_only, e.mode !== 'ReadWrite', `nbdinfo is_read_only of ${what}`);
    const c = await NbdClient.connect({ host: s.nbdHost, port: s.nbdPort, exportName: e.ld });
    const junk = crypto.randomBytes(64 * 1024);
    const nbdWrite = c.write(0, junk).then(
      () => 'written',
      (err: Error) => `refused: ${err.message}`,
    );
    if (e.mode === 'ReadWrite') assert.equal(await nbdWrite, 'written', `NBD write to ${what}`);
    else assert.match(await nbdWrite, /^refused/, `NBD write to ${what}`);
    await c.disconnect();
    const w = await iscsiIo(s, info.number, junk, true);
    if (e.mode === 'ReadWrite') assert.equal(w.status, 0, `iSCSI WRITE to ${what}`);
    else assert.deepEqual(w, { status: CHECK_CONDITION, key: DATA_PROTECT }, `iSCSI WRITE to ${what}: CHECK CONDITION, DATA PROTECT`);
    const r = await iscsiIo(s, info.number, junk, false);
    if (e.readSense === undefined) assert.equal(r.status, 0, `iSCSI READ of ${what}`);
    else assert.deepEqual(r, { status: CHECK_CONDITION, key: e.readSense }, `iSCSI READ of ${what}: CHECK CONDITION, NOT READY`);
  }
  const c = await NbdClient.connect({ host: s.nbdHost, port: s.nbdPort, exportName: 'v@s' });
  assert.ok((await c.read(0, snapData.length)).equals(snapData), `the snapshot's bytes are unchanged ${when}`);
  await c.disconnect();
}

test('access modes of ESVs and RVs survive SIGTERM and kill -9 restarts', { timeout: 120_000 }, async () => {
  srv = await startServer({ dataDir, args: ['--no-demo'] });
  srv.cli.ok('pool', 'create', 'p', '--size', '5GiB', '--raid', '0', '--pds', '1');
  srv.cli.ok('license', 'unlock', 'DynamicSnapVolume');
  srv.cli.ok('license', 'unlock', 'DynamicDataReplication');
  srv.cli.ok('ld', 'create', 'ssv', '--pool', 'p', '--attr', 'ssv');
  for (const n of ['v', 'mv', 'rv-ro', 'rv-nr', 'rv-rw']) srv.cli.ok('ld', 'create', n, '--pool', 'p', '--size', '16MiB');
  snapData = crypto.randomBytes(MiB);
  const c = await NbdClient.connect({ host: srv.nbdHost, port: srv.nbdPort, exportName: 'v' });
  await c.write(0, snapData);
  await c.flush();
  await c.disconnect();
  srv.cli.ok('snapshot', 'create', 'v', '--name', 's');
  for (const rv of ['rv-ro', 'rv-nr', 'rv-rw']) {
    srv.cli.ok('pair', 'create', 'mv', rv);
    srv.cli.ok('pair', 'replicate', 'mv', rv, '--wait');
  }
  srv.cli.ok('pair', 'separate', 'mv', 'rv-ro', '--rv-access', 'ro');
  srv.cli.ok('pair', 'separate', 'mv', 'rv-rw', '--rv-access', 'rw');
  await checkModes(srv, 'before any restart');

  assert.equal(await srv.stop(), 0);
  srv = await startServer({ dataDir });
  await checkModes(srv, 'after SIGTERM and restart');

  await srv.kill('SIGKILL');
  srv = await startServer({ dataDir });
  await checkModes(srv, 'after kill -9 and restart');

  srv.cli.ok('snapshot', 'restore', 'v', 's');
  const back = await NbdClient.connect({ host: srv.nbdHost, port: srv.nbdPort, exportName: 'v' });
  assert.ok((await back.read(0, snapData.length)).equals(snapData), 'snapshot restore brings back the data as it was taken');
  await back.disconnect();
});

test('a data directory written before access modes were stored: its snapshots open read-only, with an event', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-access-old-'));
  try {
    const a = await KuraArray.open({ dataDir: dir });
    await a.pools.createPool({ name: 'p', size: 5 * 2 ** 30, raid: 'RAID0', pds: 1 });
    await a.licenses.unlockLicense('DynamicSnapVolume');
    await a.lds.createLd({ name: 'ssv', pool: 'p', size: 1, attr: 'ssv' });
    await a.lds.createLd({ name: 'v', pool: 'p', size: 16 * MiB });
    await a.snapshots.createSnapshot('v', 's');
    await a.close();
    // The schema of the earlier version: no read_only column at all.
    const db = new Database(path.join(dir, 'array', 'meta.db'));
    db.exec('ALTER TABLE ld DROP COLUMN read_only');
    db.close();
    const b = await KuraArray.open({ dataDir: dir });
    const events: string[] = [];
    b.events.onEvent((e) => events.push(`${e.id} ${e.text}`));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.lds.getLd('v@s').accessMode, 'ReadOnly');
    assert.equal(b.lds.getLd('v').accessMode, 'ReadWrite');
    assert.equal(b.frontEnd.exports().open('v@s')!.readOnly, true);
    assert.match(events.join('\n'), /^KURA-W2500 1 snapshot\(s\) \(v@s\) were stored as writable/m);
    await b.close();
    const c = await KuraArray.open({ dataDir: dir });
    assert.equal(c.lds.getLd('v@s').accessMode, 'ReadOnly', 'the correction is stored');
    await c.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
