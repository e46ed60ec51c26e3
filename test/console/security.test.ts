// The console's defences, as an attacker would probe them, against a real
// kura serve: the login page and its headers (CSP, no framing), cookie flags,
// session fixation, CSRF (a change with the cookie but without the session's
// token, or from another origin, is refused; a forged cross-site form post in
// a real browser changes nothing), a missing token, logout, the live stream's
// authentication and limits, and login throttling.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { launchBrowser, login } from './browser.js';

let srv: TestServer;

before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
});

after(async () => {
  await srv?.cleanup();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => { error?: { id: string } } & Record<string, unknown>;
}

async function req(method: string, path: string, opts: { cookie?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await fetch(srv.url + path, {
    method,
    redirect: 'manual',
    headers: { ...(opts.cookie ? { cookie: `kura_session=${opts.cookie}` } : {}), ...opts.headers },
    body: opts.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

const own = () => ({ origin: srv.url });

/** Logs in over HTTP like the form does; the new session's cookie value. */
async function loginCookie(presented?: string): Promise<string> {
  const r = await req('POST', '/login', {
    cookie: presented,
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: srv.token }).toString(),
  });
  assert.equal(r.status, 303, r.text);
  const set = r.headers.get('set-cookie') ?? '';
  const m = /^kura_session=([^;]+);/.exec(set);
  assert.ok(m, `a session cookie in ${set}`);
  return m[1]!;
}

/** The session's CSRF token, as the console page gets it (a meta tag of the shell). */
async function csrfOf(cookie: string): Promise<string> {
  const r = await req('GET', '/', { cookie });
  const m = /<meta name="kura-csrf" content="([^"]+)">/.exec(r.text);
  assert.ok(m, 'the shell carries the CSRF token');
  return m[1]!;
}

const poolNames = async () => (await srv.api<Array<{ name: string }>>('GET', '/pools')).map((p) => p.name);

test('without a session, / is the login form, with the headers that keep it from being framed or injected', async () => {
  const r = await req('GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.text, /<form method="post" action="\/login"/);
  assert.match(r.text, /<label for="token">API token<\/label>/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const csp = r.headers.get('content-security-policy') ?? '';
  for (const d of ["frame-ancestors 'none'", "script-src 'self'", "default-src 'none'", "form-action 'self'"])
    assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  // The bundle is there for the page to load.
  const js = await req('GET', '/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
});

test('login: a wrong token is refused without a cookie; the right one sets an HttpOnly SameSite=Strict cookie', async () => {
  const wrong = await req('POST', '/login', {
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=wrong-token-0123456789',
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  assert.match(wrong.text, /KURA-E8203/);
  const ok = await req('POST', '/login', {
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: srv.token }).toString(),
  });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/');
  const set = ok.headers.get('set-cookie') ?? '';
  for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=']) assert.ok(set.includes(flag), `cookie has ${flag}: ${set}`);
  // A login from another site's page is refused (login CSRF).
  const foreign = await req('POST', '/login', {
    headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: srv.token }).toString(),
  });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.json().error?.id, 'KURA-E8202');
});

test('session fixation: a login never keeps the id the browser came with, and ends that session', async () => {
  const planted = 'A'.repeat(43);
  const first = await loginCookie(planted);
  assert.notEqual(first, planted);
  assert.equal((await req('GET', '/api/v1/pools', { cookie: planted })).status, 401);
  const second = await loginCookie(first);
  assert.notEqual(second, first);
  const old = await req('GET', '/api/v1/pools', { cookie: first });
  assert.equal(old.status, 401);
  assert.equal(old.json().error?.id, 'KURA-E8200');
  assert.equal((await req('GET', '/api/v1/pools', { cookie: second })).status, 200);
});

test('CSRF: with the cookie, a change needs the session token and this origin; a missing token is refused; the bearer token needs neither', async () => {
  const cookie = await loginCookie();
  const csrf = await csrfOf(cookie);
  const body = (name: string) => JSON.stringify({ name, size: '1GiB', raid: 'RAID0', pds: 1 });
  const json = { 'content-type': 'application/json' };

  const noToken = await req('POST', '/api/v1/pools', { cookie, headers: { ...json, ...own() }, body: body('p-no-token') });
  assert.equal(noToken.status, 403);
  assert.equal(noToken.json().error?.id, 'KURA-E8201');
  const wrongToken = await req('POST', '/api/v1/pools', { cookie, headers: { ...json, ...own(), 'x-csrf-token': csrf.slice(1) + 'x' }, body: body('p-wrong') });
  assert.equal(wrongToken.json().error?.id, 'KURA-E8201');
  const otherOrigin = await req('POST', '/api/v1/pools', {
    cookie,
    headers: { ...json, origin: 'http://127.0.0.1:1', 'x-csrf-token': csrf },
    body: body('p-origin'),
  });
  assert.equal(otherOrigin.status, 403);
  assert.equal(otherOrigin.json().error?.id, 'KURA-E8202');
  const noOrigin = await req('POST', '/api/v1/pools', { cookie, headers: { ...json, 'x-csrf-token': csrf }, body: body('p-no-origin') });
  assert.equal(noOrigin.json().error?.id, 'KURA-E8202');
  const crossSiteRead = await req('GET', '/api/v1/pools', { cookie, headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSiteRead.status, 403);
  assert.deepEqual(await poolNames(), [], 'no refused request created a pool');

  const good = await req('POST', '/api/v1/pools', { cookie, headers: { ...json, ...own(), 'x-csrf-token': csrf }, body: body('p-console') });
  assert.equal(good.status, 201, good.text);
  // No cookie and no bearer token: the API's own refusal, as before the console.
  const none = await req('POST', '/api/v1/pools', { headers: json, body: body('p-none') });
  assert.equal(none.status, 401);
  assert.equal(none.json().error?.id, 'KURA-E4001');
  // The bearer token works as it always did, without CSRF token or Origin.
  const bearer = await req('POST', '/api/v1/pools', { headers: { ...json, authorization: `Bearer ${srv.token}` }, body: body('p-bearer') });
  assert.equal(bearer.status, 201);
  assert.deepEqual((await poolNames()).sort(), ['p-bearer', 'p-console']);
  for (const p of ['p-bearer', 'p-console']) await srv.api('DELETE', `/pools/${p}`);
});

test('logout needs the session token, ends the session and clears the cookie', async () => {
  const cookie = await loginCookie();
  const csrf = await csrfOf(cookie);
  const forged = await req('POST', '/logout', { cookie, headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  assert.equal(forged.status, 403);
  const r = await req('POST', '/logout', {
    cookie,
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf }).toString(),
  });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/login');
  assert.match(r.headers.get('set-cookie') ?? '', /^kura_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/);
  assert.equal((await req('GET', '/api/v1/pools', { cookie })).status, 401);
  assert.match((await req('GET', '/', { cookie })).text, /name="token"/);
});

/** Opens the event stream; resolves with the status and, for 200, a reader of its text. */
function openStream(headers: Record<string, string>): Promise<{ status: number; res: http.IncomingMessage; text: () => string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url + '/console/events');
    const r = http.get({ host: u.hostname, port: u.port, path: u.pathname, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const ended = new Promise<void>((done) => res.on('end', () => done()));
      resolve({ status: res.statusCode ?? 0, res, text: () => text, ended });
    });
    r.on('error', reject);
  });
}

