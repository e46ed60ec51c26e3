// The NBD server in-process over FileDevice exports against the clients people
// use: nbdinfo, nbdcopy, qemu-img and fio. The tools run as child processes
// (asynchronously: the server shares this event loop). A missing tool fails
// with the Debian package to install; nothing is skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { NbdServer } from '../../src/nbd/server.js';
import * as P from '../../src/nbd/protocol.js';
import { DeviceExports, FileDevice } from '../helpers/file-device.js';

const KiB = 1024;
const MiB = 1 << 20;
const PACKAGES: Record<string, string> = { nbdinfo: 'libnbd-bin', nbdcopy: 'libnbd-bin', 'qemu-img': 'qemu-utils', fio: 'fio' };

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT')
        reject(new Error(`${cmd} is not installed: install the Debian package ${PACKAGES[cmd] ?? '(unknown)'} (scripts/ensure-tools.sh does)`));
      else reject(e);
    });
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tmp: string;
let server: NbdServer;
let port: number;
let sock: string;
const devs: FileDevice[] = [];
const exports = new DeviceExports();

function addDevice(name: string, size: number, o: { readOnly?: boolean; trackHoles?: boolean; description?: string } = {}): FileDevice {
  const d = FileDevice.create({ name, size, readOnly: o.readOnly, trackHoles: o.trackHoles ?? true });
  devs.push(d);
  exports.add(d, o.description);
  return d;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbdtools-'));
  addDevice('copy', 64 * MiB, { description: 'nbdcopy target' });
  addDevice('map', 16 * MiB, { description: 'sparse' });
  addDevice('qemu', 32 * MiB);
  addDevice('fio', 64 * MiB, { trackHoles: false });
  const ro = addDevice('ro', 4 * MiB, { description: 'read-only' });
  fs.writeFileSync(ro.path, Buffer.alloc(4 * MiB, 0xab));
  ro.readOnly = true;
  server = new NbdServer({ exports });
  await server.listen('127.0.0.1', 0);
  port = server.address().port;
  sock = path.join(tmp, 'nbd.sock');
  await server.listenUnix(sock);
});

after(async () => {
  await server.close();
  for (const d of devs) d.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const uri = (name: string) => `nbd://127.0.0.1:${port}/${name}`;

test('nbdinfo --list shows every export with its size, flags, block sizes and base:allocation', async () => {
  const j = JSON.parse(await ok('nbdinfo', ['--list', '--json', `nbd://127.0.0.1:${port}`])) as {
    protocol: string;
    structured: boolean;
    exports: Array<Record<string, unknown>>;
  };
  assert.equal(j.protocol, 'newstyle-fixed');
  assert.equal(j.structured, true);
  const byName = new Map(j.exports.map((e) => [e['export-name'] as string, e]));
  assert.deepEqual([...byName.keys()], ['copy', 'map', 'qemu', 'fio', 'ro']);
  const copy = byName.get('copy')!;
  assert.equal(copy['description'], 'nbdcopy target');
  assert.equal(copy['export-size'], 64 * MiB);
  assert.deepEqual(copy['contexts'], ['base:allocation']);
  assert.equal(copy['block_size_minimum'], 512);
  assert.equal(copy['block_size_preferred'], 4 * KiB);
  assert.equal(copy['block_size_maximum'], 32 * MiB);
  for (const k of ['can_flush', 'can_fua', 'can_trim', 'can_zero', 'can_multi_conn', 'can_df', 'can_cache']) assert.equal(copy[k], true, k);
  assert.equal(copy['is_read_only'], false);
  const ro = byName.get('ro')!;
  assert.equal(ro['is_read_only'], true);
  assert.equal(ro['can_trim'], false);
  assert.equal(ro['can_zero'], false);
});

test('nbdinfo --map and qemu-img map see exactly the written granules as data', async () => {
  const c = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'map' });
  await c.write(0, crypto.randomBytes(128 * KiB));
  await c.write(4 * MiB, crypto.randomBytes(64 * KiB));
  await c.write(15 * MiB, crypto.randomBytes(MiB));
  await c.disconnect();
  const map = JSON.parse(await ok('nbdinfo', ['--map', '--json', uri('map')])) as Array<{ offset: number; length: number; type: number }>;
  assert.deepEqual(
    map.map((e) => [e.offset, e.length, e.type]),
    [
      [0, 128 * KiB, 0],
      [128 * KiB, 4 * MiB - 128 * KiB, P.NBD_STATE_HOLE | P.NBD_STATE_ZERO],
      [4 * MiB, 64 * KiB, 0],
      [4 * MiB + 64 * KiB, 11 * MiB - 64 * KiB, P.NBD_STATE_HOLE | P.NBD_STATE_ZERO],
      [15 * MiB, MiB, 0],
    ],
  );
  const q = JSON.parse(await ok('qemu-img', ['map', '--output=json', '-f', 'raw', uri('map')])) as Array<{
    start: number;
    length: number;
    data: boolean;
    zero: boolean;
  }>;
  const dataBytes = q.filter((e) => e.data).reduce((s, e) => s + e.length, 0);
  assert.equal(dataBytes, 128 * KiB + 64 * KiB + MiB, 'qemu sees the same data extents');
  assert.ok(
    q.filter((e) => !e.data).every((e) => e.zero),
    'and the holes as zero',
  );
});

