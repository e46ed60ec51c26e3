// GET /metrics against a real server while fio (its nbd engine) writes and
// reads an LD over NBD: the per-LD and per-port byte and operation counters
// move by what fio reports it did (within 5%), the latency histograms count
// the same operations, the scrape needs the API token unless the server runs
// with --metrics-public, and the text is well-formed Prometheus exposition.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { MetricsText } from '../../src/ops/metrics/text-format.js';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { cdb } from '../../src/scsi/spec/index.js';

let srv: TestServer;

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.cleanup();
});

type Samples = Map<string, number>;

/** Parses the text format: sample lines into "name{labels}" -> value, checking each line's shape. */
function parse(text: string): { samples: Samples; types: Map<string, string> } {
  const samples: Samples = new Map();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3] === '+Inf' ? Infinity : m[3]));
  }
  return { samples, types };
}

/** The sum of a family's samples whose labels include all of `labels`. */
function sum(s: Samples, name: string, labels: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of s) {
    const m = /^(\w+)(?:\{(.*)\})?$/.exec(k)!;
    if (m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([lk, lv]) => have.includes(`${lk}="${lv}"`))) n += v;
  }
  return n;
}

async function scrape(token?: string, url = srv.url): Promise<Response> {
  return fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(30_000) });
}

async function metrics(): Promise<Samples> {
  const r = await scrape(srv.token);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await r.text()).samples;
}

interface FioJob {
  error: number;
  read: { io_bytes: number; total_ios: number };
  write: { io_bytes: number; total_ios: number };
}

function fio(args: string[]): Promise<FioJob> {
  return new Promise((resolve, reject) => {
    const p = spawn('fio', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', (e) => reject(new Error(`fio could not run (Debian package fio): ${e.message}`)));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`fio exited ${code}: ${err}${out}`));
      resolve((JSON.parse(out.slice(out.indexOf('{'))) as { jobs: FioJob[] }).jobs[0]!);
    });
  });
}

function within5(actual: number, expected: number, what: string): void {
  assert.ok(expected > 0, `${what}: fio did some of it`);
  assert.ok(Math.abs(actual - expected) <= expected * 0.05, `${what}: the counter moved by ${actual}, fio did ${expected}`);
}

test('a scrape needs the API token', async () => {
  const r = await scrape();
  assert.equal(r.status, 401);
  const body = (await r.json()) as { error: { id: string } };
  assert.equal(body.error.id, 'KURA-E4001');
  assert.equal((await scrape('wrong-token-wrong-token')).status, 401);
});

test('the counters move by what fio did over NBD, scraped while it runs', async () => {
  const before = await metrics();
  const ld = { ld: 'demo0' };
  const port = { port: 'nbd' };
  const run = fio([
    '--name=metrics',
    '--ioengine=nbd',
    `--uri=${srv.nbdUri('demo0')}`,
    '--rw=randrw',
    '--rwmixread=40',
    '--bs=4k',
    '--iodepth=8',
    '--size=64m',
    '--io_size=24m',
    '--output-format=json',
  ]);
  // Scrapes during the run: each is whole and well-formed, and the write counter never goes back.
  let last = sum(before, 'kura_ld_write_bytes_total', ld);
  let done = false;
  void run.finally(() => (done = true)).catch(() => undefined);
  let during = 0;
  while (!done) {
    const s = await metrics();
    const w = sum(s, 'kura_ld_write_bytes_total', ld);
    assert.ok(w >= last, 'a counter never goes back');
    last = w;
    during++;
    await new Promise((r) => setTimeout(r, 200));
  }
  const job = await run;
  assert.equal(job.error, 0);
  assert.ok(during >= 1, 'scraped at least once while fio ran');
  const afterS = await metrics();
  const d = (name: string, labels: Record<string, string>) => sum(afterS, name, labels) - sum(before, name, labels);
  within5(d('kura_ld_write_bytes_total', ld), job.write.io_bytes, 'LD bytes written');
  within5(d('kura_ld_read_bytes_total', ld), job.read.io_bytes, 'LD bytes read');
  within5(d('kura_ld_write_ops_total', ld), job.write.total_ios, 'LD writes');
  within5(d('kura_ld_read_ops_total', ld), job.read.total_ios, 'LD reads');
  within5(d('kura_port_write_bytes_total', port), job.write.io_bytes, 'NBD port bytes written');
  within5(d('kura_port_read_bytes_total', port), job.read.io_bytes, 'NBD port bytes read');
  // The latency histograms count the same operations, and their +Inf bucket equals _count.
  within5(d('kura_ld_write_latency_seconds_count', ld), job.write.total_ios, 'write latency observations');
  assert.equal(sum(afterS, 'kura_ld_read_latency_seconds_bucket', { ...ld, le: '+Inf' }), sum(afterS, 'kura_ld_read_latency_seconds_count', ld));
  assert.equal(sum(afterS, 'kura_ld_queue_depth', ld), 0, 'nothing in flight once fio is done');
  // Capacity and process figures are there too.
  assert.equal(sum(afterS, 'kura_pool_capacity_bytes', { pool: 'pool0' }), 4 * 2 ** 30);
  assert.ok(sum(afterS, 'kura_pool_used_bytes', { pool: 'pool0' }) > 0);
  assert.ok(sum(afterS, 'process_resident_memory_bytes', {}) > 0);
  assert.equal(sum(afterS, 'kura_controller_up', {}), 2);
});