test('event stream: needs a session (or the bearer token), carries new events, and is capped per session', async () => {
  assert.equal((await openStream({})).status, 401);
  const cookie = await loginCookie();
  const streams = [];
  for (let i = 0; i < 4; i++) {
    const s = await openStream({ cookie: `kura_session=${cookie}` });
    assert.equal(s.status, 200);
    streams.push(s);
  }
  const fifth = await openStream({ cookie: `kura_session=${cookie}` });
  assert.equal(fifth.status, 503);
  await fifth.ended;
  assert.equal(JSON.parse(fifth.text()).error.id, 'KURA-E8205');
  await srv.api('POST', '/events', { id: 'KURA-I7998', severity: 'info', host: 'h1', text: 'stream check' });
  const deadline = Date.now() + 20_000;
  while (!streams[0]!.text().includes('stream check') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const line = streams[0]!
    .text()
    .split('\n')
    .find((l) => l.startsWith('data: ') && l.includes('stream check'));
  assert.ok(line, `the event arrived on the stream: ${streams[0]!.text()}`);
  assert.equal(JSON.parse(line.slice(6)).source, 'host:h1');
  const bearer = await openStream({ authorization: `Bearer ${srv.token}` });
  assert.equal(bearer.status, 200);
  // Logout ends the session's streams.
  const csrf = await csrfOf(cookie);
  await req('POST', '/logout', {
    cookie,
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf }).toString(),
  });
  await Promise.all(streams.map((s) => s.ended));
  bearer.res.destroy();
});

