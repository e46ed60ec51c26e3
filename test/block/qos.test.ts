// The I/O control scheduler on a virtual clock: ceilings space I/Os exactly, and a
// starved guarantee holds the other flows back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QosScheduler } from '../../src/block/qos.js';

/** A virtual clock: sleep() advances time instead of waiting. */
function virtualTime() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

test('an upper limit admits exactly `upper` I/Os per second', async () => {
  const v = virtualTime();
  const s = new QosScheduler(v.now, v.sleep);
  s.setLimits('a', { upper: 500, lower: 0 });
  assert.equal(s.active, true);
  for (let i = 0; i < 1500; i++) {
    await s.admit('a');
    s.done('a');
  }
  // 1500 I/Os at 500 IOPS take 3 s (the bucket starts empty), within a millisecond-sized step.
  assert.ok(Math.abs(v.now() - 3000) <= 2, `took ${v.now()} ms`);
  // A higher limit with the same clock: still exact, since waiters start together after a wake-up.
  s.setLimits('b', { upper: 20000, lower: 0 });
  const t0 = v.now();
  for (let i = 0; i < 20000; i++) await s.admit('b');
  assert.ok(Math.abs(v.now() - t0 - 1000) <= 2, `20000 at 20000 IOPS took ${v.now() - t0} ms`);
});

test('without limits the scheduler is inactive and admits at once', async () => {
  const v = virtualTime();
  const s = new QosScheduler(v.now, v.sleep);
  assert.equal(s.active, false);
  for (let i = 0; i < 100; i++) await s.admit('x');
  assert.equal(v.now(), 0);
  s.setLimits('x', { upper: 100, lower: 0 });
  s.setLimits('x', { upper: 0, lower: 0 });
  assert.equal(s.active, false);
});

test('a flow below its guarantee makes the others yield', async () => {
  const v = virtualTime();
  const s = new QosScheduler(v.now, v.sleep);
  s.setLimits('gold', { upper: 0, lower: 1000 });
  // gold has demand (an I/O in flight) and has done nothing this window: it is starved.
  await s.admit('gold');
  v.advance(500);
  const t0 = v.now();
  await s.admit('bronze');
  assert.ok(v.now() - t0 >= 2, 'bronze waited for the starved guarantee');
  s.done('gold');
  const t1 = v.now();
  await s.admit('bronze');
  assert.equal(v.now(), t1, 'no wait once gold has no demand');
});
