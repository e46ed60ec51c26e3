// The path manager over a real in-process iSCSI target with two portals
// (controllers 0 and 1): discovery and grouping by the VPD 0x83 designator,
// the path state machine, failover with the I/O retried on the other path,
// recovery/failback by the patrol, the balancing policies, queueing while no
// path is usable, and persistent reservations through the manager (a second
// host is fenced).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KuraError } from '../../src/errors.js';
import { PathLog } from '../../src/pathmgr/log.js';
import { PathManager, exportName } from '../../src/pathmgr/manager.js';
import { canTransition } from '../../src/pathmgr/path.js';
import { INITIATOR, INITIATOR2, startTarget } from '../iscsi/helpers.js';
import type { TargetFixture } from '../iscsi/helpers.js';

let fx: TargetFixture;
let logDir: string;
const managers: PathManager[] = [];

before(async () => {
  fx = await startTarget();
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-unit-'));
});

after(async () => {
  for (const m of managers) await m.close();
  await fx.close();
  fs.rmSync(logDir, { recursive: true, force: true });
});

/**
 * A TCP relay in front of a portal that can black-hole traffic: the network
 * dropping packets without resetting the connection (a pulled cable), which
 * only a command timeout or keepalive can detect.
 */
async function relay(targetPort: number): Promise<{ port: number; blackhole(on: boolean): void; close(): Promise<void> }> {
  let holed = false;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    const up = net.connect(targetPort, '127.0.0.1');
    socks.add(c).add(up);
    c.on('data', (d) => {
      if (!holed) up.write(d);
    });
    up.on('data', (d) => {
      if (!holed) c.write(d);
    });
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    blackhole: (on) => (holed = on),
    close: () => {
      for (const s of socks) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

async function manager(initiatorName = INITIATOR, sub = 'a', ports: number[] = fx.ports, stateFile?: string): Promise<{ m: PathManager; log: PathLog }> {
  const log = new PathLog({ dir: path.join(logDir, sub) });
  const m = new PathManager({
    stateFile,
    keepaliveMs: sub === 'keepalive' ? 300 : undefined,
    portals: ports.map((port) => ({ host: '127.0.0.1', port })),
    initiatorName,
    log,
    watcher: { interval: 1, threshold: 1, timeout: 5 },
    settings: { noPathRetryMs: 5000, commandTimeoutMs: sub === 'timeout' ? 500 : 5000 },
  });
  managers.push(m);
  await m.rescan();
  return { m, log };
}

test('state machine: only the listed transitions are allowed', () => {
  assert.ok(canTransition('in-use', 'failed'));
  assert.ok(canTransition('failed', 'active'));
  assert.ok(!canTransition('failed', 'in-use'), 'a failed path must pass through active or standby before it carries I/O');
  assert.ok(!canTransition('unavailable', 'in-use'));
  assert.equal(exportName(0), 'mpatha');
  assert.equal(exportName(26), 'mpathaa');
});

test("discovery groups the two portals' paths to one LU into one device, prefers the ALUA optimized one, and I/O round-trips", async () => {
  const { m } = await manager();
  assert.equal(m.devices.length, 1);
  const dev = m.devices[0]!;
  assert.match(dev.id, /^naa\.[0-9a-f]{16,32}$/);
  assert.equal(dev.paths.length, 2);
  assert.deepEqual(
    dev.paths.map((p) => p.alua),
    ['active/optimized', 'active/non-optimized'],
  );
  assert.deepEqual(
    dev.paths.map((p) => p.priority),
    [1, 2],
    "the seed's initial priorities: the first path found (the ALUA optimized one) 1, the next 2",
  );
  assert.deepEqual(
    dev.paths.map((p) => p.state),
    ['in-use', 'standby'],
    "the first path carries the I/O; the next one's priority is disabled (standby)",
  );
  assert.equal(dev.blockSize, 512);
  assert.equal(dev.blockCount * dev.blockSize, 64 << 20);
  const data = crypto.randomBytes(64 * 1024);
  await dev.write(100, data, { fua: true });
  assert.deepEqual(await dev.read(100, 128), data);
  await dev.flush();
  await dev.writeZeroes(100, 8);
  assert.deepEqual(await dev.read(100, 8), Buffer.alloc(4096));
  await dev.unmap([{ lba: 108, blocks: 8 }]);
  assert.deepEqual(await dev.read(108, 8), Buffer.alloc(4096));
  assert.ok(dev.paths[0]!.stats.writes >= 1 && dev.paths[1]!.stats.writes === 0);
});

test('a portal going down mid-I/O fails the path over without an I/O error; the patrol fails it back', async () => {
  const { m, log } = await manager(INITIATOR, 'failover');
  m.start();
  const dev = m.devices[0]!;
  const [p0, p1] = dev.paths;
  const pattern = crypto.randomBytes(512 * 64);
  // Keep I/O running while controller 0's portal drops.
  let stop = false;
  let ios = 0;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const lba = (i % 256) * 64;
      await dev.write(lba, pattern);
      assert.deepEqual(await dev.read(lba, 64), pattern);
      ios++;
    }
  })();
  while (ios < 5) await new Promise((r) => setTimeout(r, 10));
  fx.server.portalDown('127.0.0.1', fx.ports[0]);
  const before = ios;
  while (ios < before + 20) await new Promise((r) => setTimeout(r, 10));
  assert.equal(p0!.state, 'failed');
  assert.equal(p1!.state, 'in-use');
  await fx.server.portalUp('127.0.0.1', fx.ports[0]);
  // The recovery check (1 s interval) brings the path back; auto failback makes it the in-use one again.
  const stateOf = (p: { state: string }): string => p.state;
  for (let i = 0; i < 100 && stateOf(p0!) !== 'in-use'; i++) await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await writer;
  assert.equal(p0!.state, 'in-use');
  assert.equal(p1!.state, 'standby', 'the standby path carried the I/O meanwhile and is standby again');
  const ids = log.recent.map((e) => e.id);
  assert.ok(ids.includes('KURA-W7006'), 'path failure logged');
  assert.ok(ids.includes('KURA-W7007'), 'failover logged');
  assert.ok(ids.includes('KURA-I7016'), 'failback logged');
  const file = fs.readFileSync(log.file!, 'utf8');
  assert.match(file, /WARNING KURA-W7007 mpatha: failover from 0:0:0:0/);
});

