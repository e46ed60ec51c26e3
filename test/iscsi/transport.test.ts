// The transport against a real LU, driven by Kura's own initiator so that
// each RFC 7143 rule can be looked at PDU by PDU: Data-In segmentation and
// status collapsing, immediate/unsolicited/solicited Data-Out, residuals, the
// CmdSN window, NOP, task management, logout, reinstatement, discovery,
// digests, portals, and many sessions at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IscsiInitiator, IscsiRejectError } from '../../src/iscsi/initiator.js';
import type { LoginOptions } from '../../src/iscsi/initiator.js';
import * as P from '../../src/iscsi/pdu.js';
import { BUS_DEVICE_RESET_FUNCTION_OCCURRED, DATA_PHASE_ERROR, LBA_OUT_OF_RANGE, PROTOCOL_SERVICE_CRC_ERROR, cdb } from '../../src/scsi/spec/index.js';
import { INITIATOR, IQN, MiB, pattern, senseCodeOf, startTarget } from './helpers.js';
import type { TargetFixture } from './helpers.js';

let f: TargetFixture;

before(async () => {
  f = await startTarget();
});

after(async () => {
  await f.close();
});

async function session(o: Partial<LoginOptions> & { maxRecv?: number; port?: number } = {}): Promise<IscsiInitiator> {
  const ini = await IscsiInitiator.connect('127.0.0.1', o.port ?? f.ports[0]);
  if (o.maxRecv) ini.maxRecv = o.maxRecv;
  const r = await ini.login({ initiatorName: INITIATOR, targetName: IQN, ...o });
  assert.equal(r.status, 0, `login status ${r.status.toString(16)}`);
  // The first command of a new nexus meets POWER ON OCCURRED; take it out of the way.
  for (let i = 0; i < 4; i++) {
    const t = await ini.command({ cdb: cdb.testUnitReady() });
    if (t.status === 0) break;
  }
  return ini;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a 1 MiB READ comes in Data-In PDUs no longer than the initiator's MaxRecvDataSegmentLength, status in the last (S bit)", async () => {
  const ini = await session({ maxRecv: 4096 });
  const data = pattern(MiB, 1);
  const w = await ini.command({ cdb: cdb.write10(0, 2048), dataOut: data });
  assert.equal(w.status, 0);
  const r = await ini.command({ cdb: cdb.read10(0, 2048), readLength: MiB });
  assert.equal(r.status, 0);
  assert.ok(r.statusInDataIn, 'status in the final Data-In');
  assert.equal(r.dataInLengths.length, MiB / 4096);
  assert.ok(r.dataInLengths.every((n) => n <= 4096));
  assert.ok(r.dataIn.equals(data));
  ini.close();
});

test('ImmediateData=Yes, InitialR2T=No: immediate and unsolicited data up to FirstBurstLength, R2Ts for the rest', async () => {
  const ini = await session();
  assert.equal(ini.initialR2T, false);
  assert.equal(ini.immediateData, true);
  assert.ok(ini.firstBurstLength >= 256 * 1024);
  assert.ok(ini.targetMaxRecv >= 256 * 1024);
  const data = pattern(4 * MiB, 2);
  const w = await ini.command({ cdb: cdb.write10(4096, 8192), dataOut: data, immediate: 8192 });
  assert.equal(w.status, 0);
  assert.equal(w.r2ts, 1, 'one R2T: the rest fits one MaxBurstLength');
  const small = await ini.command({ cdb: cdb.write10(0, 8), dataOut: pattern(4096, 3) });
  assert.equal(small.r2ts, 0, 'a write within FirstBurstLength needs no R2T');
  const r = await ini.command({ cdb: cdb.read10(4096, 8192), readLength: 4 * MiB });
  assert.ok(r.dataIn.equals(data));
  ini.close();
});

test('InitialR2T=Yes, ImmediateData=No, MaxBurstLength=64 KiB: every byte is solicited, in R2Ts of at most MaxBurstLength', async () => {
  const ini = await session({ keys: { InitialR2T: 'Yes', ImmediateData: 'No', MaxBurstLength: '65536', FirstBurstLength: '65536', MaxOutstandingR2T: '2' } });
  assert.equal(ini.initialR2T, true);
  assert.equal(ini.immediateData, false);
  assert.equal(ini.maxBurstLength, 65536);
  const data = pattern(MiB, 4);
  const w = await ini.command({ cdb: cdb.write10(100, 2048), dataOut: data });
  assert.equal(w.status, 0);
  assert.equal(w.r2ts, 16);
  const r = await ini.command({ cdb: cdb.read10(100, 2048), readLength: MiB });
  assert.ok(r.dataIn.equals(data));
  ini.close();
});

