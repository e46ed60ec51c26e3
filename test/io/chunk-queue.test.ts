// The chunk queue both protocols read their sockets with: exact byte counts
// out of arbitrarily split chunks, views inside a chunk, one copy across
// chunks, and nothing consumed when too few bytes are queued.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkQueue } from '../../src/io/chunk-queue.js';

function queue(...parts: string[]): ChunkQueue {
  const q = new ChunkQueue();
  for (const p of parts) q.push(Buffer.from(p));
  return q;
}

test('take returns a view inside one chunk, a copy across chunks, null when too few bytes are queued', () => {
  const first = Buffer.from('abcd');
  const q = new ChunkQueue();
  q.push(first);
  q.push(Buffer.alloc(0));
  q.push(Buffer.from('efgh'));
  assert.equal(q.length, 8);
  const view = q.take(3)!;
  assert.equal(view.toString(), 'abc');
  first[0] = 0x41;
  assert.equal(view.toString(), 'Abc', 'a take inside one chunk is a view of it');
  const across = q.take(3)!;
  assert.equal(across.toString(), 'def');
  first[3] = 0x44;
  assert.equal(across.toString(), 'def', 'a take across chunks is a copy');
  assert.equal(q.take(3), null, 'two bytes left: nothing is taken');
  assert.equal(q.length, 2);
  assert.equal(q.take(0)!.length, 0);
  assert.equal(q.take(2)!.toString(), 'gh');
  assert.equal(q.length, 0);
});

test('copyOut and skip move at most what is queued and say how much', () => {
  const q = queue('ab', 'cde', 'f');
  const d = Buffer.alloc(8, '.');
  assert.equal(q.copyOut(d, 1, 4), 4);
  assert.equal(d.toString(), '.abcd...');
  assert.equal(q.skip(1), 1);
  assert.equal(q.copyOut(d, 0, 5), 1);
  assert.equal(d.toString(), 'fabcd...');
  assert.equal(q.skip(3), 0);
  assert.equal(q.length, 0);
});

test('peeks leave the bytes queued, whichever chunks they span', () => {
  const q = new ChunkQueue();
  q.push(Buffer.from([0x01, 0x02]));
  q.push(Buffer.from([0x03]));
  q.push(Buffer.from([0x04, 0x05]));
  assert.equal(q.peekUInt32(), 0x01020304);
  const d = Buffer.alloc(5);
  q.peekInto(d, 5);
  assert.deepEqual([...d], [1, 2, 3, 4, 5]);
  assert.equal(q.length, 5);
  q.skip(1);
  assert.equal(q.peekUInt32(), 0x02030405);
});

test('header points at the bytes in place, or at the scratch buffer when they span chunks', () => {
  const scratch = Buffer.alloc(4);
  const chunk = Buffer.from('wxyz12');
  const q = new ChunkQueue();
  q.push(chunk);
  q.push(Buffer.from('34'));
  assert.ok(q.header(4, scratch));
  assert.equal(q.hbuf, chunk);
  assert.equal(q.hbuf.toString('latin1', q.hoff, q.hoff + 4), 'wxyz');
  assert.ok(q.header(4, scratch));
  assert.equal(q.hbuf, scratch);
  assert.equal(scratch.toString(), '1234');
  assert.equal(q.header(1, scratch), false);
  q.push(Buffer.from('5'));
  q.clear();
  assert.equal(q.length, 0);
  assert.equal(q.take(1), null);
});
