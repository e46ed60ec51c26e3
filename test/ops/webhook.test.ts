// The webhook sender against hostile or broken receivers: an endless answer
// is cut off at the size limit, a receiver that never answers times out, a
// redirect is not followed, and an event's text cannot add a header.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { WEBHOOK_MAX_RESPONSE, postWebhook, webhookBody } from '../../src/ops/alerts/webhook.js';
import { checkWebhookUrl, redactedTarget } from '../../src/ops/alerts/rules.js';

let server: http.Server;
let base: string;
let redirectedTo = 0;
let sentBytes = 0;
const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        const pump = () => {
          while (!res.destroyed && sentBytes < 64 * 2 ** 20) {
            sentBytes += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (req.url === '/silent') {
        // Never answers.
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: `${base}/target` });
        res.end();
      } else if (req.url === '/target') {
        redirectedTo++;
        res.writeHead(200);
        res.end();
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const event = {
  id: 'KURA-W1201',
  severity: 'warning' as const,
  source: 'pool/p0',
  time: new Date().toISOString(),
  text: 'over\r\nX-Injected: 1\r\n\r\nGET / HTTP/1.1',
};

test('an endless answer is cut off at the size limit; the status still counts', async () => {
  const r = await postWebhook(`${base}/endless`, webhookBody(event, 'a1'));
  assert.equal(r.ok, true);
  assert.ok(sentBytes < 64 * 2 ** 20, `the receiver could not send everything (${sentBytes} bytes)`);
  assert.ok(WEBHOOK_MAX_RESPONSE === 64 * 1024);
});

test('a receiver that never answers times out, worth a retry', async () => {
  const r = await postWebhook(`${base}/silent`, webhookBody(event, 'a1'), { timeoutMs: 300 });
  assert.deepEqual([r.ok, r.retry], [false, true]);
  assert.match(r.reason!, /no answer within 0\.3 s/);
});

test('a redirect is not followed', async () => {
  const r = await postWebhook(`${base}/redirect`, webhookBody(event, 'a1'));
  assert.deepEqual([r.ok, r.status, r.retry], [false, 302, false]);
  assert.equal(redirectedTo, 0);
});

test("an event's text stays in the JSON body: no header or request can be injected", async () => {
  const before = seen.length;
  const r = await postWebhook(`${base}/plain`, webhookBody(event, 'a1'));
  assert.equal(r.ok, true);
  assert.equal(seen.length, before + 1, 'one request');
  const got = seen.at(-1)!;
  assert.equal(got.headers['x-injected'], undefined);
  assert.equal((JSON.parse(got.body) as { text: string }).text, event.text);
});

test('webhook URLs: only http(s), no spaces or control characters; shown without path, query or credentials', () => {
  for (const bad of ['file:///etc/passwd', 'gopher://x/', 'http://a b/', 'http://x/\r\nHost: y', 'not a url'])
    assert.throws(() => checkWebhookUrl(bad), { id: 'KURA-E8303' } as object, bad);
  assert.equal(redactedTarget({ kind: 'webhook', target: 'https://u:p@chat.example.com:8443/hooks/SECRET?x=1' }), 'https://chat.example.com:8443/…');
  assert.equal(redactedTarget({ kind: 'webhook', target: 'https://chat.example.com/' }), 'https://chat.example.com/');
});
