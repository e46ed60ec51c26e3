// The transport's side of the contract with the SCSI layer, seen through a
// scripted ScsiExecutor: the I_T nexus it builds from login and portal, the
// commands it hands over (CDB, LUN, all Data-Out, EDTL, attribute), the events
// (nexus created / lost) and task management functions it passes on, aborts
// of executing tasks, write residuals from dataOutLength, and keepalives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import * as P from '../../src/iscsi/pdu.js';
import { IscsiTargetServer } from '../../src/iscsi/server.js';
import type { ScsiExecutor } from '../../src/iscsi/types.js';
import type { ItNexus, ScsiCommand, ScsiResponse } from '../../src/scsi/types.js';
import { cdb } from '../../src/scsi/spec/index.js';
import { INITIATOR, IQN, pattern } from './helpers.js';

type TmfCall = { nexus: ItNexus; fn: string; lun?: number };

class ScriptedScsi implements ScsiExecutor {
  commands: ScsiCommand[] = [];
  tmfs: TmfCall[] = [];
  created: ItNexus[] = [];
  /** Commands wait for release() when holding. */
  holding = false;
  private held: Array<() => void> = [];
  answer: (cmd: ScsiCommand) => ScsiResponse & { dataOutLength?: number } = () => ({ status: 0 });

  async execute(cmd: ScsiCommand): Promise<ScsiResponse> {
    this.commands.push(cmd);
    if (this.holding) await new Promise<void>((r) => this.held.push(r));
    return this.answer(cmd);
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
  taskManagement(nexus: ItNexus, fn: TmfCall['fn'], lun?: number): number {
    this.tmfs.push({ nexus, fn, lun });
    return 0;
  }
  nexusCreated(nexus: ItNexus): void {
    this.created.push(nexus);
  }
}

async function serve(t: TestContext, o: { keepaliveMs?: number } = {}) {
  const scsi = new ScriptedScsi();
  const server = new IscsiTargetServer({
    targetName: IQN,
    portals: [
      { host: '127.0.0.1', port: 0, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 },
      { host: '127.0.0.1', port: 0, controller: 1, portalGroupTag: 0x12, relativeTargetPortId: 5 },
    ],
    scsi,
    keepaliveMs: o.keepaliveMs ?? 0,
  });
  await server.listen();
  t.after(() => server.close());
  const ports = server.addresses().map((a) => a.port);
  const login = async (port = ports[0]!, isid = Buffer.from('023d00000001', 'hex')) => {
    const ini = await IscsiInitiator.connect('127.0.0.1', port);
    const r = await ini.login({ initiatorName: INITIATOR, targetName: IQN, isid });
    assert.equal(r.status, 0);
    t.after(() => ini.close());
    return ini;
  };
  return { scsi, server, ports, login };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the I_T nexus names initiator port, target port, relative port id and port group from the login and the portal', async (t) => {
  const { scsi, login, ports } = await serve(t);
  const a = await login(ports[1]);
  assert.equal(scsi.created.length, 1);
  assert.deepEqual(scsi.created[0], {
    initiatorPort: `${INITIATOR},i,0x023d00000001`,
    initiatorName: INITIATOR,
    relativeTargetPortId: 5,
    targetPort: `${IQN},t,0x0012`,
    targetPortGroup: 1,
  });
  await a.command({ cdb: cdb.testUnitReady() });
  assert.deepEqual(scsi.commands[0]!.nexus, scsi.created[0]);
});

test('a command reaches the SCSI layer with its LUN, CDB, attribute, EDTL and all its Data-Out in one buffer', async (t) => {
  const { scsi, login } = await serve(t);
  const ini = await login();
  const data = pattern(1 << 20, 7);
  await ini.command({ lun: 3, cdb: cdb.write10(8, 2048), dataOut: data, attribute: 2, immediate: 1000 });
  const c = scsi.commands.at(-1)!;
  assert.equal(c.lun, 3);
  assert.deepEqual(c.cdb.subarray(0, 10), cdb.write10(8, 2048));
  assert.equal(c.taskAttribute, 2);
  assert.equal(c.expectedDataLength, 1 << 20);
  assert.ok(c.dataOut!.equals(data));
  // A 32-byte CDB arrives whole through the Extended CDB AHS.
  const long = Buffer.alloc(32, 0x5a);
  long[0] = 0x7f;
  await ini.command({ cdb: long });
  assert.deepEqual(scsi.commands.at(-1)!.cdb, long);
});

