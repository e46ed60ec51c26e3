// The CLI against servers that do not answer as an API would (issue 8, item
// 12): one that accepts and closes, one that closes half-way through an
// answer, a port nobody listens on. Each time: exit 1, "KURA-Ennnn: what
// happened" and the action on stderr, never a silent exit 13.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { KURA, freePort } from '../helpers/server.js';

const servers: net.Server[] = [];

/** A TCP server that does `onConnect` to every connection; resolves with its port. */
function tcpServer(onConnect: (s: net.Socket) => void): Promise<number> {
  const s = net.createServer(onConnect);
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

/** Runs the CLI without blocking this process (the fake servers live in it). */
function kura(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [KURA, ...args], { env: { ...process.env, KURA_TOKEN: 'x'.repeat(32), KURA_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

function failsWith(r: { status: number | null; stdout: string; stderr: string }, id: string, detail: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit ${r.status}\n${r.stderr}`);
  assert.equal(r.stdout, '', what);
  assert.match(r.stderr, /^KURA-E\d{4}: \S.*\n {2}\S.*\n$/, `${what}: ${JSON.stringify(r.stderr)}`);
  assert.ok(r.stderr.startsWith(`${id}: `), `${what}: ${r.stderr}`);
  assert.match(r.stderr, detail, what);
}

let acceptClose: number;
let halfAnswer: number;
before(async () => {
  acceptClose = await tcpServer((s) => s.destroy());
  halfAnswer = await tcpServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"na'));
  });
});
after(() => {
  for (const s of servers) s.close();
});

test('a server that accepts and closes the connection: exit 1 with the connection error', async () => {
  for (const args of [['ld', 'list'], ['pool', 'show', 'pool0'], ['snapshot', 'delete', 'v', 's1']]) {
    const r = await kura(...args, '--url', `http://127.0.0.1:${acceptClose}`);
    failsWith(r, 'KURA-E5040', /closed the connection/, `kura ${args.join(' ')}`);
  }
});

test('a server that closes half-way through its answer: exit 1 with the connection error', async () => {
  const r = await kura('ld', 'list', '--url', `http://127.0.0.1:${halfAnswer}`);
  failsWith(r, 'KURA-E5040', /closed the connection/, 'half an answer');
});

test('kura path against a pathd address that accepts and closes: exit 1 with the connection error', async () => {
  const r = await kura('path', 'show', '--pathd', `http://127.0.0.1:${acceptClose}`);
  failsWith(r, 'KURA-E5041', /closed the connection/, 'kura path show');
});

test('a refused port: exit 1, KURA-E5010 naming the refusal', async () => {
  const port = await freePort();
  const r = await kura('ld', 'list', '--url', `http://127.0.0.1:${port}`);
  failsWith(r, 'KURA-E5010', /ECONNREFUSED|refused/, 'refused port');
});
