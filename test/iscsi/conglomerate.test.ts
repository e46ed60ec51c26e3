// Subsidiary LUs through the real iSCSI target: a VVOL bound behind a PE with
// the array's ConglomerateService is read and written by Kura's initiator at the
// two-level LUN (PE LUN, subsidiary LU id), carried in full in the SCSI Command
// and Task Management PDUs; bind raises REPORTED LUNS DATA HAS CHANGED on the
// session, and libiscsi's iscsi-ls still lists the PE like any LU.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { IscsiFrontEnd } from '../../src/array/iscsi-front-end.js';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import * as P from '../../src/iscsi/pdu.js';
import {
  BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  LOGICAL_UNIT_NOT_SUPPORTED,
  REPORTED_LUNS_DATA_HAS_CHANGED,
  SELECT_REPORT_CONGLOMERATE,
  VPD_DEVICE_IDENTIFICATION,
  cdb,
  conglomerateLun,
  isSense,
  lunText,
  parseDeviceIdentification,
  parseReportLuns,
  parseSense,
} from '../../src/scsi/spec/index.js';
import { INITIATOR, INITIATOR2, MiB, pattern } from './helpers.js';

const PE_LUN = 3;

test(
  'READ and WRITE reach a bound VVOL at its two-level LUN; an unbound one is LOGICAL UNIT NOT SUPPORTED; LUN RESET names it',
  { timeout: 30_000 },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cong-iscsi-'));
    const array = await KuraArray.open({
      dataDir: dir,
      portals: [
        { host: '127.0.0.1', port: 0 },
        { host: '127.0.0.1', port: 0 },
      ],
    });
    const fe = new IscsiFrontEnd(array.frontEnd, { keepaliveMs: 0 });
    const inis: IscsiInitiator[] = [];
    t.after(async () => {
      for (const i of inis) i.close();
      await fe.close();
      await array.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await fe.listen();
    await array.pools.createPool({ name: 'p', size: 128 * MiB, raid: 'RAID1' });
    for (const name of ['pe', 'v1', 'v2']) await array.lds.createLd({ name, pool: 'p', size: 16 * MiB });
    await array.hosts.createHost('esx1', [INITIATOR]);
    await array.hosts.createHost('esx2', [INITIATOR2]);
    await array.hosts.mapLun('esx1', 'pe', PE_LUN);
    await array.hosts.mapLun('esx2', 'pe', PE_LUN);
    const pe = array.lds.getLd('pe').number;
    array.conglomerates.markPe(pe);
    const port = fe.server.addresses()[0]!.port;

    const login = async (name: string) => {
      const ini = await IscsiInitiator.connect('127.0.0.1', port);
      inis.push(ini);
      const r = await ini.login({ initiatorName: name, targetName: array.frontEnd.targetName() });
      assert.equal(r.status, 0);
      return ini;
    };
    const a = await login(INITIATOR);
    const senseOf = (r: { status: number; sense?: Buffer }) => (r.status === 0 ? undefined : parseSense(r.sense));
    const drain = async (ini: IscsiInitiator, lun: number) => {
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await ini.command({ lun, cdb: cdb.testUnitReady() });
        if (r.status === 0) break;
        const s = senseOf(r)!;
        seen.push(`${s.asc.toString(16)}/${s.ascq.toString(16)}`);
      }
      return seen;
    };
    await drain(a, PE_LUN);

    const slu = array.conglomerates.bind(pe, array.lds.getLd('v1').number, 'esx1');
    assert.equal(slu, 1);
    const sub = conglomerateLun(PE_LUN, slu);
    assert.ok(
      (await drain(a, PE_LUN)).includes(`${REPORTED_LUNS_DATA_HAS_CHANGED.asc.toString(16)}/${REPORTED_LUNS_DATA_HAS_CHANGED.ascq.toString(16)}`),
      'the bind is announced to the session',
    );
    const rl = await a.command({ lun: PE_LUN, cdb: cdb.reportLuns(SELECT_REPORT_CONGLOMERATE, 4096), readLength: 4096 });
    assert.equal(rl.status, 0);
    assert.deepEqual(parseReportLuns(rl.dataIn).map(lunText), ['3', '3/1']);

    // WRITE and READ at the two-level LUN: the bytes land in the VVOL's LD.
    await drain(a, sub);
    const data = pattern(64 * 1024, 5);
    const w = await a.command({ lun: sub, cdb: cdb.write10(128, data.length / 512), dataOut: data });
    assert.equal(w.status, 0, 'WRITE(10) to the subsidiary');
    const r = await a.command({ lun: sub, cdb: cdb.read10(128, data.length / 512), readLength: data.length });
    assert.equal(r.status, 0);
    assert.ok(r.dataIn.equals(data), 'READ(10) from the subsidiary');
    await array.flush();
    assert.ok(
      (
        await array.frontEnd
          .exports()
          .open('v1')!
          .read(128, data.length / 512)
      ).equals(data),
      'the VVOL LD holds the bytes',
    );
    const vpd = await a.command({ lun: sub, cdb: cdb.inquiry(true, VPD_DEVICE_IDENTIFICATION, 1024), readLength: 1024 });
    assert.match(parseDeviceIdentification(vpd.dataIn)!.id, /^naa\.6/);

    // Another host's initiator does not reach it; its PE view lists no subsidiary.
    const b = await login(INITIATOR2);
    assert.ok(isSense(senseOf(await b.command({ lun: sub, cdb: cdb.read10(128, 1), readLength: 512 })), LOGICAL_UNIT_NOT_SUPPORTED), 'not bound for esx2');
    await drain(b, PE_LUN);
    const rl2 = await b.command({ lun: PE_LUN, cdb: cdb.reportLuns(SELECT_REPORT_CONGLOMERATE, 4096), readLength: 4096 });
    assert.deepEqual(parseReportLuns(rl2.dataIn).map(lunText), ['3']);

    // LOGICAL UNIT RESET carries the two-level LUN and resets the subsidiary alone.
    assert.equal(await a.taskManagement(P.TMF_LOGICAL_UNIT_RESET, { lun: sub }), P.TMF_RSP_COMPLETE);
    assert.ok(isSense(senseOf(await a.command({ lun: sub, cdb: cdb.testUnitReady() })), BUS_DEVICE_RESET_FUNCTION_OCCURRED));
    assert.deepEqual(await drain(a, PE_LUN), [], 'the PE was not reset');
    assert.equal(await b.taskManagement(P.TMF_LOGICAL_UNIT_RESET, { lun: sub }), P.TMF_RSP_LUN_DOES_NOT_EXIST, 'esx2 cannot reset what it cannot reach');

    // Unbind: gone for esx1, announced again.
    array.conglomerates.unbind(pe, array.lds.getLd('v1').number, 'esx1');
    assert.ok(isSense(senseOf(await a.command({ lun: sub, cdb: cdb.read10(0, 1), readLength: 512 })), LOGICAL_UNIT_NOT_SUPPORTED));
    assert.ok((await drain(a, PE_LUN)).includes('3f/e'));
    for (const i of [a, b]) await i.logout();
  },
);
