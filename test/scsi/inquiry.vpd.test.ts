// INQUIRY standard data and the VPD pages, parsed field by field as an
// initiator (sg_inq, libiscsi) reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, parseDesignators, INVALID_FIELD_IN_CDB } from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, expectGood, expectSense, fixture } from './helpers.js';

test('standard INQUIRY: SPC-4, TPGS implicit, HiSup, CmdQue, padded ASCII, version descriptors', async (t) => {
  const f = await fixture(t);
  const r = await f.exec(cdb.inquiry(false, 0, 260));
  expectGood(r);
  const d = r.dataIn!;
  assert.ok(d.length >= 36);
  assert.equal(d[0], 0x00, 'qualifier 0, direct access block device');
  assert.equal(d[1]! & 0x80, 0, 'not removable');
  assert.equal(d[2], 0x06, 'SPC-4');
  assert.equal(d[3]! & 0x0f, 2, 'response data format 2');
  assert.equal(d[3]! & 0x10, 0x10, 'HISUP');
  assert.equal(d[3]! & 0xc0, 0, 'AERC and TRMTSK clear');
  assert.equal(d[4], d.length - 5, 'ADDITIONAL LENGTH');
  assert.ok(d[4]! >= 31);
  assert.equal((d[5]! >> 4) & 3, 1, 'TPGS 01b: implicit ALUA');
  assert.equal(d[6]! & 0x10, 0x10, 'MULTIP: four ports');
  assert.equal(d[7]! & 0x02, 0x02, 'CMDQUE');
  assert.equal(d.subarray(8, 16).toString('ascii'), 'KURA    ');
  assert.equal(d.subarray(16, 32).toString('ascii'), 'Kura LD         ');
  assert.equal(d.subarray(32, 36).toString('ascii'), '0.1 ');
  const versions = [];
  for (let o = 58; o + 2 <= d.length; o += 2) versions.push(d.readUInt16BE(o));
  assert.ok(versions.includes(0x0460), 'claims SPC-4');
  assert.ok(versions.includes(0x04c0), 'claims SBC-3');
  // Allocation lengths from 5 up: truncated, never an error; 511 and 512 give the same data.
  for (const alloc of [0, 5, 36, 255]) {
    const x = await f.exec(cdb.inquiry(false, 0, alloc));
    expectGood(x);
    assert.equal(x.dataIn?.length ?? 0, Math.min(alloc, d.length));
  }
  assert.ok((await f.exec(cdb.inquiry(false, 0, 511))).dataIn!.equals((await f.exec(cdb.inquiry(false, 0, 512))).dataIn!));
});

test('INQUIRY field errors: a page code without EVPD, an unknown VPD page, CMDDT', async (t) => {
  const f = await fixture(t);
  const s = expectSense(await f.exec(cdb.inquiry(false, 1, 255)), INVALID_FIELD_IN_CDB);
  assert.deepEqual(s.sksv, { cd: true, field: 2 });
  expectSense(await f.exec(cdb.inquiry(true, 0x99, 255)), INVALID_FIELD_IN_CDB);
  expectSense(await f.exec(Buffer.from([0x12, 0x02, 0, 0, 255, 0])), INVALID_FIELD_IN_CDB);
});

