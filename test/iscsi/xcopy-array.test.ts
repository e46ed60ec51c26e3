// EXTENDED COPY as VMware's full copy (VAAI XCOPY) uses it, through `kura serve`:
// two LDs of the array, named by the NAA designators the initiator reads from
// VPD page 0x83, copied from one to the other with the copy sent to either LU
// through either controller, and the bytes read back. An LD the initiator has
// not been mapped is no copy target, even though the array serves it to others.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import {
  ASSOC_LU,
  CHECK_CONDITION,
  DESIGNATOR_NAA,
  GOOD,
  UNIT_ATTENTION,
  UNREACHABLE_COPY_TARGET,
  VPD_DEVICE_IDENTIFICATION,
  cdb,
  parseDesignators,
} from '../../src/scsi/spec/index.js';
import { INITIATOR, INITIATOR2, pattern, senseCodeOf } from './helpers.js';
import { segmentDescriptor as segment, targetDescriptor, xcopyParams as xcopyList } from '../helpers/xcopy-params.js';

const BS = 512;
const MiB = 1 << 20;

let srv: TestServer;
const { ok: kura } = kuraCli(() => ({ env: srv.env, timeoutMs: 30_000 }));
const sessions: IscsiInitiator[] = [];

before(async () => {
  srv = await startServer();
});

after(async () => {
  for (const s of sessions) await s.logout().catch(() => undefined);
  await srv.cleanup();
});

async function login(ctl: number, initiatorName = INITIATOR): Promise<IscsiInitiator> {
  const ini = await IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[ctl]!);
  sessions.push(ini);
  const r = await ini.login({ initiatorName, targetName: srv.iqn });
  assert.equal(r.status, 0, `login through controller ${ctl}`);
  return ini;
}

async function drain(ini: IscsiInitiator, lun: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const r = await ini.command({ lun, cdb: cdb.testUnitReady() });
    if (r.status === 0) return;
    assert.equal(senseCodeOf(r.sense)?.key, UNIT_ATTENTION, `TEST UNIT READY on LUN ${lun}: ${JSON.stringify(senseCodeOf(r.sense))}`);
  }
  throw new Error(`unit attentions on LUN ${lun} never stopped`);
}

/** The LU's NAA designator (association: logical unit) from INQUIRY VPD page 0x83, as ESXi reads it. */
async function naaOf(ini: IscsiInitiator, lun: number): Promise<Buffer> {
  const r = await ini.command({ lun, cdb: cdb.inquiry(true, VPD_DEVICE_IDENTIFICATION, 256), readLength: 256 });
  assert.equal(r.status, GOOD, 'INQUIRY VPD 0x83');
  const naa = parseDesignators(r.dataIn).find((d) => d.assoc === ASSOC_LU && d.type === DESIGNATOR_NAA);
  if (!naa) throw new Error(`LUN ${lun} has no NAA designator`);
  return Buffer.from(naa.value);
}

function xcopy(ini: IscsiInitiator, lun: number, list: Buffer) {
  return ini.command({ lun, cdb: cdb.extendedCopy(list.length), dataOut: list });
}

async function write(ini: IscsiInitiator, lun: number, lba: number, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length; off += MiB) {
    const piece = data.subarray(off, Math.min(data.length, off + MiB));
    const r = await ini.command({ lun, cdb: cdb.write16(lba + off / BS, piece.length / BS), dataOut: piece });
    assert.equal(r.status, 0, `WRITE(16) at ${lba + off / BS}: ${JSON.stringify(senseCodeOf(r.sense))}`);
  }
}

async function read(ini: IscsiInitiator, lun: number, lba: number, blocks: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let done = 0; done < blocks; done += 2048) {
    const n = Math.min(2048, blocks - done);
    const r = await ini.command({ lun, cdb: cdb.read16(lba + done, n), readLength: n * BS });
    assert.equal(r.status, 0, `READ(16) at ${lba + done}`);
    out.push(r.dataIn);
  }
  return Buffer.concat(out);
}

