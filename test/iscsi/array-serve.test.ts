// The iSCSI target as `kura serve` runs it: one target with a portal per
// controller, LUNs from the array's host entries, ALUA states that follow
// controller faults, ports that fault injection takes down, persistent
// reservations with APTPL that survive a restart, and real clients on top.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import {
  CHECK_CONDITION,
  GOOD,
  LOGICAL_UNIT_NOT_SUPPORTED,
  PRIN_READ_KEYS,
  PROUT_REGISTER,
  PROUT_RESERVE,
  PR_TYPE_WRITE_EXCLUSIVE,
  RESERVATION_CONFLICT,
  UNIT_ATTENTION,
  cdb,
  parseTargetPortGroups,
  prOutParams,
} from '../../src/scsi/spec/index.js';
import type { AluaState } from '../../src/scsi/spec/index.js';
import { INITIATOR, INITIATOR2, ok, pattern, qemuIscsiDriverPresent, run, senseCodeOf } from './helpers.js';

const MiB = 1 << 20;

let srv: TestServer;

before(async () => {
  srv = await startServer();
});

after(async () => {
  await srv.cleanup();
});

async function login(s: TestServer, ctl: number, initiatorName = INITIATOR): Promise<IscsiInitiator> {
  const ini = await IscsiInitiator.connect('127.0.0.1', s.iscsiPorts[ctl]!);
  const r = await ini.login({ initiatorName, targetName: s.iqn });
  assert.equal(r.status, 0, `login through controller ${ctl}`);
  return ini;
}

/** Runs TEST UNIT READY until the unit attentions are drained; returns them as "ASC/ASCQ". */
async function drainUnitAttentions(ini: IscsiInitiator, lun: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await ini.command({ lun, cdb: cdb.testUnitReady() });
    if (r.status === 0) return seen;
    const s = senseCodeOf(r.sense)!;
    assert.equal(s.key, UNIT_ATTENTION, `TEST UNIT READY failed with sense ${JSON.stringify(s)}`);
    seen.push(`${s.asc.toString(16).padStart(2, '0')}/${s.ascq.toString(16).padStart(2, '0')}`);
  }
  throw new Error(`unit attentions never stopped: ${seen.join(', ')}`);
}

interface PortGroup {
  id: number;
  state: AluaState | undefined;
  ports: number[];
}

/** REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0x0A). */
async function reportTargetPortGroups(ini: IscsiInitiator, lun: number): Promise<PortGroup[]> {
  const r = await ini.command({ lun, cdb: cdb.reportTargetPortGroups(1024), readLength: 1024 });
  assert.equal(r.status, GOOD, `RTPG: ${JSON.stringify(senseCodeOf(r.sense))}`);
  return parseTargetPortGroups(r.dataIn).map((g) => ({ id: g.id, state: g.state, ports: g.relativeTargetPortIds }));
}

const AO = 'active/optimized';
const ANO = 'active/non-optimized';
const UNAVAILABLE = 'unavailable';

test('SendTargets on either controller port lists the array target with both portals; the demo LD is LUN 0 on both', { timeout: 90_000 }, async () => {
  for (const port of srv.iscsiPorts) {
    const out = await ok('iscsi-ls', ['-s', `iscsi://127.0.0.1:${port}`]);
    for (const p of srv.iscsiPorts) assert.ok(out.includes(`Target:${srv.iqn} Portal:127.0.0.1:${p},`), out);
    assert.match(out, /Lun:0\s+Type:DIRECT_ACCESS/);
  }
  const rc = await ok('iscsi-readcapacity16', [srv.iscsiUrl(0, 1)]);
  assert.match(rc, /Total size:1073741824/);
  assert.match(rc, /LBPME:1/);
  const inq = await ok('iscsi-inq', [srv.iscsiUrl(0)]);
  assert.match(inq, /TPGS:1/);
});

test(
  "ALUA: the default owner's port is active/optimized, the other active/non-optimized, in REPORT TARGET PORT GROUPS through either port",
  { timeout: 90_000 },
  async () => {
    for (const ctl of [0, 1]) {
      const ini = await login(srv, ctl);
      await drainUnitAttentions(ini, 0);
      const groups = await reportTargetPortGroups(ini, 0);
      assert.deepEqual(groups, [
        { id: 0, state: AO, ports: [1] },
        { id: 1, state: ANO, ports: [2] },
      ]);
      await ini.logout();
    }
  },
);

