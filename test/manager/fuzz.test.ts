// Fuzzing the management API of a real `kura serve` (issue 8, "Done when"):
// random methods on paths built from the real route table (the OpenAPI
// document), with dot segments, valid and broken percent-encodings, long and
// odd names, raw Latin-1 and encoded Unicode; random and hostile JSON bodies
// (deep, huge numbers, wrong types, __proto__/constructor keys, truncated,
// over 1 MiB); random query strings, content types and tokens.
//
// Asserted: the server stays up, no answer is a 5xx, every error answer has a
// body { error: { id, code, message, action } }, the server's RSS stays
// bounded, a sentinel LD (never named by a mutating request) keeps its data,
// and `kura check` finds the data directory clean after the server stops.
//
// KURA_FUZZ_SEED=N replays a run (the seed is printed); KURA_FUZZ_API_REQUESTS=N
// sets the count (default 10,000, 10 to 30 s; the issue's full run is 100,000).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { runKura } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const COUNT = Number(process.env['KURA_FUZZ_API_REQUESTS'] ?? 10_000);
const SEED = Number(process.env['KURA_FUZZ_SEED'] ?? crypto.randomInt(2 ** 31));
/** Requests in flight at once. */
const CONCURRENCY = 8;
/** The server's resident set may not grow past this (it starts near 100 MiB). */
const RSS_LIMIT = 512 * 2 ** 20;
const MiB = 2 ** 20;
const SENTINEL = 'sentinel';

let srv: TestServer;
let sentinelNumber = -1;
let sentinelData: Buffer;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  string(max: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-'): string {
    // By code point: a lone surrogate is not a string any encoder takes.
    const chars = Array.from(alphabet);
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }
}

// Names the fuzzer uses for objects it may create and destroy: few, so the
// array does not fill up with thousands of objects, and a real name is hit often.
const NAMES = ['f0', 'f1', 'f2', 'f3', 'f4', 'pool0', 'fz', 'demo0', 'h1', 'h2', 's1', 'gen1', 'c1', 'ssv'];
const IQNS = ['iqn.2026-01.fuzz:a', 'iqn.2026-01.fuzz:b', 'eui.0123456789abcdef', 'naa.60014055aabbccdd'];
const DOTS = ['.', '..', '%2e', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '...', '..%2f', '%2e%2e%2f', '..%5c', '.%00.'];
const ENCODED = ['%41', '%2F', '%2f..', '%00', '%C3%A9', '%F0%9F%92%BE', '%FF', '%', '%zz', '%E0%A4%A', '%%', '%2', 'a%20b', '%u0041', '+', '%0a', '%0d%0a'];
const NUMBERS = ['0', '1', '2', '3', '7', '0001h', '0x1', 'ffffh', '0x', '-1', '1.5', '1e3', '99999999999999999999', '00000000000001'];
const TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
  'application/xml',
  '*/*',
];
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'];

