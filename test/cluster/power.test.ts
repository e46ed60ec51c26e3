// The power orchestration state machine on a virtual clock: the seed's
// timelines A (all units or the shared-disk UPS lose power) and B (the server
// UPSs only), one node on battery, the last node, the cluster-shutdown timeout,
// power restoration by Warm-UP rank, and the confirmation-time rule. Times are
// the model's (virtual) seconds, compared with the summary's table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PowerMachine, neededConfirmation, parsePowerEvent, validatePowerConfig } from '../../src/cluster/power.js';
import type { PowerConfig, PowerHooks, PowerStep } from '../../src/cluster/power.js';

const S = 1000;

function cfg(over: Partial<PowerConfig> = {}): PowerConfig {
  return {
    upses: [
      { name: 'ups1', kind: 'server', nodes: ['n1'], confirmation: 60, warmupRank: 1 },
      { name: 'ups2', kind: 'server', nodes: ['n2'], confirmation: 60, warmupRank: 1 },
      { name: 'disk', kind: 'disk', nodes: [], confirmation: 30, warmupRank: 1 },
    ],
    clusterShutdownTimeout: 120,
    linkedConfirmation: 0,
    controlConfirmation: 300,
    ...over,
  };
}

/** A virtual clock, hooks that record what they were asked, and a poller every 8 s (the seed's maximum). */
function rig(c: PowerConfig, o: { shutdownTakesS?: number; alive?: string[] } = {}) {
  let now = 0;
  const calls: string[] = [];
  const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
  const hooks: PowerHooks = {
    detach: async (n) => void calls.push(`detach ${n.join(',')}`),
    clusterShutdown: async (timeoutMs) => {
      const takes = (o.shutdownTakesS ?? 20) * S;
      now += Math.min(takes, timeoutMs);
      calls.push('cluster-shutdown');
      return takes <= timeoutMs;
    },
    osShutdown: async (n, forced) => void calls.push(`os-shutdown ${n.join(',')}${forced ? ' forced' : ''}`),
    upsOff: async (u) => void calls.push(`ups-off ${u.join(',')}`),
    powerOnDisk: async (u) => void calls.push(`power-on-disk ${u}`),
    powerOnNode: async (n) => void calls.push(`power-on-node ${n}`),
    clusterStart: async () => void calls.push('cluster-start'),
    aliveNodes: () => o.alive ?? ['n1', 'n2'],
  };
  const m = new PowerMachine(c, hooks, clock, S);
  const run = async (seconds: number) => {
    const end = now + seconds * S;
    while (now < end) {
      now += 8 * S;
      await m.poll();
    }
  };
  return { m, calls, run, at: (step: string) => m.steps.find((s: PowerStep) => s.step === step)?.at };
}

function assertWithin(at: number | undefined, lo: number, hi: number, what: string): void {
  assert.ok(at !== undefined, `${what} happened`);
  assert.ok(at >= lo * S && at <= hi * S, `${what} at ${at / S} s, the table says ${lo}-${hi} s`);
}

test('timeline A: the shared-disk UPS (with every unit) loses power; detected first (30 s), cluster shutdown, OS shutdown, UPS off, in that order', async () => {
  const r = rig(cfg());
  for (const u of ['ups1', 'ups2', 'disk']) r.m.event(u, 'ONBATT');
  await r.run(400);
  assertWithin(r.at('cluster-shutdown-ordered'), 30, 38, 'cluster shutdown ordered');
  assert.equal(r.m.steps.find((s) => s.step === 'cluster-shutdown-ordered')!.detail, 'shared-disk UPS');
  assertWithin(r.at('cluster-shutdown-done'), 30, 158, 'cluster shutdown done');
  assertWithin(r.at('os-shutdown-ordered'), 30, 218, 'OS shutdown ordered');
  assertWithin(r.at('ups-off-sent'), 30, 226, 'UPS-off command sent');
  assert.deepEqual(r.calls, ['cluster-shutdown', 'os-shutdown n1,n2', 'ups-off ups1,ups2,disk']);
});

