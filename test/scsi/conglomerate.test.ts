// LUN conglomerates (VVOL protocol endpoints): a PE is the administrative LU, a
// VVOL bound behind it for a host is a subsidiary LU at the two-level LUN
// (PE LUN, subsidiary LU id). Runs commands through the array's own resolver
// (IscsiFrontEnd's ScsiTarget, not listening) with the array's ConglomerateService.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { peEui, vvolNaa } from '../../src/array/conglomerates/service.js';
import { IscsiFrontEnd } from '../../src/array/iscsi-front-end.js';
import { KuraError } from '../../src/errors.js';
import {
  BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  INVALID_FIELD_IN_CDB,
  LOGICAL_UNIT_NOT_SUPPORTED,
  REPORTED_LUNS_DATA_HAS_CHANGED,
  REPORT_LUNS_WLUN,
  SELECT_REPORT_ADMINISTRATIVE,
  SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE,
  SELECT_REPORT_ALL,
  SELECT_REPORT_ALL_WITH_WELL_KNOWN,
  SELECT_REPORT_CONGLOMERATE,
  VPD_DEVICE_IDENTIFICATION,
  cdb,
  conglomerateLun,
  decodeLun,
  encodeLun,
  isLuConglomerate,
  lunText,
  parseDeviceIdentification,
  parseReportLuns,
} from '../../src/scsi/spec/index.js';
import type { ItNexus, ScsiResponse } from '../../src/scsi/types.js';
import { MiB, NEXUS_A, NEXUS_B, expectGood, expectSense, pattern } from './helpers.js';

const PE_LUN = 5;

interface Cong {
  array: KuraArray;
  fe: IscsiFrontEnd;
  pe: number;
  v1: number;
  v2: number;
  v3: number;
  exec(nexus: ItNexus, lun: number, c: Buffer, dataOut?: Buffer): Promise<ScsiResponse>;
  luns(nexus: ItNexus, select: number, at?: number): Promise<string[]>;
  /** Sends TEST UNIT READY until no unit attention is left; returns the conditions seen. */
  drain(nexus: ItNexus, lun: number): Promise<string[]>;
}

async function open(t: TestContext): Promise<Cong> {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cong-'));
  const array = await KuraArray.open({ dataDir: d });
  const fe = new IscsiFrontEnd(array.frontEnd);
  t.after(async () => {
    await array.close();
    fs.rmSync(d, { recursive: true, force: true });
  });
  await array.pools.createPool({ name: 'p', size: 128 * MiB, raid: 'RAID1' });
  for (const name of ['ord', 'pe', 'v1', 'v2', 'v3']) await array.lds.createLd({ name, pool: 'p', size: 8 * MiB });
  await array.hosts.createHost('h1', [NEXUS_A.initiatorName]);
  await array.hosts.createHost('h2', [NEXUS_B.initiatorName]);
  for (const h of ['h1', 'h2']) {
    await array.hosts.mapLun(h, 'ord', 0);
    await array.hosts.mapLun(h, 'pe', PE_LUN);
  }
  const num = (n: string) => array.lds.getLd(n).number;
  const c: Cong = {
    array,
    fe,
    pe: num('pe'),
    v1: num('v1'),
    v2: num('v2'),
    v3: num('v3'),
    exec: (nexus, lun, c, dataOut) => fe.target.execute({ nexus, lun, cdb: c, dataOut, expectedDataLength: dataOut?.length ?? 4096 }),
    async luns(nexus, select, at = 0) {
      const r = await c.exec(nexus, at, cdb.reportLuns(select, 4096));
      expectGood(r, `REPORT LUNS ${select.toString(16)}h at LUN ${lunText(at)}`);
      return parseReportLuns(r.dataIn!).map(lunText);
    },
    async drain(nexus, lun) {
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await c.exec(nexus, lun, cdb.testUnitReady());
        if (r.status === 0) return seen;
        seen.push(r.sense!.subarray(12, 14).toString('hex'));
      }
      return seen;
    },
  };
  return c;
}

