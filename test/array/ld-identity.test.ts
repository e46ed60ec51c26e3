// LD identities and deletion against a real `kura serve`: a deleted LD's NAA
// designator (VPD 0x83) and serial (VPD 0x80) never come back, across restarts;
// an LD that a host maps or that clients have open is not deleted without
// --force, which says what it unmapped and whom it cut off; clients that still
// hold the deleted LD get errors (NBD) and LOGICAL UNIT NOT SUPPORTED (iSCSI),
// never the data of the LD created in its place.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { NbdClient } from '../../src/nbd/client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import {
  ASSOC_LU,
  CHECK_CONDITION,
  DESIGNATOR_NAA,
  UNIT_ATTENTION,
  VPD_DEVICE_IDENTIFICATION,
  VPD_UNIT_SERIAL_NUMBER,
  cdb,
  parseDesignators,
} from '../../src/scsi/spec/index.js';
import { INITIATOR, INITIATOR2, senseCodeOf } from '../iscsi/helpers.js';

const MiB = 2 ** 20;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ident-'));
let srv: TestServer | undefined;

after(async () => {
  await srv?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Ld {
  number: number;
  naa: string;
  serial: string;
}

function create(s: TestServer, name: string): Ld {
  return JSON.parse(s.cli.ok('ld', 'create', name, '--pool', 'p', '--size', '16MiB', '--json')) as Ld;
}

async function login(s: TestServer, name = INITIATOR): Promise<IscsiInitiator> {
  const ini = await IscsiInitiator.connect('127.0.0.1', s.iscsiPorts[0]);
  assert.equal((await ini.login({ initiatorName: name, targetName: s.iqn })).status, 0);
  return ini;
}

/** A command past any unit attentions (which are collected). */
async function command(ini: IscsiInitiator, lun: number, c: Buffer, readLength = 0, uas: string[] = []) {
  for (let i = 0; i < 10; i++) {
    const r = await ini.command({ lun, cdb: c, readLength });
    const s = senseCodeOf(r.sense);
    if (r.status === CHECK_CONDITION && s?.key === UNIT_ATTENTION) {
      uas.push(`${s.asc.toString(16).padStart(2, '0')}/${s.ascq.toString(16).padStart(2, '0')}`);
      continue;
    }
    return { status: r.status, sense: s, data: r.dataIn };
  }
  throw new Error('unit attentions never stopped');
}

/** NAA designator (VPD 0x83) and serial (VPD 0x80) as an initiator reads them. */
async function vpdIdentity(ini: IscsiInitiator, lun: number): Promise<{ naa: string; serial: string }> {
  const d83 = (await command(ini, lun, cdb.inquiry(true, VPD_DEVICE_IDENTIFICATION, 255), 255)).data;
  const naa =
    parseDesignators(d83)
      .find((d) => d.type === DESIGNATOR_NAA && d.assoc === ASSOC_LU)
      ?.value.toString('hex') ?? '';
  const d80 = (await command(ini, lun, cdb.inquiry(true, VPD_UNIT_SERIAL_NUMBER, 255), 255)).data;
  return { naa, serial: d80.subarray(4, 4 + d80.readUInt16BE(2)).toString('ascii') };
}

test('identities are never reused; deleting an open or mapped LD needs --force, which says what it did; holders get errors', { timeout: 120_000 }, async () => {
  srv = await startServer({ dataDir, args: ['--no-demo'] });
  srv.cli.ok('pool', 'create', 'p', '--size', '1GiB', '--raid', '0', '--pds', '1');
  const a = create(srv, 'a');
  const seen = new Set([a.naa]);
  const serials = new Set([a.serial]);

  // Held over NBD and iSCSI.
  const nbd = await NbdClient.connect({ host: srv.nbdHost, port: srv.nbdPort, exportName: 'a' });
  await nbd.write(0, Buffer.alloc(4096, 0xaa));
  const ini = await login(srv);
  assert.deepEqual(await vpdIdentity(ini, a.number), { naa: a.naa, serial: a.serial }, 'VPD 0x83/0x80 carry the LD identity');
  const refused = srv.cli.run('ld', 'delete', 'a');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^KURA-E2502: LD a is open: .*NBD client 127\.0\.0\.1:\d+/m);
  assert.match(refused.stderr, new RegExp(`iSCSI initiator ${INITIATOR.replace(/\./g, '\\.')}`));
  const forced = srv.cli.run('ld', 'delete', 'a', '--force');
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /^LD a deleted\.$/m);
  assert.match(forced.stdout, /^Cut off: NBD client 127\.0\.0\.1:\d+/m);
  assert.match(forced.stdout, /^Cut off: iSCSI initiator /m);

  // Its number comes back (an LDN slot), its identity does not.
  const b = create(srv, 'b');
  assert.equal(b.number, a.number, 'the LD number is a reusable slot');
  assert.ok(!seen.has(b.naa) && !serials.has(b.serial), `b has a new identity: ${b.naa} ${b.serial}`);
  seen.add(b.naa);
  serials.add(b.serial);
  const bData = crypto.randomBytes(MiB);
  const nb = await NbdClient.connect({ host: srv.nbdHost, port: srv.nbdPort, exportName: 'b' });
  await nb.write(0, bData);
  await nb.flush();

  // The NBD client of a: every request fails, none reaches b.
  await assert.rejects(nbd.read(0, 4096), "a read through the deleted LD's connection fails");
  await assert.rejects(nbd.write(0, Buffer.alloc(4096, 0xee)), "a write through the deleted LD's connection fails");
  assert.ok((await nb.read(0, bData.length)).equals(bData), "b is untouched by a's old client");
  await nb.disconnect();
  await nbd.disconnect().catch(() => undefined);

  // The iSCSI session: the LU now at the LUN announces itself (unit attention) and identifies as b.
  const uas: string[] = [];
  const r = await command(ini, b.number, cdb.read10(0, 8), 4096, uas);
  assert.ok(
    uas.some((u) => u.startsWith('29/') || u === '3f/0e'),
    `the session is told the LU changed: ${uas.join(', ')}`,
  );
  assert.equal(r.status, 0);
  assert.equal((await vpdIdentity(ini, b.number)).naa, b.naa);

  // A mapped LD.
  srv.cli.ok('host', 'create', 'h', '--initiator', INITIATOR2);
  srv.cli.ok('host', 'map', 'h', 'b', '--lun', '3');
  const h = await login(srv, INITIATOR2);
  assert.equal((await command(h, 3, cdb.read10(0, 1), 512)).status, 0);
  const mapped = srv.cli.run('ld', 'delete', 'b');
  assert.equal(mapped.status, 1);
  assert.match(mapped.stderr, /^KURA-E2501: LD b is mapped to host h LUN 3/m);
  const api = await fetch(`${srv.url}/api/v1/lds/b?force=true`, { method: 'DELETE', headers: { authorization: `Bearer ${srv.token}` } });
  assert.equal(api.status, 200);
  const body = (await api.json()) as { unmapped: Array<{ host: string; lun: number }>; sessions: string[] };
  assert.deepEqual(body.unmapped, [{ host: 'h', lun: 3 }]);
  assert.ok(
    body.sessions.some((x) => x.includes(INITIATOR2)),
    JSON.stringify(body.sessions),
  );
  const gone = await command(h, 3, cdb.read10(0, 1), 512);
  assert.deepEqual([gone.status, gone.sense?.key, gone.sense?.asc, gone.sense?.ascq], [2, 5, 0x25, 0], 'LOGICAL UNIT NOT SUPPORTED');
  await h.logout();
  await ini.logout();
  const events = srv.cli.ok('events', '--json');
  assert.match(events, /KURA-W2503/);

  // A plain delete of an idle, unmapped LD needs no --force and says nothing more.
  const c = create(srv, 'c');
  assert.ok(!seen.has(c.naa) && !serials.has(c.serial));
  seen.add(c.naa);
  serials.add(c.serial);
  assert.equal(srv.cli.ok('ld', 'delete', 'c'), 'LD c deleted.\n');

  // Restarts (clean and not) keep the counter.
  assert.equal(await srv.stop(), 0);
  srv = await startServer({ dataDir });
  const d = create(srv, 'd');
  assert.ok(!seen.has(d.naa) && !serials.has(d.serial), 'after a restart');
  seen.add(d.naa);
  serials.add(d.serial);
  srv.cli.ok('ld', 'delete', 'd');
  await srv.kill('SIGKILL');
  srv = await startServer({ dataDir });
  const e = create(srv, 'e');
  assert.ok(!seen.has(e.naa) && !serials.has(e.serial), 'after kill -9');
});