test('Data-In sequences are at most MaxBurstLength: F bit at every burst end', async () => {
  const ini = await session({ maxRecv: 16384, keys: { MaxBurstLength: '65536' } });
  const r = await ini.command({ cdb: cdb.read10(0, 512), readLength: 256 * 1024 });
  assert.equal(r.status, 0);
  assert.equal(r.dataInLengths.length, 16);
  ini.close();
});

test('CHECK CONDITION goes in a SCSI Response with the 2-byte SenseLength prefix, and no Data-In', async () => {
  const ini = await session();
  const r = await ini.command({ cdb: cdb.read16(1 << 30, 1), readLength: 512 });
  assert.equal(r.status, 2);
  assert.equal(r.statusInDataIn, false);
  assert.equal(r.dataInLengths.length, 0);
  assert.deepEqual(senseCodeOf(r.sense), LBA_OUT_OF_RANGE);
  ini.close();
});

test('residuals: Data-In longer than EDTL is cut and counted as overflow; shorter as underflow', async () => {
  const ini = await session();
  const over = await ini.command({ cdb: cdb.read10(0, 2), readLength: 512 });
  assert.equal(over.status, 0);
  assert.equal(over.dataIn.length, 512);
  assert.equal(over.residualFlags, P.RSP_OVERFLOW);
  assert.equal(over.residual, 512);
  const under = await ini.command({ cdb: cdb.read10(0, 1), readLength: 4096 });
  assert.equal(under.residualFlags, P.RSP_UNDERFLOW);
  assert.equal(under.residual, 4096 - 512);
  const inq = await ini.command({ cdb: cdb.inquiry(false, 0, 255), readLength: 255 });
  assert.equal(inq.residualFlags, P.RSP_UNDERFLOW);
  assert.equal(inq.residual, 255 - inq.dataIn.length);
  // Write residuals: EDTL 2 blocks for a 1-block WRITE is underflow by a block (after READ CAPACITY told the block size).
  await ini.command({ cdb: cdb.readCapacity16(), readLength: 32 });
  const w = await ini.command({ cdb: cdb.write10(0, 1), dataOut: pattern(1024, 9) });
  assert.equal(w.status, 0);
  assert.equal(w.residualFlags, P.RSP_UNDERFLOW);
  assert.equal(w.residual, 512);
  ini.close();
});

test('the CmdSN window: MaxCmdSN = ExpCmdSN + 127 at login; commands outside the window are ignored', async () => {
  const ini = await session();
  const tur = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(tur.status, 0);
  const exp = ini.cmdSN;
  assert.equal((ini.maxCmdSN - exp + 1) >>> 0, 128, 'a window of 128 commands');
  for (const sn of [P.snAdd(ini.maxCmdSN, 1), P.snAdd(exp, -1 >>> 0)]) {
    const saved = ini.cmdSN;
    ini.cmdSN = sn;
    const p = ini.command({ cdb: cdb.testUnitReady() });
    ini.cmdSN = saved;
    const r = await Promise.race([p.then(() => 'answered'), delay(300).then(() => 'ignored')]);
    assert.equal(r, 'ignored', `CmdSN ${sn} (ExpCmdSN ${exp})`);
  }
  const again = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(again.status, 0, 'the session goes on');
  ini.close();
});

test('a command that arrives ahead of ExpCmdSN waits for the gap to fill, then both run in order', async () => {
  const ini = await session();
  const first = ini.cmdSN;
  ini.cmdSN = P.snAdd(first, 1);
  const later = ini.command({ cdb: cdb.testUnitReady() });
  const state = await Promise.race([later.then(() => 'answered'), delay(200).then(() => 'waiting')]);
  assert.equal(state, 'waiting');
  ini.cmdSN = first;
  const earlier = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(earlier.status, 0);
  assert.equal((await later).status, 0);
  ini.cmdSN = P.snAdd(first, 2);
  ini.close();
});

test('NOP-Out pings are echoed with their data; NOP-Out without an ITT gets no answer', async () => {
  const ini = await session();
  assert.deepEqual(await ini.nop(Buffer.from('nopping\0')), Buffer.from('nopping\0'));
  assert.deepEqual(await ini.nop(), Buffer.alloc(0));
  const h = P.initiatorHeader(P.OP_NOP_OUT, 0x80, 0, true);
  h.writeUInt32BE(0xffffffff, 16);
  h.writeUInt32BE(0xffffffff, 20);
  ini.sendPdu(h);
  await assert.rejects(ini.nextStray(300));
  ini.close();
});

