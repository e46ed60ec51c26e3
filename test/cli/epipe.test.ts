// `kura ... | head`: a reader that stops early closes the pipe. The command
// ends quietly with exit 0, as Unix filters do, instead of dying on EPIPE with
// a stack trace and exit 1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { KURA } from '../helpers/cli.js';

test('a closed stdout pipe ends the command with exit 0 and no stack trace', { timeout: 60_000 }, async () => {
  // An API that answers every GET with a long list, so the CLI has plenty to write.
  const events = Array.from({ length: 20_000 }, (_, i) => ({
    seq: i,
    time: '2026-12-03T00:00:00Z',
    id: 'KURA-I4000',
    severity: 'info',
    source: 'array',
    text: `event ${i}`,
  }));
  const body = JSON.stringify(events);
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn(process.execPath, [KURA, '--url', `http://127.0.0.1:${port}`, '--token', 'x'.repeat(32), 'events', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The reader goes away before the answer arrives.
      p.stdout.destroy();
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d));
      p.on('error', reject);
      p.on('close', (status) => resolve({ status, stderr }));
    });
    assert.equal(r.stderr, '', 'nothing on stderr');
    assert.equal(r.status, 0);
  } finally {
    srv.close();
  }
});
