// The configuration lock on its own: holder, renewal, refusal of others, forced
// release and expiry (with a clock the test moves, so nothing is timed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigLock } from '../../src/array/lock/config-lock.js';
import { KuraError } from '../../src/errors.js';

function make() {
  let stored: string | undefined;
  let now = 1_000_000;
  const lock = new ConfigLock({ get: () => stored, set: (v) => (stored = v) }, () => now);
  return { lock, advance: (s: number) => (now += s * 1000) };
}

function refusedWith(fn: () => unknown, id: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KuraError && e.id === id);
}

test('the holder may change the configuration, others are refused until release or expiry', () => {
  const { lock, advance } = make();
  lock.check(undefined);
  assert.equal(lock.info().held, false);
  const l = lock.acquire('alice', 60);
  assert.deepEqual([l.held, l.owner, l.remainingSeconds], [true, 'alice', 60]);
  lock.check('alice');
  refusedWith(() => lock.check('bob'), 'KURA-E2400');
  refusedWith(() => lock.check(undefined), 'KURA-E2400');
  refusedWith(() => lock.acquire('bob'), 'KURA-E2400');
  refusedWith(() => lock.release('bob'), 'KURA-E2404');
  advance(50);
  lock.check('alice'); // renews to 60 s from now
  advance(50);
  refusedWith(() => lock.check('bob'), 'KURA-E2400');
  advance(11);
  lock.check('bob'); // expired
  assert.equal(lock.info().held, false);
  lock.acquire('alice');
  assert.equal(lock.release('bob', true).held, false);
  refusedWith(() => lock.release('alice'), 'KURA-E2403');
  refusedWith(() => lock.acquire('has space'), 'KURA-E2401');
  refusedWith(() => lock.acquire('x', 0), 'KURA-E2402');
});