test('ABORT TASK: a finished task does not exist; a task not yet arrived is aborted and then skipped', async () => {
  const ini = await session();
  const done = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(done.status, 0);
  assert.equal(await ini.taskManagement(P.TMF_ABORT_TASK, { referencedTaskTag: 12345, refCmdSN: P.snAdd(ini.cmdSN, -1 >>> 0) }), P.TMF_RSP_TASK_DOES_NOT_EXIST);
  // Abort CmdSN n before it is sent: n is consumed, and the command after it runs.
  const n = ini.cmdSN;
  assert.equal(await ini.taskManagement(P.TMF_ABORT_TASK, { referencedTaskTag: 999, refCmdSN: n }), P.TMF_RSP_COMPLETE);
  const skipped = ini.command({ cdb: cdb.testUnitReady() });
  const state = await Promise.race([skipped.then(() => 'answered'), delay(300).then(() => 'skipped')]);
  assert.equal(state, 'skipped');
  const next = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(next.status, 0);
  ini.close();
});

test('ABORT TASK of a write still waiting for its R2T data: function complete, and the write never answers', async () => {
  const ini = await session({ keys: { InitialR2T: 'Yes', ImmediateData: 'No' } });
  // Send the command by hand and keep its data back.
  const itt = ini.nextItt();
  const h = P.initiatorHeader(P.OP_SCSI_COMMAND, 0x80 | P.CMD_WRITE | 1, 0);
  h.writeUInt32BE(itt, 16);
  h.writeUInt32BE(4096, 20);
  const cmdSN = ini.cmdSN;
  h.writeUInt32BE(cmdSN, 24);
  ini.cmdSN = P.snAdd(cmdSN, 1);
  cdb.write10(0, 8).copy(h, 32);
  ini.sendPdu(h);
  const r2t = await ini.nextStray();
  assert.equal(P.opcodeOf(r2t.bhs), P.OP_R2T);
  assert.equal(r2t.bhs.readUInt32BE(44), 4096);
  assert.equal(await ini.taskManagement(P.TMF_ABORT_TASK, { referencedTaskTag: itt, refCmdSN: cmdSN }), P.TMF_RSP_COMPLETE);
  // Data-Out that was already on its way is dropped silently.
  const d = P.initiatorHeader(P.OP_SCSI_DATA_OUT, 0x80, 4096);
  d.writeUInt32BE(itt, 16);
  d.writeUInt32BE(r2t.bhs.readUInt32BE(20), 20);
  ini.sendPdu(d, Buffer.alloc(4096));
  await assert.rejects(ini.nextStray(300), /timed out/);
  assert.equal((await ini.command({ cdb: cdb.testUnitReady() })).status, 0);
  ini.close();
});

test('LUN RESET, ABORT TASK SET, CLEAR TASK SET and TARGET WARM RESET complete; CLEAR ACA and TASK REASSIGN are refused as the RFC says', async () => {
  const ini = await session();
  assert.equal(await ini.taskManagement(P.TMF_LOGICAL_UNIT_RESET, { lun: 0 }), P.TMF_RSP_COMPLETE);
  const ua = await ini.command({ cdb: cdb.testUnitReady() });
  assert.equal(ua.status, 2);
  assert.deepEqual(senseCodeOf(ua.sense), BUS_DEVICE_RESET_FUNCTION_OCCURRED);
  assert.equal(await ini.taskManagement(P.TMF_LOGICAL_UNIT_RESET, { lun: 7 }), P.TMF_RSP_LUN_DOES_NOT_EXIST);
  assert.equal(await ini.taskManagement(P.TMF_ABORT_TASK_SET, { lun: 0 }), P.TMF_RSP_COMPLETE);
  assert.equal(await ini.taskManagement(P.TMF_CLEAR_TASK_SET, { lun: 0 }), P.TMF_RSP_COMPLETE);
  assert.equal(await ini.taskManagement(P.TMF_TARGET_WARM_RESET), P.TMF_RSP_COMPLETE);
  assert.equal(await ini.taskManagement(P.TMF_CLEAR_ACA, { lun: 0 }), P.TMF_RSP_NOT_SUPPORTED);
  assert.equal(await ini.taskManagement(P.TMF_TASK_REASSIGN, { referencedTaskTag: 1 }), P.TMF_RSP_REASSIGNMENT_NOT_SUPPORTED);
  ini.close();
});