/** Whether a decoded path parameter or body string refers to the sentinel LD (by name or number). */
function namesSentinel(v: unknown): boolean {
  if (typeof v !== 'string') return typeof v === 'number' && v === sentinelNumber;
  let s = v;
  try {
    s = decodeURIComponent(v);
  } catch {
    // as sent
  }
  s = s.trim();
  if (s.includes(SENTINEL)) return true;
  let n: number | undefined;
  if (/^[0-9]+$/.test(s)) n = Number(s);
  else if (/^[0-9a-fA-F]+h$/.test(s)) n = parseInt(s.slice(0, -1), 16);
  else if (/^0x[0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  return n === sentinelNumber;
}

interface RouteShape {
  method: string;
  path: string;
  body?: Record<string, { type?: string; oneOf?: unknown; enum?: string[] }>;
  query: string[];
}

function pathParam(g: Gen, name: string): string {
  const r = g.rnd();
  if (r < 0.35) return name === 'iqn' ? g.pick(IQNS) : name === 'lun' ? g.pick(NUMBERS) : g.pick(NAMES);
  if (r < 0.55) return g.pick(DOTS);
  if (r < 0.65) return g.pick(ENCODED);
  if (r < 0.75) return g.pick(NUMBERS);
  if (r < 0.8) return 'x'.repeat(g.int(5000) + 33);
  // Latin-1 sent raw (not valid UTF-8 on the wire), or Unicode percent-encoded.
  if (r < 0.85) return g.string(8, 'aé\u00ff\u00a0ß') || 'é';
  if (r < 0.9) return encodeURIComponent(g.string(6, 'ü€😀中\u0000\u202e'));
  return g.string(40, "abc.:_-%/\\?#;=@!$&'()*+,~") || '-';
}

function hostileValue(g: Gen, depth = 0): unknown {
  switch (g.int(depth > 2 ? 10 : 14)) {
    case 0:
      return g.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, Number.MAX_SAFE_INTEGER, -0, 4096, 1e21]);
    case 1:
      return g.pick(['1GiB', '10TiB', '1PiB', '999999PiB', '0', '-1GiB', '1.5GiB', '0x1000', '1000h', '1e300', 'NaN', 'Infinity', '', ' ']);
    case 2:
      return g.pick(NAMES);
    case 3:
      return g.pick(DOTS.concat(['a/b', '../../etc', 'x'.repeat(33), 'x'.repeat(100_000)]));
    case 4:
      return g.pick([true, false, null]);
    case 5:
      return g.pick(IQNS.concat(['iqn.2026-01.x:a/../b', 'iqn.', 'naa.1', 'eui.zz']));
    case 6:
      return g.pick(['controller-down', 'controller-up', 'port-down', 'port-up', 'ssv', 'rw', 'ro', 'RAID1', 'RAID10', 'RAID0', 'RAID5', 'info', 'error']);
    case 7:
      return g.string(20, 'aé😀\u0000\u202e"\\{}[]');
    case 8:
      return g.pick(['0', '1', '2', '127.0.0.1:1', '127.0.0.1:0', ':', '1:2:3', '0001h']);
    case 9:
      return g.int(100);
    case 10:
      return [hostileValue(g, depth + 1), hostileValue(g, depth + 1)];
    case 11:
      return { [g.pick(['__proto__', 'constructor', 'prototype', 'a'])]: hostileValue(g, depth + 1) };
    case 12:
      return Array.from({ length: g.int(4) }, () => g.pick(IQNS));
    default:
      return g.string(12);
  }
}

/** A well-typed value for a field, by its name: so that changes really happen (objects made, mapped, expanded, deleted). */
function plausible(g: Gen, field: string): unknown {
  switch (field) {
    case 'name':
    case 'ld':
    case 'mv':
    case 'rv':
      return g.pick(NAMES);
    case 'pool':
      return g.pick(['pool0', 'fz', '0', '1']);
    case 'size':
    case 'add':
    case 'total':
    case 'chunk':
      // Mostly small; now and then past the file system's or the pool's limits.
      return g.chance(0.75)
        ? g.pick(['1MiB', '64MiB', '128MiB', '1GiB', 4096, 2 ** 20])
        : g.pick(['16TiB', '1PiB', Number.MAX_SAFE_INTEGER, '256TiB', '64MiB1']);
    case 'iqn':
      return g.pick(IQNS);
    case 'initiators':
      return g.chance(0.5) ? [] : [g.pick(IQNS)];
    case 'user':
      return g.pick(['user1', 'target']);
    case 'secret':
      return g.pick(['secretsecret12', 'another-secret-34']);
    case 'action':
      return g.pick(['controller-down', 'controller-up', 'port-down', 'port-up']);
    case 'target':
      return g.pick(['0', '1', '127.0.0.1:1']);
    case 'raid':
      return g.pick(['1', '0', '10', 'RAID1']);
    case 'attr':
      return 'ssv';
    case 'rvAccess':
      return g.pick(['rw', 'ro']);
    case 'severity':
      return g.pick(['info', 'warning', 'error']);
    case 'id':
      return g.pick(['KURA-I7001', 'KURA-W7002', 'KURA-E7003']);
    case 'force':
      return g.chance(0.5);
    case 'owner':
      return g.pick(['fuzz', 'other']);
    default:
      // Integers: counts, LUNs, thresholds, limits, ttl, pds.
      return g.pick([0, 1, 2, 3, 10, 50, 90, 100, 1000]);
  }
}

