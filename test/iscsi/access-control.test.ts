// Access control never fails open: the first host entry starts it (and the CLI
// says so), deleting the last host entry leaves it on (no initiator sees any
// LU: REPORT LUNS is empty), it survives a restart, and only an explicit
// `kura host access stop --force` (with a warning) turns it off again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { cdb } from '../../src/scsi/spec/index.js';
import { INITIATOR, INITIATOR2, ok } from './helpers.js';

let srv: TestServer;
const { run: kura, ok: must } = kuraCli(() => ({ env: srv.env }));

before(async () => {
  srv = await startServer();
});

after(async () => {
  await srv.cleanup();
});

function lsLuns(initiator: string): Promise<string> {
  return ok('iscsi-ls', ['-s', '-i', initiator, `iscsi://127.0.0.1:${srv.iscsiPorts[0]}`]);
}

/** REPORT LUNS through the repo's own initiator: the LUN numbers the target lists. */
async function reportLuns(initiator: string): Promise<number[]> {
  const ini = await IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[0]);
  try {
    const r = await ini.login({ initiatorName: initiator, targetName: srv.iqn });
    assert.equal(r.status, 0, 'the login itself succeeds');
    const res = await ini.command({ lun: 0, cdb: cdb.reportLuns(0, 4096), readLength: 4096 });
    assert.equal(res.status, 0);
    const n = res.dataIn.readUInt32BE(0) / 8;
    const luns: number[] = [];
    for (let i = 0; i < n; i++) luns.push(res.dataIn.readUInt16BE(8 + i * 8) & 0x3fff);
    await ini.logout();
    return luns;
  } finally {
    ini.close();
  }
}

interface Access {
  enabled: boolean;
  hosts: number;
}

test('access control stays on after the last host entry is deleted, survives a restart, and stops only with --force', { timeout: 120_000 }, async () => {
  // A new array: access control is off, every initiator sees every LD.
  assert.deepEqual(JSON.parse(must('host', 'access', 'show', '--json')) as Access, { enabled: false, hosts: 0 });
  assert.match(await lsLuns(INITIATOR2), /Lun:0\s/);

  // The first host entry starts it, and the CLI says so.
  const created = must('host', 'create', 'web', '--initiator', INITIATOR);
  assert.match(created, /Access control is now on/);
  assert.doesNotMatch(must('host', 'create', 'db', '--initiator', 'iqn.2026-01.test:db'), /Access control is now on/, 'said only when it starts');
  must('host', 'map', 'web', 'demo0', '--lun', '0');
  assert.match(await lsLuns(INITIATOR), /Lun:0\s/);
  assert.doesNotMatch(await lsLuns(INITIATOR2), /Lun:/);

  // Deleting every host entry does not open the array again.
  must('host', 'delete', 'web');
  must('host', 'delete', 'db');
  assert.deepEqual(JSON.parse(must('host', 'access', 'show', '--json')) as Access, { enabled: true, hosts: 0 });
  assert.match(must('host', 'list'), /access control is on/i);
  for (const i of [INITIATOR, INITIATOR2]) {
    assert.doesNotMatch(await lsLuns(i), /Lun:/, `${i} sees no LU`);
    assert.deepEqual(await reportLuns(i), [], `REPORT LUNS for ${i} is empty`);
  }

  // The state survives a restart.
  assert.equal(await srv.stop(), 0);
  srv = await startServer({ dataDir: srv.dataDir });
  assert.deepEqual(JSON.parse(must('host', 'access', 'show', '--json')) as Access, { enabled: true, hosts: 0 });
  assert.deepEqual(await reportLuns(INITIATOR2), []);

  // Stopping needs --force and warns.
  const refused = kura('host', 'access', 'stop');
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /^KURA-E2524: .*every initiator/m);
  assert.deepEqual(await reportLuns(INITIATOR2), [], 'still closed after the refused stop');
  const stopped = kura('host', 'access', 'stop', '--force');
  assert.equal(stopped.status, 0, stopped.stderr);
  assert.match(stopped.stdout + stopped.stderr, /warning: .*every initiator sees every LD/i);
  assert.match(await lsLuns(INITIATOR2), /Lun:0\s/);
  const events = JSON.parse(must('events', '--limit', '50', '--json')) as Array<{ id: string; severity: string }>;
  assert.ok(
    events.some((e) => e.id === 'KURA-W2525' && e.severity === 'warning'),
    'stopping is recorded as a warning event',
  );

  // An explicit start with no host entries closes the array at once.
  const started = must('host', 'access', 'start');
  assert.match(started, /no initiator sees any LD/i);
  assert.deepEqual(await reportLuns(INITIATOR2), []);
  assert.deepEqual(JSON.parse(must('host', 'access', 'show', '--json')) as Access, { enabled: true, hosts: 0 });
});