test('LUN encoding: two-level LUNs of subsidiary LUs use simple addressing in both elements; sg_luns decodes them so', () => {
  const lun = conglomerateLun(PE_LUN, 3);
  assert.equal(encodeLun(lun).toString('hex'), '0005000300000000');
  assert.equal(encodeLun(conglomerateLun(16383, 16383)).toString('hex'), '3fff3fff00000000');
  for (const l of [0, 255, 256, 16383, lun, conglomerateLun(300, 1), conglomerateLun(0, 16383), REPORT_LUNS_WLUN])
    assert.equal(decodeLun(encodeLun(l)), l, lunText(l));
  assert.equal(conglomerateLun(PE_LUN, 0), PE_LUN, 'a subsidiary element of 0 is the administrative LU');
  assert.equal(encodeLun(REPORT_LUNS_WLUN).toString('hex'), 'c101000000000000');
  assert.equal(decodeLun(Buffer.from('0005410300000000', 'hex')), -1, 'the subsidiary element in flat addressing is not read');
  assert.equal(decodeLun(Buffer.from('0005000300010000', 'hex')), -1, 'a third level is not read');
  // sg3_utils decodes it with LU_CONG set as Kura means it.
  let out: string;
  try {
    out = execFileSync('sg_luns', ['--test=0005000300000000', '--lu_cong'], { encoding: 'utf8', timeout: 5000 });
  } catch (e) {
    throw new Error(`sg_luns (Debian sg3-utils) did not run: ${(e as Error).message}. scripts/ensure-tools.sh (run by npm test) installs it.`, { cause: e });
  }
  assert.match(out, /Administrative element:\s+Simple lu addressing: 5/);
  assert.match(out, /Subsidiary element:\s+Simple lu addressing: 3/);
});

test('REPORT LUNS select reports 00h, 02h, 10h, 11h, 12h; INQUIRY LU_CONG and VPD 83h designators', async (t) => {
  const c = await open(t);
  const { array, pe, v1, v2 } = c;
  array.conglomerates.markPe(pe);
  assert.equal(array.conglomerates.bind(pe, v1, 'h1'), 1);
  assert.equal(array.conglomerates.bind(pe, v2, 'h2'), 2);
  assert.equal(array.conglomerates.bind(pe, v1, 'h2'), 1, 'one id per binding, whatever the host');

  const A = NEXUS_A;
  const B = NEXUS_B;
  assert.deepEqual(await c.luns(A, SELECT_REPORT_ALL), ['0', '5'], '00h: ordinary and administrative LUs');
  assert.deepEqual(await c.luns(A, SELECT_REPORT_ALL_WITH_WELL_KNOWN), ['0', '5', '5/1'], '02h: subsidiary LUs bound for the host too');
  assert.deepEqual(await c.luns(B, SELECT_REPORT_ALL_WITH_WELL_KNOWN), ['0', '5', '5/1', '5/2']);
  assert.deepEqual(await c.luns(A, SELECT_REPORT_ADMINISTRATIVE), ['5'], '10h: administrative LUs');
  assert.deepEqual(await c.luns(A, SELECT_REPORT_ADMINISTRATIVE, REPORT_LUNS_WLUN), ['5'], '10h at the REPORT LUNS well-known LUN');
  assert.deepEqual(await c.luns(A, SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE), ['0', '5'], '11h');
  assert.deepEqual(await c.luns(A, SELECT_REPORT_CONGLOMERATE, PE_LUN), ['5', '5/1'], '12h at the PE: it and its subsidiaries for this host');
  assert.deepEqual(await c.luns(B, SELECT_REPORT_CONGLOMERATE, PE_LUN), ['5', '5/1', '5/2']);
  const raw = (await c.exec(B, PE_LUN, cdb.reportLuns(SELECT_REPORT_CONGLOMERATE, 4096))).dataIn!;
  assert.equal(raw.subarray(8).toString('hex'), '0005000000000000' + '0005000100000000' + '0005000200000000');
  expectSense(await c.exec(A, PE_LUN, cdb.reportLuns(SELECT_REPORT_ADMINISTRATIVE, 4096)), INVALID_FIELD_IN_CDB, '10h away from LUN 0');
  expectSense(await c.exec(A, PE_LUN, cdb.reportLuns(SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE, 4096)), INVALID_FIELD_IN_CDB, '11h away from LUN 0');
  expectSense(await c.exec(A, 0, cdb.reportLuns(SELECT_REPORT_CONGLOMERATE, 4096)), INVALID_FIELD_IN_CDB, '12h at an ordinary LU');
  expectSense(await c.exec(A, conglomerateLun(PE_LUN, 1), cdb.reportLuns(SELECT_REPORT_CONGLOMERATE, 4096)), INVALID_FIELD_IN_CDB, '12h at a subsidiary LU');

  const std = async (lun: number) => {
    const r = await c.exec(A, lun, cdb.inquiry(false, 0, 96));
    expectGood(r);
    return isLuConglomerate(r.dataIn!);
  };
  assert.equal(await std(PE_LUN), true, 'the PE sets LU_CONG');
  assert.equal(await std(conglomerateLun(PE_LUN, 1)), true, 'a subsidiary sets LU_CONG');
  assert.equal(await std(0), false, 'an ordinary LU does not');

  const ident = async (lun: number) => {
    const r = await c.exec(A, lun, cdb.inquiry(true, VPD_DEVICE_IDENTIFICATION, 1024));
    expectGood(r);
    return parseDeviceIdentification(r.dataIn!)!;
  };
  const wwn = array.wwn();
  const peId = await ident(PE_LUN);
  assert.equal(peId.eui, `eui.${peEui(wwn, pe)}`, 'the PE carries its EUI-64 id');
  assert.equal(peId.id, `naa.${array.lds.getLd('pe').naa}`);
  const vId = await ident(conglomerateLun(PE_LUN, 1));
  assert.equal(vId.id, `naa.${vvolNaa(wwn, v1)}`, "a subsidiary LU is known by the VVOL's NAA id");
  assert.equal(vId.eui, undefined);
  assert.match(vId.id, /^naa\.6[0-9a-f]{31}$/);
});