/** A body for a route: its own fields with plausible or hostile values, sometimes garbage. */
function body(g: Gen, route: RouteShape): string | undefined {
  const r = g.rnd();
  const fields = Object.keys(route.body ?? {});
  if (r < 0.1) return undefined;
  if (r < 0.35) {
    const o: Record<string, unknown> = {};
    for (const f of fields) if (g.chance(0.7)) o[f] = plausible(g, f);
    return JSON.stringify(o);
  }
  if (r < 0.65) {
    const o: Record<string, unknown> = {};
    for (const f of fields) if (g.chance(0.75)) o[f] = hostileValue(g);
    if (g.chance(0.1)) o[g.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'extra', ''])] = hostileValue(g);
    let text = JSON.stringify(o);
    // Keys JSON.stringify drops or hides: __proto__ as an own key.
    if (g.chance(0.05)) text = text.replace(/^\{/, '{"__proto__":{"isAdmin":true},').replace(',}', '}');
    return text;
  }
  if (r < 0.7) {
    const n = g.pick([33, 100, 1000, 5000, 50_000]);
    const deep = g.chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    // At the top, or as the value of one of the route's fields (where a type error once printed it with JSON.stringify).
    return g.chance(0.5) || !fields.length ? deep : `{${JSON.stringify(g.pick(fields))}:${deep}}`;
  }
  if (r < 0.75)
    return g.pick(['{', '[]', '"x"', '123', 'true', 'null', '{"a":1', '{"a":}', '\u0000', '{"a":1}{"b":2}', ' ', '{"a":1e999}', '{"a":-}', '\ufeff{}']);
  if (r < 0.78) return JSON.stringify({ [fields[0] ?? 'name']: 'x'.repeat(MiB + g.int(1000)) });
  if (r < 0.85) return JSON.stringify(hostileValue(g));
  if (r < 0.9) return crypto.randomBytes(g.int(200)).toString('latin1');
  return `name=${g.string(8)}&size=1GiB`;
}

function queryString(g: Gen, route: RouteShape): string {
  if (g.chance(0.6)) return '';
  const parts: string[] = [];
  const n = g.int(4) + 1;
  for (let i = 0; i < n; i++) {
    const k =
      g.chance(0.6) && route.query.length
        ? g.pick(route.query)
        : g.pick(['force', 'limit', 'x', '__proto__', 'constructor', '%zz', '', 'a[b]', 'since', 'order']);
    const v = g.pick([
      'true',
      'false',
      '1',
      '0',
      '-1',
      '10001',
      'asc',
      'desc',
      'info',
      'maybe',
      '%',
      '%zz',
      '',
      'x'.repeat(g.int(3000)),
      '%F0%9F%92%BE',
      '1e3',
    ]);
    parts.push(g.chance(0.1) ? k : `${k}=${v}`);
  }
  return '?' + parts.join(g.chance(0.1) ? ';' : '&');
}

interface Fuzzed {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}

function request(g: Gen, routes: RouteShape[], token: string): Fuzzed | undefined {
  const route = g.pick(routes);
  const method = g.chance(0.8) ? route.method : g.pick(METHODS);
  const params: string[] = [];
  let p = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = pathParam(g, name);
    params.push(v);
    return v;
  });
  // Extra segments, dot segments between segments, doubled or trailing slashes.
  if (g.chance(0.05)) p += g.pick(['/..', '/.', '/../..', '/%2e%2e', '/x', '//', '/']);
  if (g.chance(0.03)) p = p.replace('/api/v1/', g.pick(['/api/v1/../v1/', '/api/./v1/', '/api/v1//', '/api/%2e%2e/api/v1/']));
  const b = body(g, route);
  // The sentinel LD is never the object of a change: its data must survive the run.
  if (
    method !== 'GET' &&
    method !== 'HEAD' &&
    (params.some(namesSentinel) || (b !== undefined && b.includes(SENTINEL)) || (b !== undefined && bodyNamesSentinelNumber(b)))
  )
    return undefined;
  const headers: Record<string, string> = {};
  const auth = g.rnd();
  if (auth < 0.9) headers['authorization'] = `Bearer ${token}`;
  else if (auth < 0.95) headers['authorization'] = g.pick(['Bearer ', 'Bearer x', `Basic ${token}`, `Bearer ${token}x`, 'bearer']);
  if (b !== undefined || g.chance(0.2)) {
    const ct = g.pick(TYPES);
    if (ct) headers['content-type'] = ct;
  }
  if (g.chance(0.3)) headers['x-kura-owner'] = g.pick(['fuzz', 'other', '', 'x'.repeat(300)]);
  return { method, path: p + queryString(g, route), body: b, headers };
}