test(
  'XCOPY between two LDs of kura serve: the destination reads back the source bytes, sent to either LU through either controller',
  { timeout: 90_000 },
  async () => {
    const src = (JSON.parse(kura('ld', 'create', 'xsrc', '--pool', 'pool0', '--size', '32MiB', '--json')) as { number: number }).number;
    const dst = (JSON.parse(kura('ld', 'create', 'xdst', '--pool', 'pool0', '--size', '32MiB', '--json')) as { number: number }).number;
    const ini = await login(0);
    await drain(ini, src);
    await drain(ini, dst);
    // 3 MiB + 5 blocks starting off a chunk boundary, so the copy crosses chunks on both sides.
    const blocks = 3 * 2048 + 5;
    const data = pattern(blocks * BS, 0x5eed);
    await write(ini, src, 1000, data);
    const srcNaa = await naaOf(ini, src);
    const dstNaa = await naaOf(ini, dst);
    assert.notDeepEqual(srcNaa, dstNaa, 'each LD has its own NAA designator');
    const targets = [targetDescriptor(srcNaa), targetDescriptor(dstNaa)];
    // ESXi splits a clone into segments; here two, the second longer than one MiB piece.
    const first = 2048;
    const list = xcopyList(1, targets, [segment(0, 1, first, 1000, 500), segment(0, 1, blocks - first, 1000 + first, 500 + first)]);
    const r = await xcopy(ini, dst, list);
    assert.equal(r.status, 0, `EXTENDED COPY sent to the destination: ${JSON.stringify(senseCodeOf(r.sense))}`);
    assert.ok((await read(ini, dst, 500, blocks)).equals(data), 'the destination holds the source bytes');
    assert.ok((await read(ini, dst, 0, 500)).equals(Buffer.alloc(500 * BS)), 'blocks before the copy are untouched');
    assert.ok((await read(ini, dst, 500 + blocks, 64)).equals(Buffer.alloc(64 * BS)), 'blocks after the copy are untouched');

    // COPY STATUS of list 1: completed, both segments, every byte.
    const rcr = Buffer.alloc(16);
    rcr[0] = 0x84;
    rcr[2] = 1;
    rcr.writeUInt32BE(64, 10);
    const st = await ini.command({ lun: dst, cdb: rcr, readLength: 64 });
    assert.equal(st.status, 0, 'RECEIVE COPY RESULTS (COPY STATUS)');
    assert.equal(st.dataIn[4]! & 0x7f, 0x01, 'COPY MANAGER STATUS: operation completed without errors');
    assert.equal(st.dataIn.readUInt16BE(5), 2, 'SEGMENTS PROCESSED');
    assert.equal(st.dataIn[7], 0x00, 'TRANSFER COUNT UNITS: bytes');
    assert.equal(st.dataIn.readUInt32BE(8), blocks * BS, 'TRANSFER COUNT');

    // The other direction through controller 1, sent to the source LU, onto a fresh range of xsrc's neighbour.
    const ini1 = await login(1);
    await drain(ini1, src);
    await drain(ini1, dst);
    const back = xcopyList(2, [targetDescriptor(dstNaa), targetDescriptor(srcNaa)], [segment(0, 1, 4096, 500, 40000)]);
    const r1 = await xcopy(ini1, src, back);
    assert.equal(r1.status, 0, `EXTENDED COPY through controller 1: ${JSON.stringify(senseCodeOf(r1.sense))}`);
    assert.ok((await read(ini1, src, 40000, 4096)).equals(data.subarray(0, 4096 * BS)), 'copied back through the other controller');
  },
);

test(
  'XCOPY to an LD the initiator is not mapped to is COPY ABORTED / UNREACHABLE COPY TARGET, even while another host uses it',
  { timeout: 90_000 },
  async () => {
    const mine = (JSON.parse(kura('ld', 'create', 'xmine', '--pool', 'pool0', '--size', '16MiB', '--json')) as { number: number }).number;
    const theirs = (JSON.parse(kura('ld', 'create', 'xtheirs', '--pool', 'pool0', '--size', '16MiB', '--json')) as { number: number }).number;
    // Before any host entry every initiator sees every LD: learn the other LD's NAA then.
    const probe = await login(0);
    await drain(probe, theirs);
    const theirsNaa = await naaOf(probe, theirs);
    await probe.logout();
    sessions.splice(sessions.indexOf(probe), 1);
    kura('host', 'create', 'xa', '--initiator', INITIATOR);
    kura('host', 'map', 'xa', 'xmine', '--lun', '1');
    kura('host', 'create', 'xb', '--initiator', INITIATOR2);
    kura('host', 'map', 'xb', 'xtheirs', '--lun', '1');
    try {
      const b = await login(0, INITIATOR2);
      await drain(b, 1);
      const secret = pattern(64 * BS, 0xbad);
      await write(b, 1, 0, secret);
      const a = await login(0, INITIATOR);
      await drain(a, 1);
      const mineNaa = await naaOf(a, 1);
      // Reading the other host's LD by copying it onto one's own.
      const steal = await xcopy(a, 1, xcopyList(3, [targetDescriptor(theirsNaa), targetDescriptor(mineNaa)], [segment(0, 1, 64, 0, 0)]));
      assert.equal(steal.status, CHECK_CONDITION, 'CHECK CONDITION');
      assert.deepEqual(senseCodeOf(steal.sense), UNREACHABLE_COPY_TARGET);
      assert.ok((await read(a, 1, 0, 64)).equals(Buffer.alloc(64 * BS)), 'nothing of the other LD arrived');
      // Writing over it is refused the same way.
      const smash = await xcopy(a, 1, xcopyList(4, [targetDescriptor(mineNaa), targetDescriptor(theirsNaa)], [segment(0, 1, 64, 0, 0)]));
      assert.deepEqual(senseCodeOf(smash.sense), UNREACHABLE_COPY_TARGET);
      assert.ok((await read(b, 1, 0, 64)).equals(secret), 'the other LD is unchanged');
    } finally {
      kura('host', 'delete', 'xa');
      kura('host', 'delete', 'xb');
      kura('host', 'access', 'stop', '--force');
    }
    assert.notEqual(mine, theirs);
  },
);