test('a subsidiary LU not bound for the host is LOGICAL UNIT NOT SUPPORTED; a bound one reads and writes the VVOL LD', async (t) => {
  const c = await open(t);
  const { array, pe, v1, v2 } = c;
  array.conglomerates.markPe(pe);
  array.conglomerates.bind(pe, v1, 'h1');
  array.conglomerates.bind(pe, v2, 'h2');
  const s2 = conglomerateLun(PE_LUN, 2);
  for (const cmd of [cdb.testUnitReady(), cdb.inquiry(false, 0, 96), cdb.read10(0, 1), cdb.requestSense()]) {
    expectSense(await c.exec(NEXUS_A, s2, cmd), LOGICAL_UNIT_NOT_SUPPORTED, `0x${cmd[0]!.toString(16)} to a subsidiary bound for another host`);
  }
  expectSense(await c.exec(NEXUS_A, conglomerateLun(0, 1), cdb.testUnitReady()), LOGICAL_UNIT_NOT_SUPPORTED, 'behind an ordinary LU');
  expectSense(await c.exec(NEXUS_A, conglomerateLun(PE_LUN, 9), cdb.testUnitReady()), LOGICAL_UNIT_NOT_SUPPORTED, 'an id nobody has');

  const s1 = conglomerateLun(PE_LUN, 1);
  await c.drain(NEXUS_A, s1);
  const data = pattern(8, 11);
  expectGood(await c.exec(NEXUS_A, s1, cdb.write10(16, 8), data), 'WRITE to the subsidiary');
  const back = await c.exec(NEXUS_A, s1, cdb.read10(16, 8));
  expectGood(back);
  assert.ok(back.dataIn!.equals(data));
  const ld = await array.frontEnd.exports().open('v1')!.read(16, 8);
  assert.ok(ld.equals(data), "the bytes are the VVOL LD's");
  assert.ok(!(await array.frontEnd.exports().open('pe')!.read(16, 8)).equals(data), "not the PE's");

  // A subsidiary takes the PE's target port group states.
  await c.drain(NEXUS_A, PE_LUN);
  const rtpg = async (lun: number) => (await c.exec(NEXUS_A, lun, cdb.reportTargetPortGroups(1024))).dataIn!.toString('hex');
  assert.equal(await rtpg(s1), await rtpg(PE_LUN));
});