test('TARGET COLD RESET answers, then drops every connection of the target', async () => {
  const a = await session();
  const b = await session({ port: f.ports[1] });
  assert.equal(await a.taskManagement(P.TMF_TARGET_COLD_RESET), P.TMF_RSP_COMPLETE);
  await a.waitClosed();
  await b.waitClosed();
  const c = await session();
  const ua = await c.command({ cdb: cdb.testUnitReady() });
  assert.equal(ua.status, 0);
  c.close();
});

test('Logout (close session): a success response after the tasks in flight, then the target closes the connection', async () => {
  const ini = await session();
  const w = ini.command({ cdb: cdb.write10(0, 2048), dataOut: pattern(MiB, 5) });
  const code = await ini.logout(P.LOGOUT_CLOSE_SESSION);
  assert.equal(code, P.LOGOUT_RSP_SUCCESS);
  assert.equal((await w).status, 0, 'the write in flight was answered before the logout response');
  await ini.waitClosed();
  assert.ok(!f.server.sessions().some((s) => s.isid === ini.isid.toString('hex')));
});

test('Logout for recovery is not supported at ErrorRecoveryLevel 0; a wrong CID is not found', async () => {
  const ini = await session();
  assert.equal(await ini.logout(P.LOGOUT_REMOVE_FOR_RECOVERY), P.LOGOUT_RSP_RECOVERY_NOT_SUPPORTED);
  ini.cid = 5;
  assert.equal(await ini.logout(P.LOGOUT_CLOSE_CONNECTION), P.LOGOUT_RSP_CID_NOT_FOUND);
  ini.cid = 0;
  assert.equal(await ini.logout(P.LOGOUT_CLOSE_CONNECTION), P.LOGOUT_RSP_SUCCESS);
  await ini.waitClosed();
});

test('sessions() lists each normal session with its initiator, ISID, TSIH and portal; a new login on the same ISID reinstates', async () => {
  const isid = Buffer.from('80aabbccdd01', 'hex');
  const a = await session({ isid });
  const list = f.server.sessions().filter((s) => s.isid === '80aabbccdd01');
  assert.equal(list.length, 1);
  assert.equal(list[0]!.initiatorName, INITIATOR);
  assert.equal(list[0]!.portal, `127.0.0.1:${f.ports[0]}`);
  assert.equal(list[0]!.connections, 1);
  const tsihA = list[0]!.tsih;
  const b = await session({ isid });
  await a.waitClosed();
  const now = f.server.sessions().filter((s) => s.isid === '80aabbccdd01');
  assert.equal(now.length, 1);
  assert.notEqual(now[0]!.tsih, tsihA);
  // The same ISID through the other portal group is another session, not a reinstatement.
  const c = await session({ isid, port: f.ports[1] });
  assert.equal(f.server.sessions().filter((s) => s.isid === '80aabbccdd01').length, 2);
  b.close();
  c.close();
});

test('a login with the TSIH of a live session replaces its connection (same CID) and keeps the session', async () => {
  const isid = Buffer.from('80aabbccdd02', 'hex');
  const a = await session({ isid });
  const tsih = a.tsih;
  const b = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
  const r = await b.login({ initiatorName: INITIATOR, targetName: IQN, isid, tsih, cid: 0 });
  assert.equal(r.status, 0);
  assert.equal(r.tsih, tsih);
  await a.waitClosed();
  assert.equal((await b.command({ cdb: cdb.testUnitReady() })).status, 0);
  const c = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
  const r2 = await c.login({ initiatorName: INITIATOR, targetName: IQN, isid, tsih: 0x7777, cid: 0 });
  assert.equal(r2.status, P.LOGIN_SESSION_DOES_NOT_EXIST);
  b.close();
  c.close();
});

