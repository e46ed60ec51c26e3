// Issue 8 item 9: clients that send requests and never read the replies must
// not grow `kura serve` without bound. Against a real server (child process):
// an NBD connection pipelining 32 MiB READs, one streaming 32 MiB WRITEs, and
// four iSCSI sessions each queueing 1,000 READ(10) of 8 MiB, none of them
// reading. The server's RSS stays under 512 MiB, and meanwhile a good NBD
// client, an iSCSI read by the repo's initiator, iscsi-readcapacity16 and an
// API GET are served with their bytes checked.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type net from 'node:net';
import { test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { NbdClient } from '../../src/nbd/client.js';
import * as P from '../../src/nbd/protocol.js';
import { startServer } from '../helpers/server.js';
import { cdb } from '../../src/scsi/spec/index.js';
import { MiB, iscsiLogin, iscsiReadFlood, nbdRawSession, nbdRequest, runAsync, sleep, watchRss } from './helpers.js';

const RSS_LIMIT_MIB = 512;
const FLOOD_MS = 15_000;

test('NBD and iSCSI floods that never read their replies leave kura serve under 512 MiB while good clients are served', { timeout: 90_000 }, async () => {
  const srv = await startServer();
  const floods: net.Socket[] = [];
  const inis: IscsiInitiator[] = [];
  let aborted = false;
  const stopFloods = (): void => {
    aborted = true;
    for (const s of floods) s.destroy();
    for (const i of inis) i.sock.destroy();
  };
  // A server that runs away is killed at once: it would take the machine with it.
  const rss = watchRss(srv.proc.pid!, RSS_LIMIT_MIB, () => {
    stopFloods();
    srv.proc.kill('SIGKILL');
  });
  try {
    // The bytes the good clients check: written before the floods start.
    const pattern = crypto.randomBytes(256 * 1024);
    const good = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'demo0' });
    await good.write(0, pattern, { fua: true });
    await good.disconnect();

    // Every flooding connection is set up first, then they all start at once.
    const reader = await nbdRawSession(srv.nbdPort, 'demo0');
    const writer = await nbdRawSession(srv.nbdPort, 'demo0');
    floods.push(reader, writer);
    for (let k = 0; k < 4; k++) inis.push(await iscsiLogin(srv.iscsiPorts[k % 2]!, srv.iqn, `iqn.2026-12.io.kura:flood${k}`));

    // NBD read flood: 32 MiB READs, pipelined, no reply read.
    reader.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => nbdRequest(P.NBD_CMD_READ, i, (i % 30) * 32 * MiB, 32 * MiB))));
    // NBD write flood: 32 MiB WRITEs as fast as the server takes them, no reply read.
    const payload = crypto.randomBytes(32 * MiB);
    let written = 0;
    const pushWrites = (): void => {
      while (!aborted && !writer.destroyed) {
        const off = 512 * MiB + (written % 8) * 32 * MiB;
        written++;
        writer.write(nbdRequest(P.NBD_CMD_WRITE, written, off, payload.length));
        if (!writer.write(payload)) {
          writer.once('drain', pushWrites);
          return;
        }
      }
    };
    pushWrites();
    // iSCSI: four sessions, each 1,000 READ(10) of 8 MiB, never reading Data-In.
    for (const ini of inis) iscsiReadFlood(ini, 1000, 16384);

    // Good clients, in turn, while the floods go on.
    const served = { nbd: 0, iscsi: 0, tool: 0, api: 0 };
    const end = Date.now() + FLOOD_MS;
    while (Date.now() < end && !aborted) {
      try {
        const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'demo0', timeoutMs: 30_000 });
        assert.ok((await c.read(0, pattern.length)).equals(pattern), 'a good NBD client reads back its bytes during the flood');
        await c.disconnect();
        served.nbd++;

        const ini = await IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[0]);
        assert.equal((await ini.login({ initiatorName: 'iqn.2026-12.io.kura:good', targetName: srv.iqn })).status, 0);
        let r = await ini.command({ cdb: cdb.read10(0, pattern.length / 512), readLength: pattern.length });
        if (r.status !== 0) r = await ini.command({ cdb: cdb.read10(0, pattern.length / 512), readLength: pattern.length }); // a unit attention first
        assert.equal(r.status, 0);
        assert.ok(r.dataIn.equals(pattern), 'a good iSCSI client reads back the same bytes during the flood');
        assert.equal(await ini.logout(), 0);
        served.iscsi++;

        const rc = await runAsync('iscsi-readcapacity16', [srv.iscsiUrl(0)], 30_000);
        assert.equal(rc.status, 0, rc.stderr);
        assert.match(rc.stdout, /Total size:\s*1073741824/);
        served.tool++;

        const res = await fetch(`${srv.url}/api/v1/lds`, { headers: { authorization: `Bearer ${srv.token}` }, signal: AbortSignal.timeout(30_000) });
        assert.equal(res.status, 200);
        const lds = (await res.json()) as Array<{ name: string }>;
        assert.ok(lds.some((l) => l.name === 'demo0'));
        served.api++;
        await sleep(200);
      } catch (e) {
        // A server that ran away is reported by its RSS below, not by a client's timeout.
        if (aborted) break;
        throw e;
      }
    }
    const peak = rss.max();
    process.stderr.write(
      `memory flood: peak RSS ${peak.toFixed(0)} MiB; good clients served ${JSON.stringify(served)}; ${written} WRITEs of 32 MiB sent by the non-reading writer\n`,
    );
    assert.ok(!aborted && peak < RSS_LIMIT_MIB, `kura serve's RSS reached ${peak.toFixed(0)} MiB (limit ${RSS_LIMIT_MIB})`);
    assert.ok(served.nbd > 0 && served.iscsi > 0 && served.tool > 0 && served.api > 0, `every good client was served: ${JSON.stringify(served)}`);
    assert.equal(srv.proc.exitCode, null, 'the server is still running');
  } finally {
    rss.stop();
    stopFloods();
    await srv.cleanup();
  }
});
