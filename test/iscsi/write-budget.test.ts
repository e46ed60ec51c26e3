// Many sessions of big WRITEs whose unsolicited data never completes: their
// buffers are counted against the I/O budget, and beyond its slack further
// WRITEs are refused with TASK SET FULL instead of being buffered, so memory
// stays bounded however many sessions a client opens. Good writes still work
// once the stuck sessions are gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import * as P from '../../src/iscsi/pdu.js';
import { IoBudget, MIN_IO_BUDGET } from '../../src/limits/io-budget.js';
import { TASK_SET_FULL, cdb } from '../../src/scsi/spec/index.js';
import { INITIATOR, IQN, MiB, pattern, startTarget } from './helpers.js';

test('WRITEs with unsolicited data that never completes stay within the budget; the rest get TASK SET FULL', { timeout: 60_000 }, async () => {
  const budget = new IoBudget({ limit: MIN_IO_BUDGET });
  const f = await startTarget({ ioBudget: budget, offers: { initialR2T: false, immediateData: true, firstBurstLength: 262144 }, ldSize: 64 * MiB });
  const inis: IscsiInitiator[] = [];
  try {
    let peak = 0;
    for (let k = 0; k < 8; k++) {
      const ini = await IscsiInitiator.connect('127.0.0.1', f.ports[k % 2]);
      ini.firstBurstLength = 262144;
      ini.initialR2T = false;
      const r = await ini.login({ initiatorName: `${INITIATOR}-${k}`, targetName: IQN });
      assert.equal(r.status, 0);
      inis.push(ini);
      // 128 WRITE(10) of 8 MiB, each with 64 KiB of immediate data and the rest of its first burst never sent.
      for (let i = 0; i < 128; i++) {
        const h = P.initiatorHeader(P.OP_SCSI_COMMAND, P.CMD_WRITE | 1, 65536, false);
        h.writeUInt32BE(ini.nextItt(), 16);
        h.writeUInt32BE(8 * MiB, 20);
        h.writeUInt32BE(ini.cmdSN, 24);
        ini.cmdSN = P.snAdd(ini.cmdSN, 1);
        cdb.write10((i % 8) * 16384, 16384).copy(h, 32);
        ini.sendPdu(h, Buffer.alloc(65536, k));
      }
      await new Promise((r) => setTimeout(r, 200));
      peak = Math.max(peak, budget.used);
    }
    await new Promise((r) => setTimeout(r, 500));
    peak = Math.max(peak, budget.used);
    const full = inis.flatMap((i) => i.stray).filter((p) => P.opcodeOf(p.bhs) === P.OP_SCSI_RESPONSE && p.bhs[3] === TASK_SET_FULL).length;
    assert.ok(peak <= MIN_IO_BUDGET * 1.25, `the budget held: ${(peak / MiB).toFixed(1)} MiB in use at most`);
    assert.ok(full > 0, `WRITEs beyond the budget were refused with TASK SET FULL (${full})`);
    for (const i of inis) i.close();
    for (let k = 0; k < 50 && budget.used > 0; k++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(budget.used, 0, 'everything the stuck sessions held came back');

    const good = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
    assert.equal((await good.login({ initiatorName: INITIATOR, targetName: IQN })).status, 0);
    const data = pattern(1 * MiB, 7);
    let w = await good.command({ cdb: cdb.write10(0, 2048), dataOut: data });
    if (w.status !== 0) w = await good.command({ cdb: cdb.write10(0, 2048), dataOut: data });
    assert.equal(w.status, 0);
    const r = await good.command({ cdb: cdb.read10(0, 2048), readLength: data.length });
    assert.ok(r.dataIn.equals(data));
    assert.equal(await good.logout(), 0);
  } finally {
    for (const i of inis) i.close();
    await f.close();
  }
});