/** A body that names the sentinel's number in a field that takes an LD (ld, mv, rv). */
function bodyNamesSentinelNumber(b: string): boolean {
  let o: unknown;
  try {
    o = JSON.parse(b);
  } catch {
    return false;
  }
  if (!o || typeof o !== 'object') return false;
  return ['ld', 'mv', 'rv'].some((k) => namesSentinel((o as Record<string, unknown>)[k]));
}

function send(agent: http.Agent, r: Fuzzed): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers };
    const payload = r.body === undefined ? undefined : Buffer.from(r.body, 'utf8');
    if (payload) headers['content-length'] = String(payload.length);
    let req: http.ClientRequest;
    try {
      req = http.request({ host: u.hostname, port: Number(u.port), method: r.method, path: r.path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
    } catch (e) {
      // Node refuses to send some targets (characters above U+00FF): nothing reached the server.
      resolve({ status: -1, text: (e as Error).message, headers: {} });
      return;
    }
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** An error body as the API promises it: { error: { id: KURA-Ennnn, message, action } }. */
/**
 * A 507 is the array saying it is out of space (errno ENOSPC, e.g. an SSV whose
 * reservation the pool cannot hold): a true answer with an id, not a server failure.
 */
function isOutOfSpace(status: number, text: string): boolean {
  return status === 507 && hasErrorId(text) && (JSON.parse(text) as { error: { code?: unknown } }).error.code === 'ENOSPC';
}

function hasErrorId(text: string): boolean {
  try {
    const e = (JSON.parse(text) as { error?: { id?: unknown; message?: unknown; action?: unknown } }).error;
    return !!e && typeof e.id === 'string' && /^KURA-E\d{4}$/.test(e.id) && typeof e.message === 'string' && typeof e.action === 'string';
  } catch {
    return false;
  }
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function sentinelIntact(): Promise<void> {
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: SENTINEL });
  try {
    assert.ok((await c.read(0, sentinelData.length)).equals(sentinelData), 'the sentinel LD kept its data');
  } finally {
    c.destroy();
  }
}

before(async () => {
  srv = await startServer();
  const api = async (method: string, p: string, b?: unknown) => {
    const r = await rawRequest(srv.url, { method, path: `/api/v1${p}`, token: srv.token, body: b });
    assert.ok(r.status < 300, `${method} ${p}: ${r.text}`);
    return r.json as Record<string, unknown>;
  };
  for (const l of ['DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager']) await api('POST', `/licenses/${l}/unlock`);
  await api('POST', '/pools', { name: 'fz', size: '5GiB', raid: 'RAID0', pds: 1 });
  await api('POST', '/lds', { name: 'ssv', pool: 'fz', attr: 'ssv' });
  sentinelNumber = (await api('POST', '/lds', { name: SENTINEL, pool: 'pool0', size: '16MiB' }))['number'] as number;
  await api('POST', '/lds', { name: 'f0', pool: 'pool0', size: '64MiB' });
  await api('POST', '/lds', { name: 'f1', pool: 'pool0', size: '64MiB' });
  await api('POST', '/lds/f0/snapshots', { name: 's1' });
  await api('POST', '/hosts', { name: 'h1', initiators: [IQNS[0]] });
  await api('POST', '/hosts/h1/luns', { ld: 'f1' });
  // Access control is on from the first host entry: the sentinel is read over plain NBD.
  await api('POST', `/lds/${SENTINEL}/nbd-plain`, { plain: true });
  sentinelData = crypto.randomBytes(2 * MiB);
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: SENTINEL });
  await c.write(0, sentinelData, { fua: true });
  c.destroy();
});
after(async () => {
  await srv.cleanup();
});