test(
  'controller-down drops its port and moves the LD: the survivor reports active/optimized with ASYMMETRIC ACCESS STATE CHANGED, and back on controller-up',
  { timeout: 90_000 },
  async () => {
    const ini1 = await login(srv, 1);
    const ini0 = await login(srv, 0);
    await drainUnitAttentions(ini1, 0);
    await drainUnitAttentions(ini0, 0);
    const data = pattern(64 * 1024, 7);
    const w = await ini0.command({ lun: 0, cdb: cdb.write10(2048, 128), dataOut: data });
    assert.equal(w.status, 0);

    srv.cli.ok('fault', 'controller-down', '0');
    await ini0.waitClosed();
    await assert.rejects(IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[0]), /ECONNREFUSED/);
    assert.deepEqual(await drainUnitAttentions(ini1, 0), ['2a/06']);
    assert.deepEqual(await reportTargetPortGroups(ini1, 0), [
      { id: 0, state: UNAVAILABLE, ports: [1] },
      { id: 1, state: AO, ports: [2] },
    ]);
    const r = await ini1.command({ lun: 0, cdb: cdb.read10(2048, 128), readLength: data.length });
    assert.equal(r.status, 0);
    assert.ok(r.dataIn.equals(data), 'the data written through controller 0 reads back through controller 1');

    srv.cli.ok('fault', 'controller-up', '0');
    assert.deepEqual(await drainUnitAttentions(ini1, 0), ['2a/06']);
    assert.deepEqual(await reportTargetPortGroups(ini1, 0), [
      { id: 0, state: AO, ports: [1] },
      { id: 1, state: ANO, ports: [2] },
    ]);
    const back = await login(srv, 0);
    await back.logout();
    await ini1.logout();
  },
);

test("port-down drops the port's connections and refuses new ones; port-up serves again", { timeout: 90_000 }, async () => {
  const ini = await login(srv, 1);
  srv.cli.ok('fault', 'port-down', `127.0.0.1:${srv.iscsiPorts[1]}`);
  await ini.waitClosed();
  await assert.rejects(IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[1]), /ECONNREFUSED/);
  const ls = await ok('iscsi-ls', ['-s', `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]);
  assert.match(ls, /Lun:0/);
  srv.cli.ok('fault', 'port-up', `127.0.0.1:${srv.iscsiPorts[1]}`);
  const again = await login(srv, 1);
  await drainUnitAttentions(again, 0);
  await again.logout();
});

test(
  'access control: once a host entry exists an initiator sees only the LUNs mapped to it; mapping changes raise REPORTED LUNS DATA HAS CHANGED',
  { timeout: 90_000 },
  async () => {
    srv.cli.ok('ld', 'create', 'acl1', '--pool', 'pool0', '--size', '64MiB');
    const ini = await login(srv, 0, INITIATOR);
    await drainUnitAttentions(ini, 0);
    srv.cli.ok('host', 'create', 'h1', '--initiator', INITIATOR);
    srv.cli.ok('host', 'map', 'h1', 'acl1', '--lun', '3');
    try {
      const lsMine = await ok('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]);
      assert.match(lsMine, /Lun:3\s+Type:DIRECT_ACCESS \(Size:63M\)/);
      assert.doesNotMatch(lsMine, /Lun:0/);
      const lsOther = await ok('iscsi-ls', ['-s', '-i', INITIATOR2, `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]);
      assert.doesNotMatch(lsOther, /Lun:/);
      // The session that saw LUN 0 before is told its LUN inventory changed.
      const r = await ini.command({ lun: 0, cdb: cdb.testUnitReady() });
      assert.equal(r.status, CHECK_CONDITION);
      assert.deepEqual(senseCodeOf(r.sense), LOGICAL_UNIT_NOT_SUPPORTED, 'LUN 0 is gone for this initiator');
      const r3 = await ini.command({ lun: 3, cdb: cdb.testUnitReady() });
      assert.equal(r3.status, CHECK_CONDITION);
      assert.equal(senseCodeOf(r3.sense)!.key, UNIT_ATTENTION);
      await ini.logout();
    } finally {
      srv.cli.ok('host', 'delete', 'h1');
    }
    // Deleting the last host entry leaves access control on; stopping it opens the array again.
    assert.doesNotMatch(await ok('iscsi-ls', ['-s', '-i', INITIATOR2, `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]), /Lun:/);
    srv.cli.ok('host', 'access', 'stop', '--force');
    const lsOpen = await ok('iscsi-ls', ['-s', '-i', INITIATOR2, `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]);
    assert.match(lsOpen, /Lun:0\s/);
    srv.cli.ok('ld', 'delete', 'acl1');
  },
);

