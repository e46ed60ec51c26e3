// The NBD front end against the clients people use: nbdinfo, nbdcopy, qemu-img, fio.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ok, run } from '../helpers/tools.js';

let srv: TestServer;
let tmp: string;
const MiB = 1 << 20;

before(async () => {
  srv = await startServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbd-'));
  const kura = srv.cli.ok;
  kura('ld', 'create', 'vol', '--pool', 'pool0', '--size', '256MiB');
  kura('ld', 'create', 'small', '--pool', 'pool0', '--size', '64MiB');
});

after(async () => {
  await srv.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

const uri = (name: string) => `nbd://127.0.0.1:${srv.nbdPort}/${name}`;

test('nbdinfo --list shows every LD as an export with base:allocation and block sizes', () => {
  const out = ok('nbdinfo', ['--list', '--json', `nbd://127.0.0.1:${srv.nbdPort}`]);
  const j = JSON.parse(out) as {
    exports: Array<{
      'export-name': string;
      'export-size': number;
      contexts: string[];
      block_size_minimum: number;
      can_fua: boolean;
      can_trim: boolean;
      can_multi_conn: boolean;
    }>;
  };
  const byName = new Map(j.exports.map((e) => [e['export-name'], e]));
  assert.deepEqual([...byName.keys()].sort(), ['demo0', 'small', 'vol']);
  const vol = byName.get('vol')!;
  assert.equal(vol['export-size'], 256 * MiB);
  assert.ok(vol.contexts.includes('base:allocation'));
  assert.equal(vol.block_size_minimum, 512);
  assert.equal(vol.can_fua, true);
  assert.equal(vol.can_trim, true);
  assert.equal(vol.can_multi_conn, true);
});

test('nbdcopy of random data into an LD and back compares equal; the map shows only written chunks', () => {
  const src = path.join(tmp, 'src.bin');
  const back = path.join(tmp, 'back.bin');
  fs.writeFileSync(src, crypto.randomBytes(48 * MiB));
  ok('nbdcopy', [src, uri('vol')]);
  ok('nbdcopy', [uri('vol'), back]);
  const a = fs.readFileSync(src);
  const b = fs.readFileSync(back);
  assert.equal(b.length, 256 * MiB);
  assert.ok(a.equals(b.subarray(0, a.length)), 'copied data reads back');
  assert.ok(
    b.subarray(a.length).every((x) => x === 0),
    'the rest reads as zeros',
  );
  const map = JSON.parse(ok('nbdinfo', ['--map', '--json', uri('vol')])) as Array<{ offset: number; length: number; type: number }>;
  const data = map.filter((e) => (e.type & 1) === 0).reduce((s, e) => s + e.length, 0);
  assert.equal(data, 48 * MiB, 'exactly the written chunks are allocated');
});

test('qemu-img convert to and from the LD, and compare', () => {
  const img = path.join(tmp, 'q.raw');
  const out = path.join(tmp, 'q-out.raw');
  const data = crypto.randomBytes(8 * MiB);
  const buf = Buffer.alloc(64 * MiB);
  data.copy(buf, 20 * MiB);
  fs.writeFileSync(img, buf);
  ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', img, uri('small')]);
  ok('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, uri('small')]);
  ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('small'), out]);
  assert.ok(fs.readFileSync(out).equals(buf));
  // A mismatch is reported as one (exit 1), so the comparison is real.
  fs.writeFileSync(img, Buffer.alloc(64 * MiB, 1));
  assert.equal(run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, uri('small')]).status, 1);
});

test('fio with the nbd engine: random writes verified with crc32c', () => {
  const r = ok('fio', [
    '--name=verify',
    '--ioengine=nbd',
    `--uri=${uri('vol')}`,
    '--rw=randwrite',
    '--bs=4k',
    '--iodepth=32',
    '--size=64m',
    '--verify=crc32c',
    '--verify_fatal=1',
    '--verify_state_save=0',
    '--output-format=json',
  ]);
  const j = JSON.parse(r.slice(r.indexOf('{'))) as { jobs: Array<{ error: number; write: { io_bytes: number }; read: { io_bytes: number } }> };
  assert.equal(j.jobs[0]!.error, 0);
  assert.equal(j.jobs[0]!.write.io_bytes, 64 * MiB);
  assert.equal(j.jobs[0]!.read.io_bytes, 64 * MiB, 'every block was read back and verified');
});

test('an unknown export is refused and the server keeps serving', () => {
  const r = run('nbdinfo', [uri('nope')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown|nope|not found|export/i);
  ok('nbdinfo', [uri('demo0')]);
});
