// MODE SENSE(6)/(10): Caching, Control, Informational Exceptions and all pages;
// DBD, LLBAA, page control values; MODE SELECT accepts unchanged or changeable
// values (WCE), refuses anything else, and the write cache setting reaches writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cdb,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  MODE_PARAMETERS_CHANGED,
  PARAMETER_LIST_LENGTH_ERROR,
  PARAMETER_NOT_SUPPORTED,
  SAVING_PARAMETERS_NOT_SUPPORTED,
  SOFTWARE_WRITE_PROTECTED,
} from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, expectGood, expectSense, fixture, pattern } from './helpers.js';

interface Page {
  code: number;
  data: Buffer;
}

function pagesOf(d: Buffer, ten: boolean): { dsp: number; blockDescriptors: Buffer; pages: Page[] } {
  const headerLen = ten ? 8 : 4;
  const total = ten ? d.readUInt16BE(0) + 2 : d[0]! + 1;
  assert.equal(total, d.length, 'MODE DATA LENGTH matches');
  const bdLen = ten ? d.readUInt16BE(6) : d[3]!;
  const pages: Page[] = [];
  for (let o = headerLen + bdLen; o < d.length;) {
    const len = d[o + 1]! + 2;
    pages.push({ code: d[o]! & 0x3f, data: d.subarray(o, o + len) });
    o += len;
  }
  return { dsp: ten ? d[3]! : d[2]!, blockDescriptors: d.subarray(headerLen, headerLen + bdLen), pages };
}

test('MODE SENSE(6) of all pages: DPOFUA, an 8-byte block descriptor, Caching with WCE, Control, IE', async (t) => {
  const f = await fixture(t);
  const r = await f.exec(cdb.modeSense6(0x3f));
  expectGood(r);
  const m = pagesOf(r.dataIn!, false);
  assert.equal(m.dsp, 0x10, 'DPOFUA set, WP clear');
  assert.equal(m.blockDescriptors.length, 8);
  assert.equal(m.blockDescriptors.readUInt32BE(0), f.dev.blockCount);
  assert.equal(m.blockDescriptors.readUIntBE(5, 3), 512);
  assert.deepEqual(
    m.pages.map((p) => [p.code, p.data.length]),
    [
      [0x08, 20],
      [0x0a, 12],
      [0x1c, 12],
    ],
  );
  assert.equal(m.pages[0]!.data[2]! & 0x04, 0x04, 'WCE');
  const control = m.pages[1]!.data;
  assert.equal(control[2]! & 0x04, 0, 'D_SENSE 0: fixed format');
  assert.equal(control[2]! >> 5, 0, 'TST 000b');
  assert.equal(control[4]! & 0x08, 0, 'SWP 0');
  // Single pages, DBD, and the allocation length cuts the data without an error.
  const c = await f.exec(cdb.modeSense6(0x0a, { dbd: true }));
  const cm = pagesOf(c.dataIn!, false);
  assert.equal(cm.blockDescriptors.length, 0);
  assert.ok(cm.pages[0]!.data.equals(control), 'the same Control page alone and in all pages');
  const short = await f.exec(cdb.modeSense6(0x3f, { alloc: 4 }));
  expectGood(short);
  assert.equal(short.dataIn!.length, 4);
});

test('MODE SENSE(10) with LLBAA gives a 16-byte block descriptor; page control changeable/default/saved', async (t) => {
  const f = await fixture(t);
  const r = await f.exec(cdb.modeSense10(0x08, { llbaa: true }));
  expectGood(r);
  const m = pagesOf(r.dataIn!, true);
  assert.equal(r.dataIn![4]! & 1, 1, 'LONGLBA');
  assert.equal(m.blockDescriptors.length, 16);
  assert.equal(Number(m.blockDescriptors.readBigUInt64BE(0)), f.dev.blockCount);
  assert.equal(m.blockDescriptors.readUInt32BE(12), 512);
  const ch = pagesOf((await f.exec(cdb.modeSense10(0x3f, { pc: 1, dbd: true }))).dataIn!, true);
  assert.equal(ch.pages[0]!.data[2], 0x04, 'only WCE is changeable in Caching');
  assert.deepEqual([...ch.pages[1]!.data.subarray(2)], [0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0], 'only SWP is changeable in Control');
  const def = pagesOf((await f.exec(cdb.modeSense6(0x08, { pc: 2 }))).dataIn!, false);
  assert.equal(def.pages[0]!.data[2]! & 0x04, 0x04, 'default WCE 1');
  const s = expectSense(await f.exec(cdb.modeSense6(0x08, { pc: 3 })), SAVING_PARAMETERS_NOT_SUPPORTED, 'saved values are not supported');
  assert.deepEqual(s.sksv, { cd: true, field: 2, bit: 7 });
  expectSense(await f.exec(cdb.modeSense6(0x19)), INVALID_FIELD_IN_CDB, 'unknown page');
  expectSense(await f.exec(cdb.modeSense6(0x08, { subpage: 1 })), INVALID_FIELD_IN_CDB, 'unknown subpage');
  expectGood(await f.exec(cdb.modeSense6(0x3f, { subpage: 0xff })));
});

