// PathManager behaviour as the seed (pathmanager-summary.md, "PM", line numbers
// L) defines it, over an in-process target with two portals: priority decides
// the path in use (L61, L65), initial priorities and their persistence
// (L84-87), the monitoring READ of the path patrol and its idle threshold
// (L92-95), path numbers with omitted fields (L145), and every event of the
// seed's Table 3-2 (L119-140) provoked and carrying its id and level.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { KuraError } from '../../src/errors.js';
import type { MultipathDevice } from '../../src/pathmgr/device.js';
import { PathLog } from '../../src/pathmgr/log.js';
import { PathManager } from '../../src/pathmgr/manager.js';
import * as S from '../../src/scsi/spec/index.js';
import { formatDevices } from '../../src/cli/path.js';
import { relay, startPmTarget, until } from './fixture.js';
import type { PmTarget, Relay } from './fixture.js';

const INITIATOR = 'iqn.2026-11.io.kura:pm-seed-test';
let fx: PmTarget;
let tmp: string;
const managers: PathManager[] = [];
const relays: Relay[] = [];

before(async () => {
  fx = await startPmTarget(2);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-seed-'));
});

after(async () => {
  for (const m of managers) await m.close();
  for (const r of relays) await r.close();
  await fx.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function manager(
  sub: string,
  ports: number[],
  o: { stateFile?: string; threshold?: number; commandTimeoutMs?: number } = {},
): Promise<{ m: PathManager; log: PathLog }> {
  const log = new PathLog({ dir: path.join(tmp, sub) });
  const m = new PathManager({
    stateFile: o.stateFile,
    portals: ports.map((port) => ({ host: '127.0.0.1', port })),
    initiatorName: `${INITIATOR}-${sub}`,
    log,
    watcher: { interval: 1, threshold: o.threshold ?? 1, timeout: 1 },
    settings: { noPathRetryMs: 5000, commandTimeoutMs: o.commandTimeoutMs ?? 5000 },
  });
  managers.push(m);
  await m.rescan();
  return { m, log };
}

async function relayTo(port: number): Promise<Relay> {
  const r = await relay(port);
  relays.push(r);
  return r;
}

/** The device of LUN 0 and its paths through controller 0 (optimized) and 1. */
function lun0(m: PathManager): { dev: MultipathDevice; c0: MultipathDevice['paths'][number]; c1: MultipathDevice['paths'][number] } {
  const dev = m.devices.find((d) => d.paths.some((p) => p.lun === 0))!;
  return { dev, c0: dev.paths.find((p) => p.alua === 'active/optimized')!, c1: dev.paths.find((p) => p.alua === 'active/non-optimized')! };
}

test('PM L61/L65: the highest-priority usable path carries the I/O under the default alua grouping, even over an optimized one', async () => {
  const { m } = await manager('prio', fx.ports);
  const { dev, c0, c1 } = lun0(m);
  assert.equal(m.settings.grouping, 'alua');
  m.setPathAdminState(c1.number, 'available');
  m.setPriority(c0.number, 1);
  m.setPriority(c1.number, 253);
  assert.equal(c1.state, 'in-use', 'priority 253 (non-optimized) carries the I/O over priority 1 (optimized)');
  assert.equal(c0.state, 'active');
  const before = { c0: c0.stats.writes, c1: c1.stats.writes };
  for (let i = 0; i < 4; i++) await dev.write(i * 8, crypto.randomBytes(4096));
  assert.deepEqual({ c0: c0.stats.writes - before.c0, c1: c1.stats.writes - before.c1 }, { c0: 0, c1: 4 });
  // The seed's -priority example: the path given the new highest priority is in use at once.
  m.setPriority(c0.number, 254);
  assert.equal(c0.state, 'in-use');
  assert.equal(c1.state, 'active');
});

test('PM L84-87: the first path found gets priority 1 and is in use, the next priority 2 and standby; both survive a restart without changes', async () => {
  const stateFile = path.join(tmp, 'initial-state.json');
  // The non-optimized portal is listed first: Kura looks at optimized ports first, so the owner's path is "found first".
  const { m } = await manager('initial1', [fx.ports[1], fx.ports[0]], { stateFile });
  const { c0, c1 } = lun0(m);
  assert.deepEqual([c0.priority, c0.state], [1, 'in-use']);
  assert.deepEqual([c1.priority, c1.state], [2, 'standby']);
  await m.close();
  const { m: again } = await manager('initial2', [fx.ports[1], fx.ports[0]], { stateFile });
  const x = lun0(again);
  assert.deepEqual([x.c0.priority, x.c0.state, x.c1.priority, x.c1.state], [1, 'in-use', 2, 'standby']);
  // A change is kept too (rule /3/): enable the second path and give the first priority 9.
  again.setPathAdminState(x.c1.number, 'available');
  again.setPriority(x.c0.number, 9);
  await again.close();
  const { m: third } = await manager('initial3', [fx.ports[1], fx.ports[0]], { stateFile });
  const y = lun0(third);
  assert.deepEqual([y.c0.priority, y.c0.state, y.c1.priority, y.c1.state], [9, 'in-use', 2, 'active']);
});

test('PM L92-95: the health check sends a READ of block 0 to paths idle for the threshold only, and fails a path that answers TEST UNIT READY but not READ', async () => {
  const r0 = await relayTo(fx.ports[0]);
  const r1 = await relayTo(fx.ports[1]);
  fx.visible = [0];
  const { m, log } = await manager('patrol', [r0.port, r1.port], { threshold: 3600 });
  fx.visible = [0, 1];
  const { dev, c0, c1 } = lun0(m);
  // Paths never used are idle: the first round checks them.
  const reads0 = { r0: r0.reads, r1: r1.reads };
  await m.patrol();
  assert.ok(r0.reads > reads0.r0 && r1.reads > reads0.r1, 'the monitoring command is a READ');
  // Within the threshold (3600 s) no path gets a monitoring READ.
  const reads1 = { r0: r0.reads, r1: r1.reads };
  await m.patrol();
  assert.deepEqual({ r0: r0.reads, r1: r1.reads }, reads1);
  // Threshold 1 s: a path busy with I/O is not checked, an idle one is.
  m.setWatcher({ threshold: 1 });
  await new Promise((r) => setTimeout(r, 1100));
  await dev.write(0, Buffer.alloc(4096, 1));
  const reads2 = { r0: r0.reads, r1: r1.reads };
  await m.patrol();
  assert.equal(r0.reads, reads2.r0, 'the in-use path wrote within the threshold: no monitoring READ');
  assert.ok(r1.reads > reads2.r1, 'the idle path got its monitoring READ');
  // A path that logs in and answers TEST UNIT READY but whose READs get lost is failed by the health check.
  r1.mode = 'drop-reads';
  await new Promise((r) => setTimeout(r, 1100));
  const tur = await c1.session.command({ lun: c1.lun, cdb: S.cdb.testUnitReady(), timeoutMs: 2000 });
  assert.equal(tur.status, S.GOOD, 'TEST UNIT READY still works on the path');
  await dev.write(0, Buffer.alloc(4096, 2));
  await m.patrol();
  assert.equal(c1.state, 'failed');
  assert.match(c1.reason, /health check: the monitoring READ of block 0 failed/);
  assert.notEqual(c0.state, 'failed');
  assert.ok(log.recent.some((e) => e.id === 'KURA-W7006' && e.text.includes(c1.number)));
  r1.mode = 'pass';
});

test('PM L145: a path number with omitted fields names every path it matches (0::: is every path through portal 0)', async () => {
  const { m } = await manager('partial', fx.ports);
  assert.equal(m.devices.length, 2);
  const throughPortal1 = m.devices.flatMap((d) => d.paths).filter((p) => p.number.startsWith('1:'));
  assert.equal(throughPortal1.length, 2);
  for (const p of throughPortal1) m.setPathAdminState(p.number, 'available');
  m.setPathAdminState('1:::', 'standby');
  assert.deepEqual(
    throughPortal1.map((p) => p.state),
    ['standby', 'standby'],
  );
  m.setPathAdminState(':::1', 'available');
  const lun1 = m.devices.find((d) => d.paths.every((p) => p.lun === 1))!;
  assert.ok(lun1.paths.every((p) => p.state === 'in-use' || p.state === 'active'));
  assert.throws(
    () => m.setPathAdminState('7:::', 'available'),
    (e: KuraError) => e.id === 'KURA-E7017',
  );
  assert.throws(
    () => m.setPriority('1:::', 50),
    (e: KuraError) => e.id === 'KURA-E7018',
    'a priority is for one path',
  );
});

test('PM L12-28, L60: kura path show prints LogicalUnit #N blocks, seed path lines and [round robin]; --sort priority sorts every policy by priority', () => {
  const p = (number: string, priority: number, state: string, index: number) => ({
    number,
    portal: `127.0.0.1:${3260 + Number(number[0])}`,
    target: 'iqn.x',
    lun: 0,
    state,
    priority,
    alua: 'active/optimized',
    marginal: false,
    reason: '',
    inflight: 0,
    index,
  });
  const devs = [
    {
      id: 'naa.1',
      export: 'mpatha',
      policy: 'failover',
      blockSize: 512,
      blockCount: 8,
      reservationKey: null,
      logicalUnit: 0,
      paths: [p('0:0:0:0', 1, 'active', 0), p('1:0:0:0', 2, 'in-use', 1)],
    },
    {
      id: 'naa.2',
      export: 'mpathb',
      policy: 'round-robin',
      blockSize: 512,
      blockCount: 8,
      reservationKey: null,
      logicalUnit: 1,
      paths: [p('1:0:0:1', 1, 'standby', 1), p('0:0:0:1', 2, 'in-use', 0)],
    },
  ];
  const out = formatDevices(devs, 'priority').split('\n');
  assert.equal(out[0], '*** LogicalUnit #0 *** mpatha naa.1');
  assert.equal(out[1], '> 1: Priority=2, PathNumber=1:0:0:0, Portal=127.0.0.1:3261, ALUA=active/optimized, State=in-use');
  assert.equal(out[2], '  0: Priority=1, PathNumber=0:0:0:0, Portal=127.0.0.1:3260, ALUA=active/optimized, State=active');
  assert.equal(out[3], '+++ LogicalUnit #1 +++ [round robin] mpathb naa.2');
  assert.match(out[4]!, /^> 0: Priority=2, PathNumber=0:0:0:1,/, '--sort priority: the round-robin LU by priority too');
  assert.match(out[5]!, /^@ 1: Priority=1, PathNumber=1:0:0:1,/);
  const byPath = formatDevices(devs, 'path').split('\n');
  assert.match(byPath[1]!, /^ {2}0: Priority=1, PathNumber=0:0:0:0,/);
});

/** The seed's Table 3-2 (PM L119-140): event id and level. */
const SEED_TABLE: Array<[number, string]> = [
  [257, 'Info'],
  [258, 'Warn'],
  [259, 'Err'],
  [262, 'Err'],
  [263, 'Info'],
  [264, 'Info'],
  [265, 'Info'],
  [266, 'Err'],
  [267, 'Info'],
  [268, 'Info'],
  [269, 'Info'],
  [270, 'Info'],
  [271, 'Info'],
  [272, 'Info'],
  [273, 'Info'],
  [274, 'Info'],
  [275, 'Info'],
  [276, 'Warn'],
  [277, 'Info'],
  [278, 'Warn'],
];

test("PM L115-140: every event of the seed's table is raised with its id and level, in the events and the log file", { timeout: 60_000 }, async () => {
  const r0 = await relayTo(fx.ports[0]);
  const r1 = await relayTo(fx.ports[1]);
  fx.visible = [0];
  const { m, log } = await manager('events', [r0.port, r1.port], { threshold: 3600, commandTimeoutMs: 700 });
  const { dev, c0, c1 } = lun0(m);
  // 264/265/266: priority changes, one refused.
  assert.throws(
    () => m.setPriority(c1.number, 300),
    (e: KuraError) => e.id === 'KURA-E7020',
  );
  m.setPriority(c1.number, 3);
  // 267/268/269: balancing mode changes, one refused.
  assert.throws(
    () => m.setPolicy(dev.name, 'bogus'),
    (e: KuraError) => e.id === 'KURA-E7024',
  );
  m.setPolicy(dev.name, 'round-robin');
  m.setPolicy(dev.name, 'failover');
  // 277: mode changed.
  m.setMode({ failback: 'auto' });
  // 275: priority enabled; path 1 (priority 3) now carries the I/O.
  m.setPathAdminState(c1.number, 'available');
  assert.equal(c1.state, 'in-use');
  // 270, 257, 258, 278: the in-use path stops answering during I/O: failover to path 0, one path left.
  r1.mode = 'blackhole';
  await dev.write(64, Buffer.alloc(4096, 3));
  assert.equal(c1.state, 'failed');
  assert.equal(c0.state, 'in-use');
  // 276: a failed path cannot be enabled.
  assert.throws(
    () => m.setPathAdminState(c1.number, 'available'),
    (e: KuraError) => e.id === 'KURA-E7019',
  );
  // 262: the path logs in again but its monitoring READ gets no answer.
  r1.mode = 'drop-reads';
  await m.recover();
  assert.equal(c1.state, 'failed');
  // 263, 272, 273: it answers again; auto failback moves the I/O back to it (priority 3 > 1).
  r1.mode = 'pass';
  await m.recover();
  assert.equal(c1.state, 'in-use');
  // 259: the in-use path fails with no other path usable.
  m.setPathAdminState(c0.number, 'unavailable');
  m.setMode({ noPathRetry: 0 });
  r1.mode = 'blackhole';
  await assert.rejects(dev.write(64, Buffer.alloc(4096, 4)), (e: KuraError) => e.id === 'KURA-E7009');
  r1.mode = 'pass';
  m.setPathAdminState(c0.number, 'available');
  // 271: the health check's monitoring READ fails on an idle path.
  r0.mode = 'drop-reads';
  m.setWatcher({ threshold: 1 });
  c0.lastIo = 0;
  await m.patrol();
  assert.equal(c0.state, 'failed');
  r0.mode = 'pass';
  // 274: the LU is unmapped on the array; a rescan removes its paths. Mapped again, they return.
  fx.visible = [];
  assert.equal(await m.rescan(), 0);
  assert.equal(dev.paths.length, 0);
  fx.visible = [0, 1];
  assert.ok((await m.rescan()) >= 2);
  assert.equal(
    m.devices.find((d) => d.id === dev.id),
    dev,
    'the LU returns as the same device',
  );
  assert.ok(await until(() => dev.paths.length === 2));

  type Seeded = { id: string; text: string; seedEvent?: number; seedLevel?: string };
  const seen = log.recent as Seeded[];
  const missing = SEED_TABLE.filter(([id, level]) => !seen.some((e) => e.seedEvent === id && e.seedLevel === level)).map(([id]) => id);
  assert.deepEqual(missing, [], `seed events not raised: ${missing.join(', ')}\n${seen.map((e) => `${e.id} ${e.seedEvent ?? ''} ${e.text}`).join('\n')}`);
  const file = fs.readFileSync(log.file!, 'utf8');
  for (const [id, level] of SEED_TABLE)
    assert.match(file, new RegExp(`KURA-[EWI]70\\d\\d .*\\[PathManager event ${id} ${level}\\]$`, 'm'), `log line of event ${id}`);
  // Each seed event has its own Kura id meaning: spot-check a few.
  const kuraIdOf = (seed: number) => new Set(seen.filter((e) => e.seedEvent === seed).map((e) => e.id));
  assert.deepEqual([...kuraIdOf(258)], ['KURA-W7007']);
  assert.deepEqual([...kuraIdOf(263)], ['KURA-I7016']);
  assert.deepEqual([...kuraIdOf(270)], ['KURA-W7006']);
  assert.deepEqual([...kuraIdOf(271)], ['KURA-W7006']);
});