test('SendTargets=All in a discovery session lists the target with both portals as host:port,tpgt', async () => {
  const ini = await IscsiInitiator.connect('127.0.0.1', f.ports[1]);
  const r = await ini.login({ initiatorName: INITIATOR, sessionType: 'Discovery' });
  assert.equal(r.status, 0);
  assert.equal(r.keys.get('TargetPortalGroupTag'), '2');
  const st = await ini.text([['SendTargets', 'All']]);
  assert.deepEqual(st, [
    ['TargetName', IQN],
    ['TargetAddress', `127.0.0.1:${f.ports[0]},1`],
    ['TargetAddress', `127.0.0.1:${f.ports[1]},2`],
  ]);
  assert.deepEqual(await ini.text([['SendTargets', 'iqn.2000-01.com.example:nothing-here']]), []);
  assert.deepEqual(await ini.text([['SendTargets', 'Alle']]), [['SendTargets', 'Reject']]);
  assert.deepEqual(await ini.text([['SendTargetsPlease', 'All']]), [['SendTargetsPlease', 'NotUnderstood']]);
  // SCSI commands have no place in a discovery session.
  await assert.rejects(ini.command({ cdb: cdb.testUnitReady() }), IscsiRejectError);
  assert.equal(await ini.logout(), 0);
  await ini.waitClosed();
});

test('SendTargets in a normal session names this target; MaxRecvDataSegmentLength may be declared anew', async () => {
  const ini = await session();
  const st = await ini.text([['SendTargets', '']]);
  assert.equal(st[0]![1], IQN);
  assert.equal(st.length, 3);
  assert.deepEqual(
    await ini.text([
      ['MaxRecvDataSegmentLength', '8192'],
      ['MaxBurstLength', '512'],
    ]),
    [['MaxBurstLength', 'Reject']],
  );
  const r = await ini.command({ cdb: cdb.read10(0, 64), readLength: 32768 });
  assert.ok(r.dataInLengths.every((n) => n <= 8192));
  assert.equal(r.dataInLengths.length, 4);
  ini.close();
});

test('header and data digests (CRC32C): a 4 MiB write and read-back over digested PDUs', async () => {
  const ini = await session({ headerDigest: true, dataDigest: true });
  assert.ok(ini.headerDigest && ini.dataDigest);
  const data = pattern(4 * MiB, 6);
  assert.equal((await ini.command({ cdb: cdb.write10(20000, 8192), dataOut: data })).status, 0);
  const r = await ini.command({ cdb: cdb.read10(20000, 8192), readLength: 4 * MiB });
  assert.ok(r.dataIn.equals(data));
  assert.ok(f.logs.some((l) => l.includes('HeaderDigest=CRC32C DataDigest=CRC32C')));
  ini.close();
});

test('a Data-Out with a bad data digest is rejected (reason 02) and its command ends with ABORTED COMMAND', async () => {
  const ini = await session({ dataDigest: true, keys: { ImmediateData: 'No', InitialR2T: 'No' } });
  const itt = ini.nextItt();
  const h = P.initiatorHeader(P.OP_SCSI_COMMAND, P.CMD_WRITE | 1, 0);
  h.writeUInt32BE(itt, 16);
  h.writeUInt32BE(512, 20);
  h.writeUInt32BE(ini.cmdSN, 24);
  ini.cmdSN = P.snAdd(ini.cmdSN, 1);
  cdb.write10(0, 1).copy(h, 32);
  ini.sendPdu(h);
  const d = P.initiatorHeader(P.OP_SCSI_DATA_OUT, 0x80, 512);
  d.writeUInt32BE(itt, 16);
  d.writeUInt32BE(0xffffffff, 20);
  // Header, data, then a wrong digest.
  ini.sendRaw(Buffer.concat([d, Buffer.alloc(512, 1), Buffer.from([1, 2, 3, 4])]));
  const rej = await ini.nextStray();
  assert.equal(P.opcodeOf(rej.bhs), P.OP_REJECT);
  assert.equal(rej.bhs[2], P.REJECT_DATA_DIGEST_ERROR);
  const rsp = await ini.nextStray();
  assert.equal(P.opcodeOf(rsp.bhs), P.OP_SCSI_RESPONSE);
  assert.equal(rsp.bhs[3], 2);
  assert.deepEqual(senseCodeOf(rsp.data.subarray(2)), PROTOCOL_SERVICE_CRC_ERROR);
  assert.equal((await ini.command({ cdb: cdb.testUnitReady() })).status, 0);
  ini.close();
});