test('MODE SELECT takes WCE, refuses other changes, and a disabled write cache makes every write FUA', async (t) => {
  const f = await fixture(t);
  const cur = (await f.exec(cdb.modeSense6(0x08, { dbd: true }))).dataIn!;
  const page = Buffer.from(cur.subarray(4));
  // Unchanged values are accepted.
  const same = Buffer.concat([Buffer.alloc(4), page]);
  expectGood(await f.exec(cdb.modeSelect6(same.length), { dataOut: same }));
  // Clear WCE.
  page[2] = page[2]! & ~0x04;
  const off = Buffer.concat([Buffer.alloc(4), page]);
  expectGood(await f.exec(cdb.modeSelect6(off.length), { dataOut: off }));
  assert.equal(pagesOf((await f.exec(cdb.modeSense6(0x08))).dataIn!, false).pages[0]!.data[2]! & 0x04, 0);
  expectGood(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }));
  assert.equal(f.dev.writes.at(-1)!.fua, true, 'WCE 0: write-through');
  // The other I_T nexus is told MODE PARAMETERS CHANGED; the one that changed them is not.
  expectSense(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_B }), MODE_PARAMETERS_CHANGED);
  expectGood(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_A }));
  // Through MODE SELECT(10) with a block descriptor, WCE back on.
  page[2] = page[2]! | 0x04;
  const bd = Buffer.alloc(8);
  bd.writeUInt32BE(f.dev.blockCount, 0);
  bd.writeUIntBE(512, 5, 3);
  const hdr = Buffer.alloc(8);
  hdr.writeUInt16BE(8, 6);
  const on = Buffer.concat([hdr, bd, page]);
  expectGood(await f.exec(cdb.modeSelect10(on.length), { dataOut: on }));
  expectGood(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }));
  assert.equal(f.dev.writes.at(-1)!.fua, false);
});

test('MODE SELECT refusals: unchangeable bits 26/00, unknown page 26/01, short list 1A/00, SP 24/00', async (t) => {
  const f = await fixture(t);
  const control = Buffer.from((await f.exec(cdb.modeSense6(0x0a, { dbd: true }))).dataIn!.subarray(4));
  control[2] = control[2]! | 0x04; // D_SENSE: descriptor format sense data is not offered
  const p = Buffer.concat([Buffer.alloc(4), control]);
  const s = expectSense(await f.exec(cdb.modeSelect6(p.length), { dataOut: p }), INVALID_FIELD_IN_PARAMETER_LIST);
  assert.deepEqual(s.sksv, { cd: false, field: 6, bit: 2 }, 'points at D_SENSE');
  const unknown = Buffer.concat([Buffer.alloc(4), Buffer.from([0x19, 0x02, 0, 0])]);
  expectSense(await f.exec(cdb.modeSelect6(unknown.length), { dataOut: unknown }), PARAMETER_NOT_SUPPORTED);
  const wrongLen = Buffer.concat([Buffer.alloc(4), Buffer.from([0x08, 0x0a]), Buffer.alloc(10)]);
  expectSense(await f.exec(cdb.modeSelect6(wrongLen.length), { dataOut: wrongLen }), INVALID_FIELD_IN_PARAMETER_LIST, 'page length not ours');
  const cut = Buffer.concat([Buffer.alloc(4), Buffer.from([0x08, 0x12]), Buffer.alloc(4)]);
  expectSense(await f.exec(cdb.modeSelect6(cut.length), { dataOut: cut }), PARAMETER_LIST_LENGTH_ERROR, 'page cut short');
  expectSense(await f.exec(cdb.modeSelect6(2), { dataOut: Buffer.alloc(2) }), PARAMETER_LIST_LENGTH_ERROR, 'shorter than the header');
  expectSense(await f.exec(cdb.modeSelect6(4, true), { dataOut: Buffer.alloc(4) }), INVALID_FIELD_IN_CDB, 'SP');
  const badBd = Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from([0, 0, 0, 0, 0, 0, 0x10, 0])]);
  expectSense(await f.exec(cdb.modeSelect6(badBd.length), { dataOut: badBd }), INVALID_FIELD_IN_PARAMETER_LIST, 'block length 4096');
  expectGood(await f.exec(cdb.modeSelect6(0)), 'an empty parameter list changes nothing');
});

test('SWP in the Control page write-protects the LU for every nexus until cleared (libiscsi ModeSense6.Control-SWP)', async (t) => {
  const f = await fixture(t);
  const control = Buffer.from((await f.exec(cdb.modeSense6(0x0a, { dbd: true }))).dataIn!.subarray(4));
  control[4] = control[4]! | 0x08;
  const flushes = f.dev.flushes;
  expectGood(await f.exec(cdb.modeSelect6(4 + control.length), { dataOut: Buffer.concat([Buffer.alloc(4), control]) }));
  assert.equal(f.dev.flushes, flushes + 1, 'cached writes reach the medium first');
  const ms = (await f.exec(cdb.modeSense6(0x0a))).dataIn!;
  assert.equal(ms[2]! & 0x80, 0x80, 'WP in the header');
  assert.equal(pagesOf(ms, false).pages[0]!.data[4]! & 0x08, 0x08, 'SWP reads back');
  expectGood(await f.exec(cdb.read10(0, 1)));
  expectSense(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }), SOFTWARE_WRITE_PROTECTED, 'SOFTWARE WRITE PROTECTED');
  expectSense(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_B }), MODE_PARAMETERS_CHANGED);
  expectSense(await f.exec(cdb.writeSame16(0, 1, 0x09), { nexus: NEXUS_B }), SOFTWARE_WRITE_PROTECTED);
  control[4] = control[4]! & ~0x08;
  expectGood(await f.exec(cdb.modeSelect6(4 + control.length), { nexus: NEXUS_B, dataOut: Buffer.concat([Buffer.alloc(4), control]) }));
  expectSense(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }), MODE_PARAMETERS_CHANGED);
  expectGood(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }));
});