test('round-robin uses both paths, least-queue-depth and service-time pick usable paths, cluster mode refuses dynamic balancing', async () => {
  const { m } = await manager(INITIATOR, 'rr');
  const dev = m.devices[0]!;
  // Enable the second path and keep the optimized one the highest priority.
  m.setPathAdminState(dev.paths[1]!.number, 'available');
  m.setPriority(dev.paths[0]!.number, 10);
  m.setPolicy(dev.name, 'round-robin');
  // ALUA grouping: round-robin stays within the optimized group (one path here).
  assert.deepEqual(
    dev.paths.map((p) => p.state),
    ['in-use', 'active'],
  );
  m.setMode({ grouping: 'multibus' });
  assert.deepEqual(
    dev.paths.map((p) => p.state),
    ['in-use', 'in-use'],
  );
  const buf = crypto.randomBytes(4096);
  for (let i = 0; i < 10; i++) await dev.write(i * 8, buf);
  assert.deepEqual(
    dev.paths.map((p) => p.stats.writes),
    [5, 5],
  );
  for (const pol of ['least-queue-depth', 'service-time']) {
    m.setPolicy(dev.name, pol);
    await Promise.all(Array.from({ length: 16 }, (_x, i) => dev.write(i * 8, buf)));
    assert.deepEqual(await dev.read(0, 8), buf);
  }
  assert.throws(
    () => m.setPolicy(dev.name, 'random'),
    (e: KuraError) => e.id === 'KURA-E7024',
  );
  m.setMode({ cluster: true });
  assert.equal(dev.policy, 'failover');
  assert.throws(
    () => m.setPolicy(dev.name, 'round-robin'),
    (e: KuraError) => e.id === 'KURA-E7002',
  );
  m.setMode({ cluster: false });
  // Priorities: unique, 1..254, and swapping moves the in-use path.
  m.setPolicy(dev.name, 'failover');
  const [a, b] = dev.paths;
  const inUse = a!.state === 'in-use' ? a! : b!;
  assert.throws(
    () => m.setPriority(a!.number, b!.priority),
    (e: KuraError) => e.id === 'KURA-E7021',
  );
  assert.throws(
    () => m.setPriority(a!.number, 255),
    (e: KuraError) => e.id === 'KURA-E7020',
  );
  m.swap(a!.number, b!.number);
  assert.equal(inUse.state, 'active');
  // Standby (seed -notavail): the other path takes over; available brings it back.
  const now = dev.paths.find((p) => p.state === 'in-use')!;
  m.setPathAdminState(now.number, 'standby');
  assert.equal(now.state, 'standby');
  assert.equal(inUse.state, 'in-use');
  m.setPathAdminState(now.number, 'available');
  assert.equal(now.state, 'in-use');
});

test('no usable path: I/O is queued for no_path_retry and then fails with an I/O error', async () => {
  const { m } = await manager(INITIATOR, 'nopath');
  const dev = m.devices[0]!;
  m.setMode({ noPathRetry: 1 });
  for (const p of dev.paths) m.setPathAdminState(p.number, 'unavailable');
  await assert.rejects(dev.read(0, 1), (e: KuraError) => e.id === 'KURA-E7009' && e.code === 'EIO');
  // Queued I/O completes once a path comes back within the time.
  m.setMode({ noPathRetry: 10 });
  const pending = dev.read(0, 1);
  setTimeout(() => m.setPathAdminState(dev.paths[1]!.number, 'available'), 200);
  assert.equal((await pending).length, 512);
});