test('a forged cross-site POST from another origin in a real browser is refused and changes nothing', { timeout: 120_000 }, async () => {
  let browser: Browser | undefined;
  // The attacker's pages: a form that posts JSON as text/plain (no preflight) and a no-cors fetch, to the API and to logout.
  const target = srv.url;
  const evilPage = `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/api/v1/pools" enctype="text/plain">
<input name='{"name":"evil","size":"1GiB","raid":"RAID0","pds":1,"x":"' value='"}'>
</form>
<script>
fetch(${JSON.stringify(target + '/api/v1/pools')}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'evil2', size: '1GiB', raid: 'RAID0', pds: 1 }) })
  .finally(() => document.getElementById('f').submit());
</script></body></html>`;
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(evilPage);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  const evilPort = (evil.address() as net.AddressInfo).port;
  try {
    browser = await launchBrowser();
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, srv.url, srv.token);
    // Same host, another port: the same site (the SameSite cookie is sent) but another origin.
    for (const host of ['127.0.0.1', 'localhost']) {
      const answers: number[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(target + '/api/v1/pools') && r.request().method() === 'POST') answers.push(r.status());
      });
      await page.goto(`http://${host}:${evilPort}/`);
      const deadline = Date.now() + 30_000;
      while (answers.length < 2 && Date.now() < deadline) await page.waitForTimeout(100);
      // The form's post navigates the page to the API's answer: let it finish before the next round.
      await page.waitForURL(`${target}/api/v1/pools`, { timeout: 30_000 });
      await page.waitForLoadState('load');
      page.removeAllListeners('response');
      assert.equal(answers.length, 2, `both forged requests from ${host} were sent`);
      // 403 where the cookie came along (same site: origin check), 401 where SameSite kept it back (localhost is another site).
      for (const s of answers) assert.ok(s === 403 || s === 401, `forged POST from ${host} answered ${s}`);
      console.log(`forged cross-origin POSTs from http://${host}:${evilPort} answered ${answers.join(', ')}`);
    }
    assert.deepEqual(await poolNames(), [], 'no forged request created a pool');
    // The session itself still works from the console's own origin.
    await page.goto(srv.url + '/#/pools');
    await page.getByRole('heading', { name: 'Pools', exact: true }).waitFor();
    await context.close();
  } finally {
    await browser?.close();
    await new Promise<void>((r) => evil.close(() => r()));
  }
});

test('login is throttled after repeated wrong tokens from one address', async () => {
  let last = 0;
  for (let i = 0; i < 11; i++) {
    last = (
      await req('POST', '/login', {
        headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=guess-' + i,
      })
    ).status;
  }
  assert.equal(last, 429);
  const right = await req('POST', '/login', {
    headers: { ...own(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: srv.token }).toString(),
  });
  assert.equal(right.status, 429, 'even the right token waits out the throttle');
  assert.equal(right.json().error?.id, 'KURA-E8204');
});