test('Data-Out out of sequence ends its command with DATA PHASE ERROR; the connection stays up', async () => {
  const ini = await session({ keys: { ImmediateData: 'No', InitialR2T: 'No' } });
  const itt = ini.nextItt();
  const h = P.initiatorHeader(P.OP_SCSI_COMMAND, P.CMD_WRITE | 1, 0);
  h.writeUInt32BE(itt, 16);
  h.writeUInt32BE(1024, 20);
  h.writeUInt32BE(ini.cmdSN, 24);
  ini.cmdSN = P.snAdd(ini.cmdSN, 1);
  cdb.write10(0, 2).copy(h, 32);
  ini.sendPdu(h);
  const d = P.initiatorHeader(P.OP_SCSI_DATA_OUT, 0x80, 512);
  d.writeUInt32BE(itt, 16);
  d.writeUInt32BE(0xffffffff, 20);
  d.writeUInt32BE(27, 36); // DataSN 27, expected 0
  ini.sendPdu(d, Buffer.alloc(512));
  const rsp = await ini.nextStray();
  assert.equal(P.opcodeOf(rsp.bhs), P.OP_SCSI_RESPONSE);
  assert.deepEqual(senseCodeOf(rsp.data.subarray(2)), DATA_PHASE_ERROR);
  assert.equal((await ini.command({ cdb: cdb.testUnitReady() })).status, 0);
  ini.close();
});

test('login failures over the wire: target not found 02/03, unsupported version 02/05; the target then closes', async () => {
  const a = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
  const r = await a.login({ initiatorName: INITIATOR, targetName: 'iqn.2026-11.io.kura:nope' });
  assert.equal(r.status, P.LOGIN_TARGET_NOT_FOUND);
  await a.waitClosed();
  const b = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
  const h = P.initiatorHeader(P.OP_LOGIN_REQUEST, 0x80 | (1 << 2) | 3, 0, true);
  h[2] = 5;
  h[3] = 2;
  h.writeUInt32BE(1, 16);
  b.sendPdu(h);
  const rsp = await b.nextStray();
  assert.equal(P.opcodeOf(rsp.bhs), P.OP_LOGIN_RESPONSE);
  assert.deepEqual([rsp.bhs[36], rsp.bhs[37]], [2, 5]);
  await b.waitClosed();
});

test('anything but a Login Request before full feature phase ends the login with 02/0b', async () => {
  const a = await IscsiInitiator.connect('127.0.0.1', f.ports[0]);
  const h = P.initiatorHeader(P.OP_SCSI_COMMAND, 0x80, 0);
  h.writeUInt32BE(77, 16);
  a.sendPdu(h);
  const rsp = await a.nextStray();
  assert.equal(P.opcodeOf(rsp.bhs), P.OP_LOGIN_RESPONSE);
  assert.deepEqual([rsp.bhs[36], rsp.bhs[37]], [2, 0x0b]);
  await a.waitClosed();
});

test("portalDown drops the portal's connections and refuses new ones; SendTargets leaves it out; portalUp brings it back", async () => {
  const a = await session({ port: f.ports[1] });
  const b = await session({ port: f.ports[0] });
  f.server.portalDown('127.0.0.1', f.ports[1]);
  await a.waitClosed();
  await assert.rejects(IscsiInitiator.connect('127.0.0.1', f.ports[1]));
  assert.equal((await b.command({ cdb: cdb.testUnitReady() })).status, 0, 'the other portal is untouched');
  const st = await b.text([['SendTargets', 'All']]);
  assert.deepEqual(
    st.filter(([k]) => k === 'TargetAddress').map(([, v]) => v),
    [`127.0.0.1:${f.ports[0]},1`],
  );
  await f.server.portalUp('127.0.0.1', f.ports[1]);
  const c = await session({ port: f.ports[1] });
  assert.equal((await c.command({ cdb: cdb.testUnitReady() })).status, 0);
  b.close();
  c.close();
});

test('many sessions with many commands in flight: 8 sessions x 32 concurrent 64 KiB writes, then reads, all intact', async () => {
  const inis = await Promise.all(Array.from({ length: 8 }, (_, i) => session({ port: f.ports[i % 2] })));
  const size = 64 * 1024;
  const blocks = size / 512;
  await Promise.all(
    inis.map(async (ini, s) => {
      const writes = Array.from({ length: 32 }, (_, i) =>
        ini.command({ cdb: cdb.write10((s * 32 + i) * blocks, blocks), dataOut: pattern(size, s * 100 + i) }),
      );
      for (const w of await Promise.all(writes)) assert.equal(w.status, 0);
    }),
  );
  await Promise.all(
    inis.map(async (ini, s) => {
      const reads = Array.from({ length: 32 }, (_, i) => ini.command({ cdb: cdb.read10((s * 32 + i) * blocks, blocks), readLength: size }));
      (await Promise.all(reads)).forEach((r, i) => assert.ok(r.dataIn.equals(pattern(size, s * 100 + i)), `session ${s} command ${i}`));
    }),
  );
  for (const ini of inis) ini.close();
});