test('dataOutLength from the SCSI layer decides the write residual', async (t) => {
  const { scsi, login } = await serve(t);
  const ini = await login();
  scsi.answer = () => ({ status: 0, dataOutLength: 512 });
  const under = await ini.command({ cdb: cdb.write10(0, 1), dataOut: Buffer.alloc(1536) });
  assert.deepEqual([under.residualFlags, under.residual], [P.RSP_UNDERFLOW, 1024]);
  scsi.answer = () => ({ status: 2, sense: Buffer.from('700005000000000a00000000260000000000', 'hex'), dataOutLength: 1024 });
  const over = await ini.command({ cdb: cdb.write10(0, 2), dataOut: Buffer.alloc(200) });
  assert.equal(over.status, 2);
  assert.deepEqual([over.residualFlags, over.residual], [P.RSP_OVERFLOW, 824]);
});

test('status with sense never rides on Data-In; GOOD status does', async (t) => {
  const { scsi, login } = await serve(t);
  const ini = await login();
  scsi.answer = () => ({ status: 2, sense: Buffer.from('70000100000000' + '0a000000000000000000', 'hex'), dataIn: Buffer.alloc(600, 1) });
  const r = await ini.command({ cdb: cdb.read10(0, 2), readLength: 1024 });
  assert.equal(r.statusInDataIn, false);
  assert.equal(r.status, 2);
  assert.equal(r.dataIn.length, 600);
  assert.deepEqual([r.residualFlags, r.residual], [P.RSP_UNDERFLOW, 424]);
  scsi.answer = () => ({ status: 0, dataIn: Buffer.alloc(600, 1) });
  const g = await ini.command({ cdb: cdb.read10(0, 2), readLength: 1024 });
  assert.equal(g.statusInDataIn, true);
});

test('ABORT TASK of an executing task answers only after the SCSI layer finished it, and the task gets no response', async (t) => {
  const { scsi, login } = await serve(t);
  const ini = await login();
  scsi.holding = true;
  const cmdSN = ini.cmdSN;
  let answered = false;
  const w = ini.command({ cdb: cdb.write10(0, 8), dataOut: Buffer.alloc(4096) });
  void w.then(
    () => (answered = true),
    () => undefined,
  );
  await delay(50);
  assert.equal(scsi.commands.length, 1);
  const tmf = ini.taskManagement(P.TMF_ABORT_TASK, { referencedTaskTag: ini.lastItt, refCmdSN: cmdSN });
  const early = await Promise.race([tmf.then(() => 'answered'), delay(100).then(() => 'waiting')]);
  assert.equal(early, 'waiting', 'no TMF response while the task still executes');
  scsi.release();
  assert.equal(await tmf, P.TMF_RSP_COMPLETE);
  await delay(100);
  assert.equal(answered, false, 'the aborted write is not answered');
  scsi.holding = false;
  assert.equal((await ini.command({ cdb: cdb.testUnitReady() })).status, 0);
});

test("LUN RESET, ABORT/CLEAR TASK SET and the target resets reach the SCSI layer with the session's nexus", async (t) => {
  const { scsi, login } = await serve(t);
  const ini = await login();
  await ini.taskManagement(P.TMF_LOGICAL_UNIT_RESET, { lun: 2 });
  await ini.taskManagement(P.TMF_ABORT_TASK_SET, { lun: 1 });
  await ini.taskManagement(P.TMF_CLEAR_TASK_SET, { lun: 1 });
  await ini.taskManagement(P.TMF_TARGET_WARM_RESET);
  assert.deepEqual(
    scsi.tmfs.map((x) => [x.fn, x.lun]),
    [
      ['lun-reset', 2],
      ['abort-task-set', 1],
      ['clear-task-set', 1],
      ['target-warm-reset', undefined],
    ],
  );
  assert.equal(scsi.tmfs[0]!.nexus.initiatorName, INITIATOR);
});

