// The target against the clients people point at a SAN: libiscsi's tools
// (iscsi-ls, iscsi-inq, iscsi-readcapacity16), with and without CHAP, and
// QEMU's iSCSI block driver (qemu-img convert both ways, byte for byte, with
// and without header digests).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { IQN, MiB, ok, qemuIscsiDriverPresent, run, startTarget } from './helpers.js';
import type { TargetFixture } from './helpers.js';

let f: TargetFixture;
let tmp: string;

before(async () => {
  f = await startTarget();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-iscsi-clients-'));
});

after(async () => {
  await f.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('iscsi-ls -s discovers the target through either portal, with the portals of both controllers and LUN 0', async () => {
  for (const port of f.ports) {
    const out = await ok('iscsi-ls', ['-s', `iscsi://127.0.0.1:${port}`]);
    assert.match(out, new RegExp(`Target:${IQN} Portal:127\\.0\\.0\\.1:${f.ports[0]},1`));
    assert.match(out, new RegExp(`Target:${IQN} Portal:127\\.0\\.0\\.1:${f.ports[1]},2`));
    assert.match(out, /Lun:0\s+Type:DIRECT_ACCESS \(Size:6[34]M\)/);
  }
});

test('iscsi-inq reads the standard INQUIRY data and the unit serial number page', async () => {
  const std = await ok('iscsi-inq', [f.url()]);
  assert.match(std, /Peripheral Device Type:DIRECT_ACCESS/);
  assert.match(std, /Vendor:KURA/);
  assert.match(std, /Product:Kura LD/);
  assert.match(std, /TPGS:1/);
  const serial = await ok('iscsi-inq', ['-e', '1', '-c', '128', f.url()]);
  assert.match(serial, new RegExp(f.array.lds.getLd('ld').serial));
});

test('iscsi-readcapacity16 reports 64 MiB in 512-byte blocks, thin', async () => {
  const out = await ok('iscsi-readcapacity16', [f.url()]);
  assert.match(out, /LOGICAL BLOCK LENGTH IN BYTES:512/);
  assert.match(out, /Total size:67108864/);
  assert.match(out, /LBPME:1/);
});

test('qemu-img convert writes 48 MiB into the LD and reads the whole LD back, equal byte for byte', async () => {
  assert.ok(qemuIscsiDriverPresent(), 'qemu-img needs the iscsi block driver: apt-get install qemu-block-extra');
  const src = path.join(tmp, 'src.bin');
  const back = path.join(tmp, 'back.bin');
  const data = crypto.randomBytes(48 * MiB);
  fs.writeFileSync(src, data);
  await ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, f.url()]);
  await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', f.url(), back]);
  const got = fs.readFileSync(back);
  assert.equal(got.length, 64 * MiB);
  assert.ok(got.subarray(0, data.length).equals(data), 'written data reads back');
  assert.ok(
    got.subarray(data.length).every((b) => b === 0),
    'the rest of the thin LD reads as zeros',
  );
});

test('qemu-img convert with HeaderDigest=CRC32C through the other portal', async () => {
  const src = path.join(tmp, 'src-hd.bin');
  const back = path.join(tmp, 'back-hd.bin');
  const data = crypto.randomBytes(8 * MiB);
  fs.writeFileSync(src, data);
  const opts = `driver=iscsi,transport=tcp,portal=127.0.0.1:${f.ports[1]},target=${IQN},lun=0,header-digest=crc32c`;
  const before = f.logs.length;
  await ok('qemu-img', ['convert', '-n', '-f', 'raw', src, '--target-image-opts', opts]);
  await ok('qemu-img', ['convert', '--image-opts', opts, '-O', 'raw', back]);
  assert.ok(fs.readFileSync(back).subarray(0, data.length).equals(data));
  assert.ok(
    f.logs.slice(before).some((l) => l.includes('HeaderDigest=CRC32C')),
    'the sessions ran with header digests',
  );
});

test('CHAP: the right user and secret log in (one-way and mutual); a wrong secret, no credentials or a wrong target secret fail', async (t) => {
  const c = await startTarget({ chap: { targetUser: 'kura', targetSecret: 'kura-secret-1', mutualUser: 'array', mutualSecret: 'array-secret-2' } });
  t.after(() => c.close());
  const good = await ok('iscsi-inq', [c.url(0, { user: 'kura', password: 'kura-secret-1' })]);
  assert.match(good, /Vendor:KURA/);
  const mutual = await ok('iscsi-inq', [c.url(0, { user: 'kura', password: 'kura-secret-1', query: 'target_user=array&target_password=array-secret-2' })]);
  assert.match(mutual, /Vendor:KURA/);
  const wrong = await run('iscsi-inq', [c.url(0, { user: 'kura', password: 'wrong-secret' })]);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stdout + wrong.stderr, /Authentication failure/);
  const none = await run('iscsi-inq', [c.url()]);
  assert.notEqual(none.status, 0);
  assert.match(none.stdout + none.stderr, /Authentication failure/);
  const badTarget = await run('iscsi-inq', [c.url(0, { user: 'kura', password: 'kura-secret-1', query: 'target_user=array&target_password=nope' })]);
  assert.notEqual(badTarget.status, 0);
  assert.match(badTarget.stdout + badTarget.stderr, /CHAP_R/);
  // qemu-img with CHAP through its own options.
  const src = path.join(tmp, 'chap.bin');
  fs.writeFileSync(src, crypto.randomBytes(MiB));
  await ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, c.url(0, { user: 'kura', password: 'kura-secret-1' })]);
});

test('CHAP per initiator: the secret follows the InitiatorName', async (t) => {
  const c = await startTarget({ chap: { initiators: { 'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-inq': 'inq-secret-12345' } } });
  t.after(() => c.close());
  assert.match(await ok('iscsi-inq', [c.url(0, { user: 'whoever', password: 'inq-secret-12345' })]), /Vendor:KURA/);
  const other = await run('iscsi-readcapacity16', [c.url(0, { user: 'whoever', password: 'inq-secret-12345' })]);
  assert.notEqual(other.status, 0, 'iscsi-readcapacity16 logs in with another InitiatorName, which has no secret');
  assert.match(other.stdout + other.stderr, /Authorization failure/);
});