test('ld expand: the LU reports CAPACITY DATA HAS CHANGED and the new size', { timeout: 90_000 }, async () => {
  const info = JSON.parse(srv.cli.ok('ld', 'create', 'grow1', '--pool', 'pool0', '--size', '32MiB', '--json')) as { number: number };
  const ini = await login(srv, 0);
  await drainUnitAttentions(ini, info.number);
  srv.cli.ok('ld', 'expand', 'grow1', '--size', '48MiB');
  assert.deepEqual(await drainUnitAttentions(ini, info.number), ['2a/09']);
  const r = await ini.command({ lun: info.number, cdb: cdb.readCapacity16(), readLength: 32 });
  assert.equal(r.status, 0);
  assert.equal(Number(r.dataIn.readBigUInt64BE(0)) + 1, (48 * MiB) / 512);
  await ini.logout();
  srv.cli.ok('ld', 'delete', 'grow1');
});

test('qemu-img convert to and from an iscsi:// URL of kura serve, through the second controller', { timeout: 90_000 }, async () => {
  assert.ok(qemuIscsiDriverPresent(), 'qemu-img needs the iscsi block driver: apt-get install qemu-block-extra');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-iscsi-serve-'));
  try {
    const info = JSON.parse(srv.cli.ok('ld', 'create', 'qimg', '--pool', 'pool0', '--size', '16MiB', '--json')) as { number: number };
    const src = path.join(dir, 'src.raw');
    const back = path.join(dir, 'back.raw');
    fs.writeFileSync(src, crypto.randomBytes(16 * MiB));
    await ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, srv.iscsiUrl(info.number, 1)]);
    await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', srv.iscsiUrl(info.number, 0), back]);
    assert.ok(fs.readFileSync(back).equals(fs.readFileSync(src)));
    srv.cli.ok('ld', 'delete', 'qimg');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function readKeys(ini: IscsiInitiator, lun: number): Promise<bigint[]> {
  const r = await ini.command({ lun, cdb: cdb.persistentReserveIn(PRIN_READ_KEYS, 4096), readLength: 4096 });
  assert.equal(r.status, 0);
  const n = r.dataIn.readUInt32BE(4) / 8;
  return Array.from({ length: n }, (_, i) => r.dataIn.readBigUInt64BE(8 + i * 8));
}

test('persistent reservations with APTPL survive kill -9 and restart; without APTPL they do not', { timeout: 90_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-iscsi-aptpl-'));
  let s = await startServer({ dataDir: dir });
  try {
    s.cli.ok('ld', 'create', 'shared', '--pool', 'pool0', '--size', '16MiB');
    s.cli.ok('ld', 'create', 'volatile', '--pool', 'pool0', '--size', '16MiB');
    const a = await login(s, 0, INITIATOR);
    await drainUnitAttentions(a, 1);
    await drainUnitAttentions(a, 2);
    // LUN 1 ("shared"): register with APTPL and take a WRITE EXCLUSIVE reservation.
    assert.equal((await a.command({ lun: 1, cdb: cdb.persistentReserveOut(PROUT_REGISTER), dataOut: prOutParams(0n, 0xabcdn, { aptpl: true }) })).status, 0);
    assert.equal(
      (await a.command({ lun: 1, cdb: cdb.persistentReserveOut(PROUT_RESERVE, PR_TYPE_WRITE_EXCLUSIVE), dataOut: prOutParams(0xabcdn, 0n) })).status,
      0,
    );
    // LUN 2 ("volatile"): register without APTPL.
    assert.equal((await a.command({ lun: 2, cdb: cdb.persistentReserveOut(PROUT_REGISTER), dataOut: prOutParams(0n, 0x1234n) })).status, 0);
    assert.deepEqual(await readKeys(a, 2), [0x1234n]);
    a.close();
    assert.equal(await s.kill('SIGKILL'), 'SIGKILL');

    s = await startServer({ dataDir: dir });
    const b = await login(s, 1, INITIATOR2);
    await drainUnitAttentions(b, 1);
    await drainUnitAttentions(b, 2);
    assert.deepEqual(await readKeys(b, 1), [0xabcdn], 'the APTPL registration survived');
    assert.deepEqual(await readKeys(b, 2), [], 'the registration without APTPL is gone');
    const w = await b.command({ lun: 1, cdb: cdb.write10(0, 1), dataOut: Buffer.alloc(512, 1) });
    assert.equal(w.status, RESERVATION_CONFLICT, 'the reservation still fences other initiators');
    await b.logout();
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('CHAP: a host entry with CHAP must authenticate, others need not; mutual CHAP proves the target; both can be cleared', { timeout: 90_000 }, async () => {
  const portal = `127.0.0.1:${srv.iscsiPorts[0]}`;
  srv.cli.ok('host', 'create', 'chapped', '--initiator', INITIATOR);
  srv.cli.ok('host', 'map', 'chapped', 'demo0', '--lun', '0');
  srv.cli.ok('host', 'create', 'open', '--initiator', INITIATOR2);
  srv.cli.ok('host', 'map', 'open', 'demo0', '--lun', '0');
  try {
    // Too short a secret is refused with its id; nothing changes.
    const short = srv.cli.run('host', 'set-chap', 'chapped', '--user', 'alice', '--secret', 'short');
    assert.equal(short.status, 1);
    assert.match(short.stderr, /KURA-E2101/);
    assert.match(await ok('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://${portal}`]), /Lun:0/);

    const secretFile = path.join(os.tmpdir(), `kura-chap-${process.pid}`);
    fs.writeFileSync(secretFile, 'alice-secret-123\n', { mode: 0o600 });
    const listed = JSON.parse(srv.cli.ok('host', 'set-chap', 'chapped', '--user', 'alice', '--secret-file', secretFile, '--json')) as {
      chap: { user: string } | null;
    };
    fs.rmSync(secretFile);
    assert.deepEqual(listed.chap, { user: 'alice' }, 'the API shows the user, never the secret');
    assert.doesNotMatch(srv.cli.ok('host', 'list', '--json'), /alice-secret/);

    const without = await run('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://${portal}`]);
    assert.notEqual(without.status, 0, 'an initiator of a CHAP host cannot log in without CHAP');
    const wrong = await run('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://alice%wrong-secret-99@${portal}`]);
    assert.notEqual(wrong.status, 0, 'a wrong secret is refused');
    assert.match(await ok('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://alice%alice-secret-123@${portal}`]), /Lun:0/);
    assert.match(await ok('iscsi-ls', ['-s', '-i', INITIATOR2, `iscsi://${portal}`]), /Lun:0/, 'a host without CHAP logs in without it');

    // Mutual CHAP: the initiator checks the target's answer.
    srv.cli.ok('target', 'set-chap', '--user', 'array1', '--secret', 'array-secret-456');
    assert.match(srv.cli.ok('target', 'show'), /Mutual CHAP\s+: user array1/);
    const good = { ...process.env, LIBISCSI_CHAP_TARGET_USERNAME: 'array1', LIBISCSI_CHAP_TARGET_PASSWORD: 'array-secret-456' };
    assert.match(await ok('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://alice%alice-secret-123@${portal}`], { env: good }), /Lun:0/);
    const bad = { ...process.env, LIBISCSI_CHAP_TARGET_USERNAME: 'array1', LIBISCSI_CHAP_TARGET_PASSWORD: 'not-the-array-secret' };
    const impostor = await run('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://alice%alice-secret-123@${portal}`], { env: bad });
    assert.notEqual(impostor.status, 0, 'the initiator refuses a target that does not know the mutual secret');

    srv.cli.ok('host', 'clear-chap', 'chapped');
    srv.cli.ok('target', 'clear-chap');
    assert.match(await ok('iscsi-ls', ['-s', '-i', INITIATOR, `iscsi://${portal}`]), /Lun:0/, 'after clear-chap the host logs in without CHAP');
  } finally {
    srv.cli.ok('host', 'delete', 'chapped');
    srv.cli.ok('host', 'delete', 'open');
    srv.cli.ok('host', 'access', 'stop', '--force');
  }
});