test('persistent reservation through pathd: registered on every path, survives losing the path it was taken on, fences another host', async () => {
  const { m } = await manager(INITIATOR, 'pr1');
  const dev = m.devices[0]!;
  await m.persist(dev.name, 'register', { key: '0xabc1' });
  await m.persist(dev.name, 'reserve', { key: '0xabc1' });
  const keys = (await m.persist(dev.name, 'read-keys', {})) as { keys: string[] };
  assert.deepEqual(keys.keys, ['0xabc1', '0xabc1'], 'one registration per path (I_T nexus)');
  const { m: other } = await manager(INITIATOR2, 'pr2');
  const odev = other.devices[0]!;
  other.setMode({ noPathRetry: 0 });
  await assert.rejects(odev.write(0, Buffer.alloc(512)), (e: KuraError) => e.id === 'KURA-E7011', 'the other host is fenced');
  // Lose the path the reservation was taken on: I/O continues on the other registered path.
  const holder = dev.paths.find((p) => p.state === 'in-use')!;
  holder.session.drop();
  await dev.write(0, Buffer.alloc(512, 7));
  assert.equal(holder.state, 'failed');
  const res = (await m.persist(dev.name, 'read-reservation', {})) as { reservation?: { key: string; type: string } };
  assert.deepEqual(res.reservation, { key: '0xabc1', type: 'write-exclusive-registrants-only' });
  await m.recover();
  assert.notEqual(holder.state, 'failed');
  await m.persist(dev.name, 'clear', { key: '0xabc1' });
  await odev.write(0, Buffer.alloc(512));
});

test('a path that stops answering (no reset) fails over when its command times out; the I/O completes on the other path', async () => {
  const r = await relay(fx.ports[0]);
  try {
    const { m, log } = await manager(INITIATOR, 'timeout', [r.port, fx.ports[1]]);
    const dev = m.devices[0]!;
    const [p0, p1] = dev.paths;
    assert.equal(p0!.state, 'in-use');
    const data = crypto.randomBytes(8192);
    r.blackhole(true);
    await dev.write(4000, data);
    assert.deepEqual(await dev.read(4000, 16), data);
    assert.equal(p0!.state, 'failed');
    assert.equal(p1!.state, 'in-use');
    assert.ok(
      log.recent.some((e) => e.id === 'KURA-W7006' && /timed out after 500 ms/.test(e.text)),
      'the timeout is the logged reason',
    );
    // Once the network works again the recovery check brings the path back.
    r.blackhole(false);
    await m.recover();
    assert.equal(p0!.state, 'in-use');
    assert.deepEqual(await dev.read(4000, 16), data);
  } finally {
    await r.close();
  }
});

test('priorities, policy, administrator states and the reservation key survive a restart of the manager', async () => {
  const stateFile = path.join(logDir, 'state.json');
  const { m } = await manager(INITIATOR, 'state1', fx.ports, stateFile);
  const dev = m.devices[0]!;
  m.setPriority(dev.paths[0]!.number, 7);
  m.setPriority(dev.paths[1]!.number, 9);
  m.setPolicy(dev.name, 'least-queue-depth');
  m.setPathAdminState(dev.paths[0]!.number, 'standby');
  await m.persist(dev.name, 'register', { key: '0x77' });
  await m.close();
  const { m: again } = await manager(INITIATOR, 'state2', fx.ports, stateFile);
  const d2 = again.devices[0]!;
  assert.deepEqual(
    d2.paths.map((p) => p.priority),
    [7, 9],
  );
  assert.equal(d2.policy, 'least-queue-depth');
  assert.equal(d2.paths[0]!.state, 'standby');
  assert.equal(d2.prKey, 0x77n);
  // The new sessions (new ISIDs) were registered again during the rescan: two more registrations of 0x77.
  const keys = (await again.persist(d2.name, 'read-keys', {})) as { keys: string[] };
  assert.equal(keys.keys.filter((k) => k === '0x77').length, 4);
  await again.persist(d2.name, 'clear', {});
});

test('an idle path whose network stops answering is failed by the NOP keepalive, before any I/O needs it', async () => {
  const r = await relay(fx.ports[1]);
  try {
    const { m, log } = await manager(INITIATOR, 'keepalive', [fx.ports[0], r.port]);
    const dev = m.devices[0]!;
    const idle = dev.paths[1]!;
    assert.equal(idle.state, 'standby');
    r.blackhole(true);
    const stateOf = (p: { state: string }): string => p.state;
    for (let i = 0; i < 100 && stateOf(idle) !== 'failed'; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(idle.state, 'failed');
    assert.ok(log.recent.some((e) => e.id === 'KURA-W7006' && e.text.includes(idle.portal)));
    assert.equal(dev.paths[0]!.state, 'in-use', 'the in-use path is untouched');
  } finally {
    await r.close();
  }
});