test(`API fuzz: ${COUNT} random requests; no 5xx, every error with an id, memory bounded, data and metadata intact`, { timeout: 3_600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (KURA_FUZZ_SEED=${SEED} KURA_FUZZ_API_REQUESTS=${COUNT} replays this run)`);
  process.stdout.write(`# API fuzz seed ${SEED}, ${COUNT} requests\n`);
  const doc = (await rawRequest(srv.url, { method: 'GET', path: '/api/v1/openapi.json' })).json as {
    paths: Record<
      string,
      Record<
        string,
        { parameters: Array<{ name: string; in: string }>; requestBody?: { content: { 'application/json': { schema: { properties: RouteShape['body'] } } } } }
      >
    >;
  };
  const routes: RouteShape[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops))
      routes.push({
        method: m.toUpperCase(),
        path: p,
        body: op.requestBody?.content['application/json'].schema.properties,
        query: op.parameters.filter((x) => x.in === 'query').map((x) => x.name),
      });
  }
  assert.ok(routes.length > 40, `the route table has ${routes.length} operations`);

  const g = new Gen(prng(SEED));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let sent = 0;
  let maxRss = 0;
  const started = Date.now();
  const pid = srv.proc.pid!;
  // Requests are drawn in order from one generator, so a seed gives the same sequence (the interleaving of answers may differ).
  const next = (): Fuzzed | undefined => {
    while (sent < COUNT) {
      sent++;
      const r = request(g, routes, srv.token);
      if (r) return r;
    }
    return undefined;
  };
  const worker = async () => {
    for (let r = next(); r; r = next()) {
      let a;
      try {
        a = await send(agent, r);
      } catch (e) {
        // A connection the server closed after an error answer (413) may fail the next request on it: retry once on a new one.
        try {
          a = await send(new http.Agent({ keepAlive: false }), r);
        } catch {
          failures.push(`${r.method} ${r.path.slice(0, 200)}: no answer (${(e as Error).message})`);
          if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) throw new Error(`the server died: ${srv.output().slice(-2000)}`);
          continue;
        }
      }
      if (a.status === -1) continue;
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      const what = () =>
        `${r.method} ${r.path.slice(0, 200)} ${r.body === undefined ? '' : `body ${JSON.stringify(r.body.slice(0, 200))}`} -> ${a.status} ${a.text.slice(0, 300)}`;
      if (a.status >= 500 && !isOutOfSpace(a.status, a.text)) failures.push(what());
      else if (a.status >= 400 && r.method !== 'HEAD') {
        if (!hasErrorId(a.text)) failures.push(`no error id: ${what()}`);
      }
      if (sent % 200 === 0) maxRss = Math.max(maxRss, rssOf(pid));
      // The fuzzer takes the configuration lock now and then; held, it refuses every other change (423). Release it often so changes keep happening.
      if (sent % 50 === 0) await rawRequest(srv.url, { method: 'DELETE', path: '/api/v1/lock?force=true', token: srv.token });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  maxRss = Math.max(maxRss, rssOf(pid));
  const seconds = (Date.now() - started) / 1000;
  const summary = `${sent} requests in ${seconds.toFixed(1)} s, seed ${SEED}, max RSS ${(maxRss / MiB).toFixed(0)} MiB, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`;
  t.diagnostic(summary);
  process.stdout.write(`# ${summary}\n`);
  assert.deepEqual(failures.slice(0, 30), [], `${failures.length} bad answer(s) (seed ${SEED})`);
  assert.ok(srv.proc.exitCode === null && srv.proc.signalCode === null, 'the server is alive');
  assert.ok(maxRss < RSS_LIMIT, `RSS ${maxRss} stays under ${RSS_LIMIT}`);
  assert.equal((await rawRequest(srv.url, { method: 'GET', path: `/api/v1/lds/${SENTINEL}`, token: srv.token })).status, 200, 'the sentinel LD exists');
  await sentinelIntact();

  assert.equal(await srv.stop(), 0, `kura serve stopped cleanly: ${srv.output().slice(-2000)}`);
  const check = runKura(['check', '--data', srv.dataDir], { timeoutMs: 300_000 });
  assert.equal(check.status, 0, `kura check: ${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /clean/);
});