test('nbdcopy of 64 MiB of random data into an export and back compares equal', async () => {
  const src = path.join(tmp, 'src.bin');
  const back = path.join(tmp, 'back.bin');
  const data = crypto.randomBytes(64 * MiB);
  fs.writeFileSync(src, data);
  // nbdcopy uses several connections when the server allows multi-conn.
  await ok('nbdcopy', ['--flush', src, uri('copy')]);
  await ok('nbdcopy', [uri('copy'), back]);
  assert.ok(fs.readFileSync(back).equals(data), 'bytes equal after the round trip');
  // A sparse source: nbdcopy zeroes the target's other areas, and the copy back matches.
  const sparse = Buffer.alloc(64 * MiB);
  crypto.randomBytes(3 * MiB).copy(sparse, 10 * MiB);
  fs.writeFileSync(src, sparse);
  await ok('nbdcopy', [src, uri('copy')]);
  await ok('nbdcopy', [uri('copy'), back]);
  assert.ok(fs.readFileSync(back).equals(sparse));
});

test('qemu-img convert to and from an export, and qemu-img compare', async () => {
  const img = path.join(tmp, 'q.raw');
  const out = path.join(tmp, 'q-out.raw');
  const buf = Buffer.alloc(32 * MiB);
  crypto.randomBytes(5 * MiB).copy(buf, 7 * MiB);
  crypto.randomBytes(512 * KiB).copy(buf, 31 * MiB);
  fs.writeFileSync(img, buf);
  await ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', img, uri('qemu')]);
  await ok('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, uri('qemu')]);
  await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('qemu'), out]);
  assert.ok(fs.readFileSync(out).equals(buf));
  // A difference is reported as one (exit 1), so the comparison is real.
  buf[20 * MiB] ^= 1;
  fs.writeFileSync(img, buf);
  const r = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', img, uri('qemu')]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /Content mismatch at offset 20971520/);
});

function fioArgs(extra: string[]): string[] {
  return [
    '--name=verify',
    '--ioengine=nbd',
    `--uri=${uri('fio')}`,
    '--rw=randwrite',
    '--bs=4k',
    '--iodepth=16',
    '--size=32m',
    '--verify=crc32c',
    '--verify_state_save=0',
    '--output-format=json',
    ...extra,
  ];
}

function fioJob(out: string): { error: number; read: { io_bytes: number }; write: { io_bytes: number } } {
  return (JSON.parse(out.slice(out.indexOf('{'))) as { jobs: Array<{ error: number; read: { io_bytes: number }; write: { io_bytes: number } }> }).jobs[0]!;
}

test('fio with the nbd engine: random writes at queue depth 16 verified with crc32c, then a verify-only pass', async () => {
  const w = fioJob(await ok('fio', fioArgs(['--verify_fatal=1'])));
  assert.equal(w.error, 0);
  assert.equal(w.write.io_bytes, 32 * MiB);
  assert.equal(w.read.io_bytes, 32 * MiB, 'every block was read back and verified');
  // A separate read phase over new connections checks what is stored.
  const v = fioJob(await ok('fio', fioArgs(['--verify_only', '--verify_fatal=1'])));
  assert.equal(v.error, 0);
  assert.equal(v.read.io_bytes, 32 * MiB);
  // And it does check: corrupt one block and the same pass fails.
  const c = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'fio' });
  await c.write(12 * MiB, crypto.randomBytes(4096), { fua: true });
  await c.disconnect();
  const bad = await run('fio', fioArgs(['--verify_only', '--verify_fatal=1']));
  assert.notEqual(bad.status, 0, 'a corrupted block fails verification');
  assert.match(bad.stdout + bad.stderr, /verify|crc32c|bad magic/i);
});

test('a read-only export refuses writes from real clients and keeps its data', async () => {
  const src = path.join(tmp, 'ones.bin');
  fs.writeFileSync(src, Buffer.alloc(4 * MiB, 1));
  const r = await run('nbdcopy', [src, uri('ro')]);
  assert.notEqual(r.status, 0, 'nbdcopy into a read-only export fails');
  const f = await run('fio', ['--name=ro', '--ioengine=nbd', `--uri=${uri('ro')}`, '--rw=randwrite', '--bs=4k', '--size=1m', '--output-format=json']);
  assert.notEqual(f.status, 0, 'fio writes to a read-only export fail');
  const c = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'ro' });
  assert.ok(
    (await c.read(0, 4 * MiB)).every((x) => x === 0xab),
    'the data is unchanged',
  );
  await c.disconnect();
});

test('nbdinfo over the unix socket, and an unknown export refused with the server still serving', async () => {
  const out = JSON.parse(await ok('nbdinfo', ['--json', `nbd+unix:///map?socket=${sock}`])) as { exports: Array<{ 'export-size': number }> };
  assert.equal(out.exports[0]!['export-size'], 16 * MiB);
  const r = await run('nbdinfo', [uri('nope')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nope/);
  await ok('nbdinfo', [uri('copy')]);
});