test('timeline B: the server UPSs only; confirmed at 60 s, then the same order within the table', async () => {
  const r = rig(cfg());
  r.m.event('ups1', 'ONBATT');
  r.m.event('ups2', 'ONBATT');
  await r.run(400);
  assertWithin(r.at('cluster-shutdown-ordered'), 60, 68, 'cluster shutdown ordered');
  assertWithin(r.at('cluster-shutdown-done'), 60, 188, 'cluster shutdown done');
  assertWithin(r.at('os-shutdown-ordered'), 60, 248, 'OS shutdown ordered');
  assertWithin(r.at('ups-off-sent'), 60, 256, 'UPS-off command sent');
  assert.deepEqual(r.calls, ['cluster-shutdown', 'os-shutdown n1,n2', 'ups-off ups1,ups2,disk']);
});

test('one node on battery: only that node is detached; power back on its UPS lets it run groups again', async () => {
  const r = rig(cfg());
  r.m.event('ups1', 'ONBATT');
  await r.run(100);
  assert.deepEqual(r.calls, ['detach n1']);
  assert.equal(r.at('cluster-shutdown-ordered'), undefined);
  r.m.event('ups1', 'ONLINE');
  await r.run(16);
  assert.deepEqual(r.calls, ['detach n1', 'power-on-node n1']);
});

test('a UPS back on line before its confirmation time changes nothing; LOWBATT needs no confirmation', async () => {
  const r = rig(cfg());
  r.m.event('ups1', 'ONBATT');
  await r.run(40);
  r.m.event('ups1', 'ONLINE');
  await r.run(100);
  assert.deepEqual(r.calls, []);
  r.m.event('ups2', 'LOWBATT');
  await r.run(8);
  assert.deepEqual(r.calls, ['detach n2']);
});

test('the last node losing power shuts the cluster down', async () => {
  const r = rig(cfg(), { alive: ['n2'] });
  r.m.event('ups2', 'ONBATT');
  await r.run(300);
  assert.equal(r.m.steps.find((s) => s.step === 'cluster-shutdown-ordered')!.detail, 'every remaining node');
  assert.deepEqual(r.calls, ['cluster-shutdown', 'os-shutdown n1,n2', 'ups-off ups1,ups2,disk']);
});

test('a cluster shutdown past its timeout forces the OS shutdown', async () => {
  const r = rig(cfg(), { shutdownTakesS: 500 });
  r.m.event('disk', 'FSD');
  await r.run(400);
  const ordered = r.at('cluster-shutdown-ordered')!;
  assert.equal(r.at('cluster-shutdown-timeout'), ordered + 120 * S, 'the timeout is the configured 120 s');
  assert.ok(r.at('os-shutdown-forced') !== undefined);
  assert.deepEqual(r.calls, ['cluster-shutdown', 'os-shutdown n1,n2 forced', 'ups-off ups1,ups2,disk']);
});

test('power back: disks by ascending Warm-UP rank, then the nodes, then the cluster', async () => {
  const c = cfg({
    upses: [
      { name: 'ups1', kind: 'server', nodes: ['n1'], confirmation: 60, warmupRank: 1 },
      { name: 'ups2', kind: 'server', nodes: ['n2'], confirmation: 60, warmupRank: 1 },
      { name: 'diskB', kind: 'disk', nodes: [], confirmation: 30, warmupRank: 2 },
      { name: 'diskA', kind: 'disk', nodes: [], confirmation: 30, warmupRank: 1 },
    ],
  });
  const r = rig(c);
  for (const u of ['ups1', 'ups2', 'diskA', 'diskB']) r.m.event(u, 'ONBATT');
  await r.run(300);
  for (const u of ['ups1', 'ups2', 'diskA', 'diskB']) r.m.event(u, 'ONLINE');
  await r.run(16);
  assert.deepEqual(r.calls.slice(3), ['power-on-disk diskA', 'power-on-disk diskB', 'power-on-node n1', 'power-on-node n2', 'cluster-start']);
});

test('the control terminal confirmation rule: x >= linked + 8 + timeout + 60 + 2 per UPS, refused with KURA-E8420', () => {
  const c = cfg({ linkedConfirmation: 60, controlConfirmation: 253 });
  assert.equal(neededConfirmation(c), 60 + 8 + 120 + 60 + 2 * 3);
  const e = validatePowerConfig(c);
  assert.equal(e?.id, 'KURA-E8420');
  assert.match(e!.message, /253 s is shorter than the 254 s/);
  assert.equal(validatePowerConfig({ ...c, controlConfirmation: 254 }), undefined);
  assert.equal(parsePowerEvent('onbatt'), 'ONBATT');
  assert.equal((parsePowerEvent('BROWNOUT') as { id: string }).id, 'KURA-E8421');
});