test("bind and unbind raise REPORTED LUNS DATA HAS CHANGED on the PE for the host's nexuses only; LUN RESET of a subsidiary resets it alone", async (t) => {
  const c = await open(t);
  const { array, pe, v1, v2, v3 } = c;
  array.conglomerates.markPe(pe);
  await c.drain(NEXUS_A, PE_LUN);
  await c.drain(NEXUS_B, PE_LUN);
  const UA_3F0E = '3f0e';
  assert.equal(REPORTED_LUNS_DATA_HAS_CHANGED.asc, 0x3f);

  array.conglomerates.bind(pe, v1, 'h1');
  assert.deepEqual(await c.drain(NEXUS_A, PE_LUN), [UA_3F0E], 'bind: the host is told');
  assert.deepEqual(await c.drain(NEXUS_B, PE_LUN), [], 'another host is not');

  // REPORT LUNS clears it.
  array.conglomerates.bind(pe, v2, 'h1');
  await c.luns(NEXUS_A, SELECT_REPORT_CONGLOMERATE, PE_LUN);
  assert.deepEqual(await c.drain(NEXUS_A, PE_LUN), [], 'REPORT LUNS cleared the condition');

  array.conglomerates.unbind(pe, v2, 'h1');
  assert.deepEqual(await c.drain(NEXUS_A, PE_LUN), [UA_3F0E], 'unbind: the host is told');
  assert.deepEqual(await c.luns(NEXUS_A, SELECT_REPORT_CONGLOMERATE, PE_LUN), ['5', '5/1']);
  expectSense(await c.exec(NEXUS_A, conglomerateLun(PE_LUN, 2), cdb.testUnitReady()), LOGICAL_UNIT_NOT_SUPPORTED, 'gone after unbind');

  // The lowest free id comes back; v3 takes 2.
  assert.equal(array.conglomerates.bind(pe, v3, 'h2'), 2);
  const s1 = conglomerateLun(PE_LUN, 1);
  await c.drain(NEXUS_A, s1);
  await c.drain(NEXUS_A, PE_LUN);
  assert.equal(c.fe.target.taskManagement(NEXUS_A, 'lun-reset', s1), 0);
  const after = await c.exec(NEXUS_A, s1, cdb.testUnitReady());
  expectSense(after, BUS_DEVICE_RESET_FUNCTION_OCCURRED, 'the subsidiary was reset');
  assert.deepEqual(await c.drain(NEXUS_A, PE_LUN), [], 'the PE was not');
  assert.equal(
    c.fe.target.taskManagement(NEXUS_A, 'lun-reset', conglomerateLun(PE_LUN, 2)),
    2,
    'LUN RESET of a subsidiary not bound for the host: no such LUN',
  );
});

test('ConglomerateService: errors with ids, bindings survive a restart, a deleted LD leaves its conglomerate', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cong-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await KuraArray.open({ dataDir: dir });
  await first.pools.createPool({ name: 'p', size: 64 * MiB, raid: 'RAID1' });
  for (const name of ['pe', 'v1', 'v2']) await first.lds.createLd({ name, pool: 'p', size: 4 * MiB });
  await first.hosts.createHost('h1', [NEXUS_A.initiatorName]);
  const n = (name: string) => first.lds.getLd(name).number;
  const cs = first.conglomerates;
  const id = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof KuraError);
      return e.id;
    }
    return 'no error';
  };
  assert.equal(
    id(() => cs.bind(n('v1'), n('v2'), 'h1')),
    'KURA-E3500',
    'not a PE',
  );
  cs.markPe(n('pe'));
  assert.equal(
    id(() => cs.bind(n('pe'), n('pe'), 'h1')),
    'KURA-E3503',
    'a PE behind itself',
  );
  assert.equal(
    id(() => cs.bind(n('pe'), 999, 'h1')),
    'KURA-E3506',
    'no such LD',
  );
  assert.equal(
    id(() => cs.bind(n('pe'), n('v1'), 'nobody')),
    'KURA-E3507',
    'no such host',
  );
  assert.equal(
    id(() => cs.bind(n('pe'), n('v1'), 'h1', 0)),
    'KURA-E3504',
    'id 0 is the PE',
  );
  assert.equal(
    id(() => cs.unbind(n('pe'), n('v1'), 'h1')),
    'KURA-E3502',
    'not bound',
  );
  assert.equal(cs.bind(n('pe'), n('v1'), 'h1', 7), 7, 'an id the caller names');
  assert.equal(
    id(() => cs.bind(n('pe'), n('v2'), 'h1', 7)),
    'KURA-E3505',
    'taken by another LD',
  );
  assert.equal(
    id(() => cs.bind(n('pe'), n('v1'), 'h1', 8)),
    'KURA-E3508',
    'the binding has another id',
  );
  assert.equal(cs.bind(n('pe'), n('v2'), 'h1'), 1);
  const before = cs.bindings(n('pe'));
  await first.close();

  const again = await KuraArray.open({ dataDir: dir });
  t.after(() => again.close());
  assert.ok(again.conglomerates.isPe(again.lds.getLd('pe').number));
  assert.deepEqual(again.conglomerates.bindings(again.lds.getLd('pe').number), before, 'the bindings survived the restart');
  await again.lds.deleteLd('v1', { force: true });
  assert.deepEqual(
    again.conglomerates.bindings(again.lds.getLd('pe').number).map((b) => b.slu),
    [1],
    'the deleted LD left its binding',
  );
});
