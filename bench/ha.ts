// Redundant managers: what three managers cost while idle with two arrays (RSS and
// CPU of each process over a quiet minute), and the replication lag under a steady
// 1,000 events per second recorded through the active's API: the standby's copy
// (its manager.db) sampled against the active's every 20 ms, and the answer time
// of the acknowledged requests (which include the standby's acknowledgement).
//   node dist/bench/ha.js   (KURA_BENCH_IDLE_SECONDS, KURA_BENCH_RATE, KURA_BENCH_SECONDS)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { HaArrayView } from '../src/api/ha.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { api, startArray, startManager } from '../test/helpers/ha.js';
import type { TestManager } from '../test/helpers/ha.js';

const IDLE_SECONDS = Number(process.env.KURA_BENCH_IDLE_SECONDS ?? 60);
const RATE = Number(process.env.KURA_BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-ha-'));
const etcd = await startEtcd(3);
const procs: Array<{ kill(): Promise<void> }> = [];
try {
  const arrays = [await startArray(path.join(root, 'a0')), await startArray(path.join(root, 'a1'))];
  procs.push(...arrays);
  const managers: TestManager[] = [];
  for (const n of ['m1', 'm2', 'm3']) managers.push(await startManager(etcd.endpoints, path.join(root, n), n));
  procs.push(...managers);
  const token = fs.readFileSync(path.join(root, 'm1', 'admin.token'), 'utf8').trim();
  for (const a of arrays)
    await api(managers[0]!.url, token, 'POST', '/api/v1/ha/arrays', {
      body: { url: a.agentUrl, token: fs.readFileSync(a.tokenFile, 'utf8').trim() },
      timeoutMs: 30_000,
    });
  let list: HaArrayView[] = [];
  const settleBy = Date.now() + 120_000;
  for (;;) {
    // An answer that is not the list (a manager busy or not acting yet) is asked again.
    const r = await api(managers[0]!.url, token, 'GET', '/api/v1/ha/arrays');
    list = r.status === 200 && Array.isArray(r.json) ? (r.json as HaArrayView[]) : [];
    if (list.length === arrays.length && list.every((a) => a.active && a.standbyConfirmed)) break;
    if (Date.now() > settleBy) throw new Error(`the arrays did not get an active and a confirmed standby within 120 s: ${JSON.stringify(r.json)}`);
    await sleep(200);
  }
  await sleep(5000);

  // Idle: nothing but leases, the reconcile loop and the agents' event polls.
  const hz = 100;
  const before = managers.map((m) => cpuTicks(m.proc.pid!));
  await sleep(IDLE_SECONDS * 1000);
  console.log(`idle over ${IDLE_SECONDS} s with 2 arrays (roles: ${list.map((a) => `${a.id} active ${a.active}, standby ${a.standby}`).join('; ')}):`);
  managers.forEach((m, i) => {
    const cpu = ((cpuTicks(m.proc.pid!) - before[i]!) / hz / IDLE_SECONDS) * 100;
    console.log(`  ${m.name}: RSS ${rssMiB(m.proc.pid!).toFixed(0)} MiB, CPU ${cpu.toFixed(1)}% of one core`);
  });
  for (const a of arrays) console.log(`  array ${path.basename(a.dataDir)}: RSS ${rssMiB(a.proc.pid!).toFixed(0)} MiB`);

  // Replication lag at RATE events/s into array a0 through its active.
  const a0 = list[0]!;
  const active = managers.find((m) => m.name === a0.active)!;
  const standby = managers.find((m) => m.name === a0.standby)!;
  const open = (m: TestManager) => new Database(path.join(m.dataDir, 'arrays', a0.id, 'manager.db'), { readonly: true });
  const dbA = open(active);
  const dbS = open(standby);
  const maxSeq = (db: Database.Database) => Number((db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM event').get() as { s: number }).s);
  const gaps: number[] = [];
  const answers: number[] = [];
  let sent = 0;
  let acked = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      gaps.push(Math.max(0, maxSeq(dbA) - maxSeq(dbS)));
      await sleep(20);
    }
  })();
  const t0 = Date.now();
  const inflight = new Set<Promise<void>>();
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (sent < due && inflight.size < 256) {
      const t = Date.now();
      const p = api(active.url, token, 'POST', '/api/v1/events', {
        array: a0.id,
        body: { id: 'KURA-I9999', severity: 'info', host: 'bench', text: `e${sent}` },
        timeoutMs: 30_000,
      }).then((r) => {
        if (r.status === 201) {
          acked++;
          answers.push(Date.now() - t);
        }
        inflight.delete(p);
      });
      inflight.add(p);
      sent++;
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  const elapsed = (Date.now() - t0) / 1000;
  running = false;
  await sampler;
  const rate = acked / elapsed;
  console.log(`replication at ${RATE} events/s offered for ${SECONDS} s: ${acked} acknowledged (${rate.toFixed(0)}/s)`);
  console.log(
    `  standby behind the active: p50 ${pct(gaps, 50)} events, p99 ${pct(gaps, 99)} events, max ${Math.max(...gaps)} (sampled every 20 ms; at ${rate.toFixed(0)}/s p99 ≈ ${((pct(gaps, 99) / rate) * 1000).toFixed(0)} ms)`,
  );
  console.log(`  acknowledged answer time (includes the standby's acknowledgement): p50 ${pct(answers, 50)} ms, p99 ${pct(answers, 99)} ms`);
  dbA.close();
  dbS.close();
} finally {
  for (const p of procs) await p.kill();
  await etcd.stop();
  fs.rmSync(root, { recursive: true, force: true });
}