test('VPD pages: supported list (ascending, every one readable), serial, block limits, characteristics, provisioning', async (t) => {
  const f = await fixture(t);
  const sup = (await f.exec(cdb.inquiry(true, 0x00, 255))).dataIn!;
  assert.equal(sup[1], 0x00);
  const pages = [...sup.subarray(4, 4 + sup.readUInt16BE(2))];
  assert.deepEqual(pages, [0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2]);
  for (const p of pages) {
    const r = await f.exec(cdb.inquiry(true, p, 255));
    expectGood(r, `page ${p.toString(16)}`);
    assert.equal(r.dataIn![1], p);
    assert.equal(r.dataIn!.length, r.dataIn!.readUInt16BE(2) + 4, `page ${p.toString(16)} length`);
  }
  const sn = (await f.exec(cdb.inquiry(true, 0x80, 255))).dataIn!;
  assert.equal(sn.subarray(4).toString('ascii'), f.source.serial);

  const bl = (await f.exec(cdb.inquiry(true, 0xb0, 255))).dataIn!;
  assert.equal(bl.readUInt16BE(2), 0x3c, 'SBC-3 page length');
  assert.equal(bl[4]! & 1, 0, 'WSNZ 0');
  assert.equal(bl[5], 255, 'MAXIMUM COMPARE AND WRITE LENGTH');
  assert.equal(bl.readUInt16BE(6), 2048, 'OPTIMAL TRANSFER LENGTH GRANULARITY = a 1 MiB chunk');
  assert.equal(bl.readUInt32BE(8), 16384, 'MAXIMUM TRANSFER LENGTH');
  assert.equal(bl.readUInt32BE(20), 0x100000, 'MAXIMUM UNMAP LBA COUNT');
  assert.equal(bl.readUInt32BE(24), 256, 'MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT');
  assert.equal(bl.readUInt32BE(28), 2048, 'OPTIMAL UNMAP GRANULARITY = chunk');
  assert.equal(bl[32]! & 0x80, 0x80, 'UGAVALID');
  assert.equal(Number(bl.readBigUInt64BE(36)), 0xffff, 'MAXIMUM WRITE SAME LENGTH');

  const bdc = (await f.exec(cdb.inquiry(true, 0xb1, 255))).dataIn!;
  assert.equal(bdc.readUInt16BE(4), 1, 'non-rotating medium');

  const lbp = (await f.exec(cdb.inquiry(true, 0xb2, 255))).dataIn!;
  assert.equal(lbp.readUInt16BE(2), 4);
  assert.equal(lbp[5]! & 0x80, 0x80, 'LBPU');
  assert.equal(lbp[5]! & 0x40, 0x40, 'LBPWS');
  assert.equal(lbp[5]! & 0x20, 0x20, 'LBPWS10');
  assert.equal(lbp[5]! & 0x04, 0x04, 'LBPRZ');
  assert.equal(lbp[5]! & 0x02, 0, 'ANC_SUP');
  assert.equal(lbp[6]! & 0x07, 2, 'thin provisioned');
});

test('device identification: NAA 6 of the LU, relative port, port group and iSCSI names of the receiving port', async (t) => {
  const f = await fixture(t);
  for (const nexus of [NEXUS_A, NEXUS_B]) {
    const page = (await f.exec(cdb.inquiry(true, 0x83, 1024), { nexus })).dataIn!;
    const ds = parseDesignators(page);
    const naa = ds.find((d) => d.type === 3 && d.assoc === 0)!;
    assert.ok(naa, 'NAA designator');
    assert.equal(naa.value.length, 16, 'IEEE Registered Extended: 16 bytes');
    assert.equal(naa.value[0]! >> 4, 6, 'NAA 6');
    assert.equal(naa.value.toString('hex'), f.source.naa);
    const rtp = ds.find((d) => d.type === 4)!;
    assert.deepEqual([rtp.assoc, rtp.piv, rtp.protocol, rtp.value.readUInt16BE(2)], [1, true, 5, nexus.relativeTargetPortId]);
    const tpg = ds.find((d) => d.type === 5)!;
    assert.deepEqual([tpg.assoc, tpg.value.readUInt16BE(2)], [1, nexus.targetPortGroup]);
    const names = ds.filter((d) => d.type === 8);
    const port = names.find((d) => d.assoc === 1)!;
    assert.equal(port.codeSet, 3, 'UTF-8');
    assert.equal(port.value.length % 4, 0, 'padded to a multiple of 4');
    assert.equal(port.value.toString('utf8').replace(/\0+$/, ''), nexus.targetPort);
    const device = names.find((d) => d.assoc === 2)!;
    assert.equal(device.value.toString('utf8').replace(/\0+$/, ''), 'iqn.2026-11.io.kura:array1');
  }
});

test('INQUIRY to a LUN with no logical unit: peripheral qualifier 011b, device type 1Fh', async (t) => {
  const f = await fixture(t);
  const r = await f.exec(cdb.inquiry(false, 0, 96), { lun: 7 });
  expectGood(r);
  assert.equal(r.dataIn![0], 0x7f);
  const v = await f.exec(cdb.inquiry(true, 0, 96), { lun: 7 });
  expectGood(v);
  assert.equal(v.dataIn![0], 0x7f);
  expectSense(await f.exec(cdb.inquiry(true, 0x83, 96), { lun: 7 }), INVALID_FIELD_IN_CDB);
});
