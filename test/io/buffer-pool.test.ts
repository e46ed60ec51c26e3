// The read buffer pool (src/io/buffer-pool.ts): a buffer is reused only after it
// was given back, never handed out twice, and foreign buffers are never reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoBufferPool, POOLED_MIN } from '../../src/io/buffer-pool.js';

const MiB = 1024 * 1024;

test('a buffer given back serves the next take of its size; until then every take is a different buffer', () => {
  const pool = new IoBufferPool();
  const a = pool.take(MiB);
  const b = pool.take(MiB);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(a.length, MiB);
  pool.give(a);
  const c = pool.take(MiB);
  assert.equal(c, a);
  assert.notEqual(pool.take(MiB), a, 'a is outstanding again: not handed out twice');
});

test('giving a buffer back twice, or one the pool never handed out, does not put it on the free list', () => {
  const pool = new IoBufferPool();
  const a = pool.take(MiB);
  pool.give(a);
  pool.give(a);
  assert.equal(pool.retained, MiB);
  const first = pool.take(MiB);
  const second = pool.take(MiB);
  assert.equal(first, a);
  assert.notEqual(second, a);
  const foreign = Buffer.alloc(MiB);
  pool.give(foreign);
  assert.notEqual(pool.take(MiB), foreign);
});

test('small requests are plain allocations and the free list stays under its limit', () => {
  const pool = new IoBufferPool(2 * MiB);
  const small = pool.take(POOLED_MIN - 512);
  pool.give(small);
  assert.equal(pool.retained, 0);
  const bufs = [pool.take(MiB), pool.take(MiB), pool.take(MiB)];
  for (const b of bufs) pool.give(b);
  assert.equal(pool.retained, 2 * MiB);
  // Sizes are kept apart: a 512 KiB take never gets a 1 MiB buffer.
  assert.equal(pool.take(MiB / 2).length, MiB / 2);
});
