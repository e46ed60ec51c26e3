// Redundant managers (issue 13, the patent's claim): a 3-member etcd cluster, 2 arrays
// and 4 managers; the active manager of a random array is killed (kill -9, or kill -STOP
// for longer than the lease, then -CONT) again and again. After each kill: the standby
// serves the array, a new standby is recruited and confirms, exactly one manager serves
// each array, every event acknowledged to a client is on the new active, and the arrays'
// fencing logs show no stale token ever accepted. Then an etcd member is killed, and one
// manager's connection to etcd is cut. Prints failover (kill → new active serving the
// API) and re-redundancy (kill → confirmed new standby) p50/p99.
// npm test runs KURA_HA_KILLS=5 (default); scripts/soak.sh runs 100.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readFencingLog } from '../../src/array/agent-http/fencing.js';
import type { HaArrayView, HaManagerView } from '../../src/api/ha.js';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';
import { api, cuttableLink, startArray, startManager } from '../helpers/ha.js';
import type { CuttableLink, TestArray, TestManager } from '../helpers/ha.js';

const KILLS = Number(process.env['KURA_HA_KILLS'] ?? 5);
// The lease TTL of the managers (KURA_HA_TTL; 3 s is kura manager's default).
const TTL = Number(process.env['KURA_HA_TTL'] ?? 3);

