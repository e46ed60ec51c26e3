// The CLI against servers that do not answer as an API would (issue 8, item
// 12): one that accepts and closes, one that closes half-way through an
// answer, a port nobody listens on. Each time: exit 1, "KURA-Ennnn: what
// happened" and the action on stderr, never a silent exit 13.
import net from 'node:net';
import { after, before, test } from 'node:test';
import { expectCliError, kuraCli } from '../helpers/cli.js';
import { freePort } from '../helpers/server.js';

const servers: net.Server[] = [];
/** The CLI runs without blocking this process (the fake servers live in it). */
const { spawn: kura } = kuraCli({ env: { ...process.env, KURA_TOKEN: 'x'.repeat(32), KURA_URL: '' }, timeoutMs: 30_000 });

/** A TCP server that does `onConnect` to every connection; resolves with its port. */
function tcpServer(onConnect: (s: net.Socket) => void): Promise<number> {
  const s = net.createServer(onConnect);
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
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
  for (const args of [
    ['ld', 'list'],
    ['pool', 'show', 'pool0'],
    ['snapshot', 'delete', 'v', 's1'],
  ]) {
    const r = await kura(...args, '--url', `http://127.0.0.1:${acceptClose}`);
    expectCliError(r, 1, 'KURA-E5040', `kura ${args.join(' ')}`, /closed the connection/);
  }
});

test('a server that closes half-way through its answer: exit 1 with the connection error', async () => {
  const r = await kura('ld', 'list', '--url', `http://127.0.0.1:${halfAnswer}`);
  expectCliError(r, 1, 'KURA-E5040', 'half an answer', /closed the connection/);
});

test('kura path against a pathd address that accepts and closes: exit 1 with the connection error', async () => {
  const r = await kura('path', 'show', '--pathd', `http://127.0.0.1:${acceptClose}`);
  expectCliError(r, 1, 'KURA-E5041', 'kura path show', /closed the connection/);
});

test('a refused port: exit 1, KURA-E5010 naming the refusal', async () => {
  const port = await freePort();
  const r = await kura('ld', 'list', '--url', `http://127.0.0.1:${port}`);
  expectCliError(r, 1, 'KURA-E5010', 'refused port', /ECONNREFUSED|refused/);
});