test('events pathd agents report are counted per host and severity', async () => {
  for (const severity of ['warning', 'warning', 'info'])
    await fetch(`${srv.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'KURA-W7002', severity, host: 'esx1/iqn.1994-05.com.example:esx1', text: 'path 1 failed' }),
      signal: AbortSignal.timeout(30_000),
    });
  const s = await metrics();
  assert.equal(sum(s, 'kura_pathd_events_total', { host: 'esx1/iqn.1994-05.com.example:esx1', severity: 'warning' }), 2);
  assert.equal(sum(s, 'kura_pathd_events_total', { host: 'esx1/iqn.1994-05.com.example:esx1', severity: 'info' }), 1);
  assert.ok(sum(s, 'kura_pathd_last_event_timestamp_seconds', {}) > 1.7e9);
});

test('iSCSI READs and WRITEs are counted on the host port they came through', async () => {
  const before = await metrics();
  const ini = await IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[1]);
  try {
    assert.equal((await ini.login({ initiatorName: 'iqn.1994-05.com.example:metrics', targetName: srv.iqn })).status, 0);
    // The unit attentions of a new nexus (power on, reset) first.
    for (let i = 0; i < 10 && (await ini.command({ lun: 0, cdb: cdb.testUnitReady() })).status !== 0; i++);
    const data = Buffer.alloc(64 * 512, 0x7e);
    for (let i = 0; i < 10; i++) assert.equal((await ini.command({ lun: 0, cdb: cdb.write10(i * 64, 64), dataOut: data })).status, 0);
    for (let i = 0; i < 4; i++) assert.equal((await ini.command({ lun: 0, cdb: cdb.read10(i * 64, 64), readLength: data.length })).status, 0);
    await ini.logout();
  } finally {
    ini.close();
  }
  const afterS = await metrics();
  const d = (name: string, labels: Record<string, string>) => sum(afterS, name, labels) - sum(before, name, labels);
  const port = { port: 'iscsi-1-2', protocol: 'iscsi', controller: '1' };
  assert.equal(d('kura_port_write_ops_total', port), 10);
  assert.equal(d('kura_port_write_bytes_total', port), 10 * 64 * 512);
  assert.equal(d('kura_port_read_ops_total', port), 4);
  assert.equal(d('kura_port_read_bytes_total', port), 4 * 64 * 512);
  assert.equal(d('kura_port_write_ops_total', { port: 'iscsi-0-1' }), 0, 'nothing on the other controller');
  assert.equal(d('kura_ld_write_bytes_total', { ld: 'demo0' }), 10 * 64 * 512, 'and on the LD');
});

test('the text declares each family once with a type, and label values are escaped', async () => {
  const r = await scrape(srv.token);
  const text = await r.text();
  const { types } = parse(text);
  for (const [name, type] of [
    ['kura_ld_read_bytes_total', 'counter'],
    ['kura_ld_write_bytes_total', 'counter'],
    ['kura_ld_read_latency_seconds', 'histogram'],
    ['kura_port_queue_depth', 'gauge'],
    ['kura_pool_used_bytes', 'gauge'],
    ['kura_pair_copy_progress_ratio', 'gauge'],
  ])
    assert.equal(types.get(name!), type, name);
  const typeLines = text.split('\n').filter((l) => l.startsWith('# TYPE '));
  assert.equal(new Set(typeLines).size, typeLines.length, 'no family is declared twice');
  // A label value with a quote, a backslash and a newline stays one well-formed line.
  const m = new MetricsText().family('x_total', 'counter', 'x').sample('x_total', { ld: 'a"b\\c\nd' }, 1).text();
  assert.equal(m.split('\n')[2], 'x_total{ld="a\\"b\\\\c\\nd"} 1');
  assert.equal(parse(m).samples.size, 1);
});

test('kura serve --metrics-public serves /metrics without the token (the API still needs it)', async () => {
  const pub = await startServer({ args: ['--metrics-public', '--no-demo'] });
  try {
    const r = await scrape(undefined, pub.url);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^# HELP kura_info /m);
    const api = await fetch(`${pub.url}/api/v1/lds`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(api.status, 401);
  } finally {
    await pub.cleanup();
  }
});