/** A long run's progress, one line a round, to KURA_HA_LOG (a file) when set. */
const progress = (line: string) => {
  const f = process.env['KURA_HA_LOG'];
  if (f) fs.appendFileSync(f, `${new Date().toISOString()} ${line}\n`);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

test(
  `failover and recruitment over ${KILLS} kills of an active manager, an etcd member and a cut etcd link`,
  { timeout: 120_000 + KILLS * 60_000 },
  async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ha-'));
    let etcd: EtcdCluster | undefined;
    let link: CuttableLink | undefined;
    const arrays: TestArray[] = [];
    const managers = new Map<string, TestManager>();
    /** Managers not to send requests to (killed, or paused). */
    const down = new Set<string>();
    let writing = false;
    let writer: Promise<void> = Promise.resolve();
    try {
      etcd = await startEtcd(3);
      link = await cuttableLink(etcd.members.map((m) => m.clientUrl));
      arrays.push(await startArray(path.join(root, 'a0')), await startArray(path.join(root, 'a1')));
      for (const name of ['m1', 'm2', 'm3', 'm4']) {
        // m4 reaches etcd through proxies the test can cut.
        managers.set(name, await startManager(name === 'm4' ? link.endpoints : etcd.endpoints, path.join(root, name), name, TTL));
      }
      const token = fs.readFileSync(path.join(root, 'm1', 'admin.token'), 'utf8').trim();
      for (const name of ['m2', 'm3', 'm4'])
        assert.equal(fs.readFileSync(path.join(root, name, 'admin.token'), 'utf8').trim(), token, `${name} accepts the first manager's token`);

      const live = () => [...managers.values()].filter((m) => !down.has(m.name));
      const anyLive = () => live()[Math.floor(Math.random() * live().length)]!;
      const call = (m: TestManager, method: string, p: string, o: { array?: string; body?: unknown; timeoutMs?: number } = {}) =>
        api(m.url, token, method, p, o);
      const arrayList = async (): Promise<HaArrayView[]> => {
        // Bounded: a deployment that answers nobody for a minute fails the test, not stalls it.
        const deadline = Date.now() + 60_000;
        for (;;) {
          const r = await call(anyLive(), 'GET', '/api/v1/ha/arrays');
          if (r.status === 200) return r.json as HaArrayView[];
          if (Date.now() > deadline) assert.fail(`no live manager listed the arrays for 60 s (${r.status})`);
          await sleep(100);
        }
      };

      /** What the managers say, for failure messages. */
      const dump = () =>
        [...managers.values()].map((m) => `--- ${m.name}${down.has(m.name) ? ' (down)' : ''}\n${m.output().split('\n').slice(-30).join('\n')}`).join('\n');
      const ids: string[] = [];
      for (const a of arrays) {
        const r = await call(anyLive(), 'POST', '/api/v1/ha/arrays', {
          body: { url: a.agentUrl, token: fs.readFileSync(a.tokenFile, 'utf8').trim() },
          timeoutMs: 30_000,
        });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        ids.push((r.json as HaArrayView).id);
      }
      const again = await call(anyLive(), 'POST', '/api/v1/ha/arrays', {
        body: { url: arrays[0]!.agentUrl, token: fs.readFileSync(arrays[0]!.tokenFile, 'utf8').trim() },
      });
      // The same array at the same URL again (a retried request) answers with its entry.
      assert.equal(again.status, 201, JSON.stringify(again.json));
      assert.equal((again.json as HaArrayView).id, ids[0]);

      /** Every array with an active and a confirmed standby, none of them down. */
      const settled = async (timeoutMs = 60_000): Promise<HaArrayView[]> => {
        const deadline = Date.now() + timeoutMs;
        let last: HaArrayView[] = [];
        while (Date.now() < deadline) {
          last = await arrayList();
          const ok = last.every(
            (a) => a.active !== null && !down.has(a.active) && (live().length < 2 || (a.standby !== null && a.standbyConfirmed && !down.has(a.standby))),
          );
          if (ok && last.length === ids.length) return last;
          await sleep(100);
        }
        assert.fail(`arrays did not settle: ${JSON.stringify(last)}\n${dump()}`);
      };
      await settled();

      // Without --array (two registered) the API says which are there.
      const choice = await call(anyLive(), 'GET', '/api/v1/pools');
      assert.equal((choice.json as { error: { id: string } }).error.id, 'KURA-E8012');
      for (const id of ids) {
        const r = await call(anyLive(), 'POST', '/api/v1/pools', { array: id, body: { name: 'p0', size: '1GiB', raid: '1', pds: 2 }, timeoutMs: 30_000 });
        assert.equal(r.status, 201, JSON.stringify(r.json));
      }

      // The workload: events and configuration changes through random live managers; only
      // answers of 2xx count as acknowledged.
      const acked = new Map<string, Array<{ text: string; seq: number }>>(ids.map((id) => [id, []]));
      let n = 0;
      writing = true;
      writer = (async () => {
        while (writing) {
          const id = ids[n % ids.length]!;
          const text = `ack ${id} ${n}`;
          if (n % 5 === 0) {
            await call(anyLive(), 'PATCH', '/api/v1/pools/p0', { array: id, body: { threshold: 50 + (n % 40) } });
          } else {
            const r = await call(anyLive(), 'POST', '/api/v1/events', { array: id, body: { id: 'KURA-I9999', severity: 'info', host: 'ha-test', text } });
            if (r.status === 201) acked.get(id)!.push({ text, seq: (r.json as { seq: number }).seq });
          }
          n++;
          await sleep(100);
        }
      })();

      /** Exactly one manager serves each array, whichever manager is asked; returns it. */
      const oneActive = async (id: string): Promise<string> => {
        const deadline = Date.now() + 20_000;
        let seen: Array<string | null> = [];
        let detail = '';
        while (Date.now() < deadline) {
          const answers = await Promise.all(live().map((m) => call(m, 'GET', '/api/v1/array', { array: id })));
          seen = answers.map((r) => (r.status === 200 ? r.servedBy : null));
          const list = (await arrayList()).find((a) => a.id === id)!;
          if (seen.every((s) => s !== null && s === list.active)) return list.active!;
          detail = `${JSON.stringify(list)} ${JSON.stringify(answers.map((r, i) => [live()[i]?.name, r.status, r.servedBy, (r.json as { error?: unknown } | undefined)?.error]))}`;
          await sleep(200);
        }
        assert.fail(`array ${id}: not exactly one manager serving: ${JSON.stringify(seen)}\n${detail}\n${dump()}`);
      };

      const ackedPresent = async (id: string): Promise<void> => {
        const r = await call(anyLive(), 'GET', '/api/v1/events?limit=10000', { array: id, timeoutMs: 30_000 });
        assert.equal(r.status, 200);
        const list = r.json as Array<{ text: string; seq: number }>;
        const texts = new Set(list.map((e) => e.text));
        // The API answers the newest 10,000 events at most: in a long run (KURA_HA_KILLS=100)
        // the oldest acknowledged ones fall out of that window; they were checked in earlier rounds.
        const from = list.length < 10000 ? -Infinity : (list[0]?.seq ?? -Infinity);
        const missing = acked
          .get(id)!
          .filter((a) => a.seq >= from && !texts.has(a.text))
          .map((a) => a.text);
        if (missing.length > 0) {
          const ha = (r.json as Array<{ seq: number; id: string; text: string }>)
            .filter((e) => /KURA-[IW]80/.test(e.id))
            .map((e) => `${e.seq} ${e.id} ${e.text}`);
          assert.fail(
            `array ${id}: acknowledged events missing on the active ${r.servedBy}: ${missing.join(', ')}\n${JSON.stringify(await arrayList())}\n${ha.slice(-30).join('\n')}\n${dump()}`,
          );
        }
      };

      const failover: number[] = [];
      const reredundancy: number[] = [];

      const killRound = async (round: number): Promise<void> => {
        const list = await settled();
        const target = list[Math.floor(Math.random() * list.length)]!;
        const victim = managers.get(target.active!)!;
        const stop = round % 2 === 1;
        const t0 = Date.now();
        down.add(victim.name);
        if (stop) victim.signal('SIGSTOP');
        else await victim.kill();
        // Failover: a manager other than the victim serves the array's API.
        for (;;) {
          const r = await call(anyLive(), 'GET', '/api/v1/array', { array: target.id, timeoutMs: 2000 });
          if (r.status === 200 && r.servedBy !== null && r.servedBy !== victim.name) break;
          if (Date.now() - t0 > 60_000)
            assert.fail(
              `round ${round}: array ${target.id} not served again after 60 s (victim ${victim.name}): ${JSON.stringify(await arrayList())}\n${dump()}`,
            );
          await sleep(50);
        }
        failover.push(Date.now() - t0);
        await settled();
        reredundancy.push(Date.now() - t0);
        progress(
          `round ${round} (${stop ? 'SIGSTOP' : 'kill -9'} ${victim.name}, array ${target.id}): failover ${failover.at(-1)} ms, re-redundancy ${reredundancy.at(-1)} ms`,
        );
        if (stop) {
          // Paused for longer than the lease, then resumed: it must have stopped acting.
          const paused = Date.now() - t0;
          if (paused < (TTL + 1) * 1000) await sleep((TTL + 1) * 1000 - paused);
          victim.signal('SIGCONT');
        } else {
          managers.set(victim.name, await victim.restart());
        }
        down.delete(victim.name);
        // Back as a live manager (a spare), and serving nothing on its own.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const ms = (await call(anyLive(), 'GET', '/api/v1/ha/managers')).json as HaManagerView[] | undefined;
          if (ms?.some((m) => m.name === victim.name)) break;
          if (Date.now() > deadline) assert.fail(`round ${round}: ${victim.name} did not rejoin\n${dump()}`);
          await sleep(200);
        }
        for (const id of ids) await oneActive(id);
        await ackedPresent(target.id);
        // Every step is an event on the new active: the takeover from the victim, the
        // selection of a new standby, the transmission and the confirmation.
        const evs = (await call(anyLive(), 'GET', '/api/v1/events?limit=10000', { array: target.id, timeoutMs: 30_000 })).json as Array<{
          id: string;
          text: string;
        }>;
        let takeover = -1;
        evs.forEach((e, i) => {
          if (e.id === 'KURA-W8002' && e.text.includes(`active manager ${victim.name} is gone`)) takeover = i;
        });
        assert.ok(takeover >= 0, `round ${round}: no takeover event naming ${victim.name}`);
        const after = evs.slice(takeover).map((e) => e.id);
        for (const step of ['KURA-I8002', 'KURA-I8003', 'KURA-I8004'])
          assert.ok(after.includes(step), `round ${round}: no ${step} after the takeover: ${after.join(' ')}`);
      };

      for (let i = 0; i < KILLS; i++) await killRound(i);

      // An etcd member dies: the managers carry on on the other two.
      await etcd.kill(0);
      await killRound(KILLS);
      await etcd.restart(0);

      // One manager's connection to etcd is cut: it stops acting; its roles move on.
      const m4 = managers.get('m4')!;
      link.cut();
      down.add('m4');
      await sleep((TTL + 1) * 1000);
      const cutList = await settled();
      assert.ok(
        cutList.every((a) => a.active !== 'm4' && a.standby !== 'm4'),
        JSON.stringify(cutList),
      );
      const fromM4 = await call(m4, 'GET', '/api/v1/array', { array: ids[0], timeoutMs: 5000 });
      assert.notEqual(fromM4.servedBy, 'm4', 'a manager cut off from etcd serves no array');
      link.restore();
      down.delete('m4');
      for (const id of ids) await oneActive(id);

      writing = false;
      await writer;
      for (const id of ids) await ackedPresent(id);

      // The fencing logs: accepted tokens never go down, so no stale token was ever accepted.
      for (const a of arrays) {
        const log = readFencingLog(a.fencingLog);
        let highest = 0;
        for (const e of log) {
          if (e.outcome === 'accepted') {
            assert.ok(e.token >= highest, `${a.dataDir}: token ${e.token} accepted after ${highest}`);
            highest = e.token;
          } else assert.ok(e.token < highest, `${a.dataDir}: token ${e.token} refused though not stale`);
        }
        const refused = log.filter((e) => e.outcome === 'refused').length;
        console.log(`# fencing log ${path.basename(a.dataDir)}: ${log.length} fenced calls, ${refused} refused as stale, highest token ${highest}`);
      }
      const acks = [...acked.values()].reduce((s, l) => s + l.length, 0);
      console.log(`# ${failover.length} kills, ${acks} acknowledged events checked`);
      console.log(`# failover (kill → new active serving the API): p50 ${percentile(failover, 50)} ms, p99 ${percentile(failover, 99)} ms`);
      console.log(`# re-redundancy (kill → confirmed new standby): p50 ${percentile(reredundancy, 50)} ms, p99 ${percentile(reredundancy, 99)} ms`);
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      for (const m of managers.values()) await m.kill();
      for (const a of arrays) await a.kill();
      await link?.close();
      await etcd?.stop();
      if (process.env['KURA_HA_KEEP'] === undefined) fs.rmSync(root, { recursive: true, force: true });
      else console.log(`# kept ${root}`);
    }
  },
);
