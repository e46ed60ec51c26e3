// kura pathd as a process, against an in-process two-portal target: with no
// --state-file and no --log-dir it keeps priorities and path states in its
// default data directory across a restart (PM L84-86); `kura path show` prints
// the seed's -getlun layout (PM L12-28); `kura path set` takes a path number with
// omitted fields (PM L145); and an event of the seed's table reaches the log
// file, syslog (a logger(1) stand-in on PATH) and the array manager (a stand-in
// HTTP endpoint) with its seed id and level (PM L115-140).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startPathd } from '../helpers/pathd.js';
import type { TestPathd } from '../helpers/pathd.js';
import { startPmTarget } from './fixture.js';
import type { PmTarget } from './fixture.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-seed-'));
const xdg = path.join(tmp, 'xdg');
const syslogFile = path.join(tmp, 'syslog.txt');
let fx: PmTarget;
let manager: http.Server;
let managerUrl: string;
const posted: Array<{ id: string; severity: string; text: string }> = [];
const started: TestPathd[] = [];

before(async () => {
  fx = await startPmTarget(1);
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${syslogFile}'\n`, { mode: 0o755 });
  manager = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v1/events') posted.push(JSON.parse(body) as { id: string; severity: string; text: string });
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => manager.listen(0, '127.0.0.1', r));
  managerUrl = `http://127.0.0.1:${(manager.address() as net.AddressInfo).port}`;
});

after(async () => {
  for (const p of started) await p.stop();
  await new Promise((r) => manager.close(r));
  await fx.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.join(tmp, 'bin')}:${process.env['PATH'] ?? ''}`, XDG_STATE_HOME: xdg };
delete env['KURA_PATHD_DATA'];

/** Starts pathd with neither --state-file nor --log-dir; it finds the one device. */
async function pathd(): Promise<TestPathd> {
  const p = await startPathd(
    [
      ...fx.ports.flatMap((port) => ['--portal', `127.0.0.1:${port}`]),
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--initiator',
      'iqn.2026-11.io.kura:pathd-seed',
      '--manager',
      managerUrl,
      '--manager-token',
      't',
    ],
    { env },
  );
  started.push(p);
  assert.equal(p.devices, 1, `pathd found ${p.devices} devices:\n${p.output()}`);
  return p;
}

interface DeviceJson {
  logicalUnit: number;
  paths: Array<{ number: string; state: string; priority: number; index: number }>;
}

test(
  'pathd without --state-file keeps priorities and path states in its data directory; show, set with omitted fields and the seed events in log, syslog and manager',
  { timeout: 90_000 },
  async () => {
    const a = await pathd();
    let show = await a.cli.spawn('path', 'show');
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /^\*\*\* LogicalUnit #0 \*\*\* mpatha naa\.[0-9a-f]+$/m);
    assert.match(show.stdout, /^> 0: Priority=1, PathNumber=0:0:0:0, Portal=127\.0\.0\.1:\d+, ALUA=active\/optimized, State=in-use$/m);
    assert.match(show.stdout, /^@ 1: Priority=2, PathNumber=1:0:0:0, .*State=standby/m);
    // The seed's -path with omitted fields: every path through portal 1.
    const set = await a.cli.spawn('path', 'set', '1:::', 'available');
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /^> 1: Priority=2, PathNumber=1:0:0:0, /m, 'enabled, priority 2 beats priority 1');
    const prio = await a.cli.spawn('path', 'priority', '0:0:0:0', '7');
    assert.equal(prio.status, 0, prio.stderr);
    assert.match(prio.stdout, /^> 0: Priority=7, PathNumber=0:0:0:0, /m);
    const events = await a.cli.spawn('path', 'events');
    assert.match(events.stdout, /INFO {4}KURA-I7022 mpatha: .*\[PathManager event 265 Info\]$/m);
    const bad = await a.cli.spawn('path', 'show', '--sort', 'size');
    assert.equal(bad.status, 2, 'a usage error');
    assert.match(bad.stderr, /KURA-E7074/);
    for (let i = 0; i < 200 && !posted.some((e) => e.id === 'KURA-I7022'); i++) await new Promise((r) => setTimeout(r, 50));
    await a.stop();

    const data = path.join(xdg, 'kura', 'pathd');
    assert.ok(fs.existsSync(path.join(data, 'pathd-state.json')), 'the state file is in the default data directory');
    const logText = fs.readFileSync(path.join(data, 'pathd.log'), 'utf8');
    assert.match(logText, /INFO KURA-I7022 mpatha: .*\[PathManager event 265 Info\]$/m);
    assert.match(logText, /INFO KURA-I7070 mpatha: path 1:0:0:0 .*\[PathManager event 275 Info\]$/m);
    const syslog = fs.readFileSync(syslogFile, 'utf8');
    assert.match(syslog, /-t kura-pathd -p daemon\.info -- KURA-I7022 mpatha: .*\[PathManager event 265 Info\]$/m);
    assert.ok(
      posted.some((e) => e.id === 'KURA-I7022' && e.severity === 'info' && e.text.endsWith('[PathManager event 265 Info]')),
      `the manager got the event with its seed id and level: ${JSON.stringify(posted.slice(-5))}`,
    );
    assert.ok(posted.some((e) => e.id === 'KURA-I7063' && e.text.endsWith('[PathManager event 264 Info]')));

    const b = await pathd();
    try {
      show = await b.cli.spawn('path', 'show', '--json');
      assert.equal(show.status, 0, show.stderr);
      const d = (JSON.parse(show.stdout) as DeviceJson[])[0]!;
      assert.equal(d.logicalUnit, 0);
      const byNumber = Object.fromEntries(d.paths.map((p) => [p.number, { priority: p.priority, state: p.state, index: p.index }]));
      assert.deepEqual(byNumber, { '0:0:0:0': { priority: 7, state: 'in-use', index: 0 }, '1:0:0:0': { priority: 2, state: 'active', index: 1 } });
    } finally {
      await b.stop();
    }
  },
);
