// The initiator session and the path manager against a third-party target:
// the Debian tgt daemon with a file-backed LUN. Discovery, login, many
// commands in flight within tgt's command window, large writes (R2T and
// unsolicited data) read back byte for byte, reconnect after the connection
// drops, and a multipath device over tgt's single portal.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { InitiatorSession, sendTargets } from '../../src/iscsi/initiator-session.js';
import { PathLog } from '../../src/pathmgr/log.js';
import { PathManager } from '../../src/pathmgr/manager.js';
import { CDB_FUA, cdb } from '../../src/scsi/spec/index.js';
import { ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/server.js';

const IQN = 'iqn.2026-11.io.kura:pathd-test-tgt';
const INITIATOR = 'iqn.2026-11.io.kura:pathd-test-initiator';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-tgt-'));
const control = String(1000 + (process.pid % 4000));
let proc: ChildProcess;
let port: number;
const sessions: InitiatorSession[] = [];
let mgr: PathManager | undefined;

function adm(...a: string[]): void {
  const r = spawnSync('tgtadm', ['-C', control, '--lld', 'iscsi', ...a], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `tgtadm ${a.join(' ')}: ${r.stderr}`);
}

async function waitForPort(p: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(p, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tgtd is not listening on ${p}`);
}

before(async () => {
  const tools = spawnSync('bash', [path.join(ROOT, 'scripts', 'ensure-tools.sh')], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(tools.status, 0, `ensure-tools: ${tools.stderr}`);
  port = await freePort();
  const file = path.join(dir, 'lun.img');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 64 << 20);
  proc = spawn('tgtd', ['-f', '-C', control, '--iscsi', `portal=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port);
  adm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', IQN);
  adm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', file);
  adm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
});

after(async () => {
  await mgr?.close();
  for (const s of sessions) await s.close();
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    // tgtd ignores SIGTERM while it has targets: ask it to stop, then insist.
    spawnSync('tgtadm', ['-C', control, '--op', 'delete', '--mode', 'system'], { timeout: 5000 });
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('discovery and a full-feature session with tgt: 64 commands in flight, 1 MiB writes read back, reconnect after a drop', async () => {
  assert.deepEqual(await sendTargets('127.0.0.1', port, INITIATOR), [IQN]);
  const s = new InitiatorSession({ host: '127.0.0.1', port, targetName: IQN, initiatorName: INITIATOR, keepaliveMs: 1000 });
  sessions.push(s);
  await s.open();
  // A new I_T nexus first gets a unit attention (power on / reset): clear it.
  let tur = await s.command({ lun: 1, cdb: cdb.testUnitReady() });
  for (let i = 0; i < 5 && tur.status !== 0; i++) tur = await s.command({ lun: 1, cdb: cdb.testUnitReady() });
  assert.equal(tur.status, 0);
  const chunk = 1 << 20;
  const bufs = Array.from({ length: 8 }, () => crypto.randomBytes(chunk));
  const w = await Promise.all(
    bufs.map((b, i) => s.command({ lun: 1, cdb: cdb.write16((i * chunk) / 512, chunk / 512, i % 2 === 0 ? CDB_FUA : 0), dataOut: b })),
  );
  assert.deepEqual(
    w.map((r) => r.status),
    Array(8).fill(0),
  );
  const reads = await Promise.all(Array.from({ length: 64 }, (_x, i) => s.command({ lun: 1, cdb: cdb.read16((i % 8) * (chunk / 512), 8), readLength: 4096 })));
  reads.forEach((r, i) => {
    assert.equal(r.status, 0);
    assert.deepEqual(r.dataIn, bufs[i % 8]!.subarray(0, 4096));
  });
  const big = await s.command({ lun: 1, cdb: cdb.read16((3 * chunk) / 512, chunk / 512), readLength: chunk });
  assert.deepEqual(big.dataIn, bufs[3]);
  s.drop();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.connected, false);
  await s.reconnect(10_000);
  let again = await s.command({ lun: 1, cdb: cdb.read16(0, 8), readLength: 4096 });
  // tgt reports a unit attention to the new connection first.
  for (let i = 0; i < 5 && again.status === 2; i++) again = await s.command({ lun: 1, cdb: cdb.read16(0, 8), readLength: 4096 });
  assert.equal(again.status, 0);
  assert.deepEqual(again.dataIn, bufs[0]!.subarray(0, 4096));
});

test('a multipath device over tgt: grouped by its VPD 0x83 designator, I/O round-trips', async () => {
  mgr = new PathManager({ portals: [{ host: '127.0.0.1', port }], initiatorName: INITIATOR, log: new PathLog({}) });
  await mgr.rescan();
  assert.equal(mgr.devices.length, 1, 'the disk LUN (not the controller LUN 0)');
  const dev = mgr.devices[0]!;
  assert.equal(dev.blockCount * dev.blockSize, 64 << 20);
  assert.equal(dev.paths[0]!.lun, 1);
  const data = crypto.randomBytes(128 * 1024);
  await dev.write(2048, data, { fua: true });
  await dev.flush();
  assert.deepEqual(await dev.read(2048, 256), data);
});
