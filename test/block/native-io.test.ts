// The native helper is built by `npm install` on Linux and reads cached data
// without the thread pool; a failed build must be visible, not silently slower.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readNowait } from '../../src/block/native-io.js';

test('readNowait is built and returns cached bytes', (t) => {
  assert.ok(readNowait, 'build/Release/kura_io.node is missing: npm install runs node-gyp rebuild (needs python3, make, g++)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nio-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'x');
  const data = Buffer.from('0123456789abcdef'.repeat(512));
  fs.writeFileSync(f, data);
  const fd = fs.openSync(f, 'r');
  try {
    fs.readFileSync(f); // make sure it is cached
    const buf = Buffer.alloc(4096);
    const n = readNowait!(fd, buf, 0, 4096, 4096);
    assert.ok(n === 4096 || n === -1, `bytes read or would-block, got ${n}`);
    if (n === 4096) assert.ok(buf.equals(data.subarray(4096, 8192)));
    assert.throws(() => readNowait!(fd, buf, 100, 4096, 0), /range/);
  } finally {
    fs.closeSync(fd);
  }
});