test('the end of a session is an I_T nexus loss: logout, a dropped connection, and reinstatement', async (t) => {
  const { scsi, login } = await serve(t);
  const a = await login();
  assert.equal(await a.logout(), 0);
  await a.waitClosed();
  assert.equal(scsi.tmfs.filter((x) => x.fn === 'nexus-loss').length, 1);
  const b = await login();
  b.close();
  await delay(100);
  assert.equal(scsi.tmfs.filter((x) => x.fn === 'nexus-loss').length, 2);
  const c = await login();
  const d = await login();
  await c.waitClosed();
  assert.equal(scsi.tmfs.filter((x) => x.fn === 'nexus-loss').length, 3, "the reinstated session's nexus is lost");
  assert.equal(scsi.created.length, 4);
  d.close();
});

test('keepalive: an idle connection gets NOP-In pings; one that answers stays, one that does not is dropped', async (t) => {
  const { login } = await serve(t, { keepaliveMs: 300 });
  const good = await login(undefined, Buffer.from('023d00000002', 'hex'));
  const silent = await login(undefined, Buffer.from('023d00000003', 'hex'));
  silent.ignorePings = true;
  await silent.waitClosed(3000);
  assert.ok(
    good.stray.some((p) => P.opcodeOf(p.bhs) === P.OP_NOP_IN),
    'pinged',
  );
  assert.equal((await good.command({ cdb: cdb.testUnitReady() })).status, 0);
});

test('a login that never finishes is closed after the login timeout', async (t) => {
  const scsi = new ScriptedScsi();
  const server = new IscsiTargetServer({
    targetName: IQN,
    portals: [{ host: '127.0.0.1', port: 0, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 }],
    scsi,
    loginTimeoutMs: 200,
  });
  await server.listen();
  t.after(() => server.close());
  const ini = await IscsiInitiator.connect('127.0.0.1', server.addresses()[0]!.port);
  await ini.waitClosed(2000);
});

test('bad configurations are refused with KURA-E6xxx ids', () => {
  const scsi = new ScriptedScsi();
  const portal = { host: '127.0.0.1', port: 3260, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 };
  assert.throws(() => new IscsiTargetServer({ targetName: 'not an iqn', portals: [portal], scsi }), /KURA-E6001|not a valid iSCSI name/);
  assert.throws(
    () => new IscsiTargetServer({ targetName: IQN, portals: [], scsi }),
    (e: Error & { id?: string }) => e.id === 'KURA-E6002',
  );
  assert.throws(
    () => new IscsiTargetServer({ targetName: IQN, portals: [portal, portal], scsi }),
    (e: Error & { id?: string }) => e.id === 'KURA-E6003',
  );
  assert.throws(
    () => new IscsiTargetServer({ targetName: IQN, portals: [{ ...portal, portalGroupTag: 0 }], scsi }),
    (e: Error & { id?: string }) => e.id === 'KURA-E6004',
  );
  assert.throws(
    () => new IscsiTargetServer({ targetName: IQN, portals: [portal], scsi, chap: { targetSecret: 'x' } }),
    (e: Error & { id?: string }) => e.id === 'KURA-E6006',
  );
});

test('a portal whose port is taken fails listen() with KURA-E6010', async (t) => {
  const scsi = new ScriptedScsi();
  const a = new IscsiTargetServer({
    targetName: IQN,
    portals: [{ host: '127.0.0.1', port: 0, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 }],
    scsi,
  });
  await a.listen();
  t.after(() => a.close());
  const port = a.addresses()[0]!.port;
  const b = new IscsiTargetServer({ targetName: IQN, portals: [{ host: '127.0.0.1', port, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 }], scsi });
  await assert.rejects(b.listen(), (e: Error & { id?: string }) => e.id === 'KURA-E6010');
});
