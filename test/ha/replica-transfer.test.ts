// Issue 13: a standby receives the replicated files (the snapshot of manager.db,
// vvol.db) streamed to disk, not in memory: a temporary file (mode 0600) in its
// data directory, renamed over the file once complete. Over HTTP, as the HA
// front receives them: a complete transfer replaces the file; one over the size
// limit is refused with KURA-E8021 while streaming and leaves the previous copy;
// one cut off mid-way leaves no partial file either.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { asKuraError } from '../../src/errors.js';
import { ReplicaReceiver } from '../../src/manager/ha/replication.js';

const MAX = 1024 * 1024;

test('replicated files are streamed to a 0600 temporary file, size-limited, and never left partial', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ha-recv-'));
  const receiver = new ReplicaReceiver('a1', path.join(dir, 'arrays', 'a1'), 7, 'm1');
  const outcomes: string[] = [];
  const seen: { temp?: { mode: number; name: string } } = {};
  // What the HA front does with PUT /ha/v1/arrays/ID/files/NAME.
  const server = http.createServer((req, res) => {
    const watch = setInterval(() => {
      for (const f of fs.readdirSync(receiver.dir))
        if (f.includes('.recv-')) seen.temp = { name: f, mode: fs.statSync(path.join(receiver.dir, f)).mode & 0o777 };
    }, 5);
    receiver.receiveFile('vvol.db', req, MAX).then(
      () => {
        clearInterval(watch);
        outcomes.push('ok');
        res.end('ok');
      },
      (e: unknown) => {
        clearInterval(watch);
        outcomes.push(asKuraError(e).id);
        res.writeHead(asKuraError(e).httpStatus, { connection: 'close' });
        res.end(asKuraError(e).id);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const file = path.join(receiver.dir, 'vvol.db');
  const leftovers = () => fs.readdirSync(receiver.dir).filter((f) => f.includes('.recv'));

  /** Sends `total` bytes of `fill` in 64 KiB chunks, paced, then ends (or destroys the socket after `cutAfter`). */
  const put = (total: number, fill: number, cutAfter?: number) =>
    new Promise<number>((resolve) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'PUT', path: '/', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      let sent = 0;
      const next = () => {
        if (cutAfter !== undefined && sent >= cutAfter) return void req.destroy();
        if (sent >= total) return void req.end();
        const n = Math.min(65536, total - sent);
        sent += n;
        req.write(Buffer.alloc(n, fill), () => setTimeout(next, 2));
      };
      next();
    });

  try {
    // Complete: the file holds every byte, mode 0600, and was written through a 0600 temporary file.
    assert.equal(await put(900 * 1024, 0x41), 200);
    const got = fs.readFileSync(file);
    assert.equal(got.length, 900 * 1024);
    assert.ok(got.every((b) => b === 0x41));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(seen.temp, 'the transfer went through a temporary file');
    assert.equal(seen.temp.mode, 0o600, `the temporary file ${seen.temp.name} is 0600`);
    assert.deepEqual(leftovers(), []);

    // Over the limit: refused while streaming (the sender is still sending), the previous copy stays.
    const status = await put(8 * MAX, 0x42);
    assert.ok(status === 413 || status === 0, `refused (${status})`);
    assert.equal(outcomes.at(-1), 'KURA-E8021');
    assert.ok(
      fs.readFileSync(file).every((b) => b === 0x41),
      'the previous copy is intact',
    );
    assert.deepEqual(leftovers(), []);

    // Cut mid-way: no partial file, the previous copy stays.
    await put(900 * 1024, 0x43, 300 * 1024);
    const deadline = Date.now() + 20_000;
    while (outcomes.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(outcomes.at(-1), 'KURA-E8022');
    assert.ok(
      fs.readFileSync(file).every((b) => b === 0x41),
      'the previous copy is intact',
    );
    assert.deepEqual(leftovers(), []);
  } finally {
    receiver.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
