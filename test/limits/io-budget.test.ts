// The I/O budget's rules on their own: a connection's limit, the process limit,
// waking a connection when bytes come back, and closing the most stalled holder
// when others wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IoBudget, MIN_IO_BUDGET } from '../../src/limits/io-budget.js';
import type { IoHolder } from '../../src/limits/io-budget.js';

const MiB = 1 << 20;

function holder(stalledSince?: number): IoHolder & { evicted: string[] } {
  const evicted: string[] = [];
  return { evicted, stalledSince: () => stalledSince, evict: (why) => void evicted.push(why), describe: () => 'test connection' };
}

test('a connection takes up to its limit (one request more when it holds nothing), and is woken when bytes come back', () => {
  const b = new IoBudget({ limit: 128 * MiB });
  let woken = 0;
  const a = b.account(16 * MiB, holder(), () => woken++);
  assert.ok(a.tryTake(32 * MiB), 'one request larger than the limit fits when nothing is held');
  assert.ok(!a.tryTake(1), 'nothing more while over the limit');
  a.give(32 * MiB);
  assert.ok(woken > 0);
  assert.ok(a.tryTake(8 * MiB) && a.tryTake(8 * MiB));
  assert.ok(!a.tryTake(1));
  assert.equal(b.used, 16 * MiB);
  a.close();
  assert.equal(b.used, 0, 'closing gives everything back');
  assert.ok(!a.tryTake(1), 'a closed account takes nothing');
});

test('the process budget holds across connections; a waiting connection is woken when another gives back', () => {
  const b = new IoBudget({ limit: MIN_IO_BUDGET });
  const a1 = b.account(64 * MiB, holder(), () => undefined);
  let woken = 0;
  const a2 = b.account(64 * MiB, holder(), () => woken++);
  assert.ok(a1.tryTake(MIN_IO_BUDGET));
  assert.ok(!a2.tryTake(MiB), 'the budget is spent');
  a1.give(MiB);
  assert.equal(woken, 1);
  assert.ok(a2.tryTake(MiB));
  a1.close();
  a2.close();
  assert.equal(b.used, 0);
});

test('under pressure the stalled holder with the most bytes is closed; holders still sending are left alone', async () => {
  const logs: string[] = [];
  const b = new IoBudget({ limit: MIN_IO_BUDGET, stallMs: 200, log: (m) => logs.push(m) });
  const busy = holder(undefined);
  const stuckSmall = holder(Date.now() - 10_000);
  const stuckBig = holder(Date.now() - 10_000);
  const aBusy = b.account(64 * MiB, busy, () => undefined);
  const aSmall = b.account(64 * MiB, stuckSmall, () => undefined);
  const aBig = b.account(64 * MiB, stuckBig, () => undefined);
  assert.ok(aBusy.tryTake(16 * MiB) && aSmall.tryTake(8 * MiB) && aBig.tryTake(40 * MiB));
  let woken = 0;
  const waiter = b.account(64 * MiB, holder(), () => woken++);
  assert.ok(!waiter.tryTake(4 * MiB));
  for (let i = 0; i < 40 && stuckBig.evicted.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(stuckBig.evicted.length, 1, 'the biggest stalled holder was closed');
  assert.deepEqual(stuckSmall.evicted, []);
  assert.deepEqual(busy.evicted, []);
  assert.ok(woken > 0, 'the waiting connection was woken');
  assert.ok(waiter.tryTake(4 * MiB));
  assert.match(logs.join('\n'), /KURA-W6204 closing test connection: the I\/O buffer budget \(64 MiB\) is exhausted/);
  for (const a of [aBusy, aSmall, waiter]) a.close();
});
