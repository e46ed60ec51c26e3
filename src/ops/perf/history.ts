// The manager's performance history: every 10 seconds it samples each LD's
// and each port's I/O counters and each pool's capacity, turns the counters'
// differences into rates and average latencies, and writes one record per
// object to its ring (ring.ts); at each minute's end it writes the minute's
// record too, from the counters' difference over the whole minute. Counters
// start at zero with the server, so the first sample after a start (or of a
// new object) only sets the baseline.
import fs from 'node:fs';
import path from 'node:path';
import type { ArrayAgent, IoSnapshot } from '../../array/agent.js';
import { PERF_OBJECT_NOT_FOUND, PERF_OBJECTS_CAPPED, PERF_SINCE_INVALID, PERF_STORE_FAILED } from '../../catalogue/ops.js';
import { FIELDS, PERF_KINDS, PRUNE_AFTER_MS, PerfRing, RESOLUTIONS, fileName, parseFileName } from './ring.js';
import type { PerfKind, PerfRecord, Resolution } from './ring.js';

/** Objects with history at most (each file about 585 KiB): 256 x 585 KiB = 146 MiB. */
export const MAX_PERF_OBJECTS = 256;
const TICK_SECONDS = RESOLUTIONS['10s'].seconds;
const MAX_SINCE_SECONDS = 7 * 24 * 3600;

interface Tracked {
  ring: PerfRing;
  /** The counters at the last 10-second sample and at the start of the current minute. */
  last?: Totals;
  minuteStart?: Totals;
  minute: number;
  /** Queue depths sampled in the current minute, for its average. */
  depthSum: number;
  depthCount: number;
}

/** What the history keeps of an object's counters between samples. */
interface Totals {
  t: number;
  readOps: number;
  writeOps: number;
  readBytes: number;
  writeBytes: number;
  readLatencySec: number;
  writeLatencySec: number;
}

interface Observed {
  kind: PerfKind;
  name: string;
  totals: Totals;
  depth: number;
  /** Pools: used and capacity bytes (values 4 and 5 of their records). */
  gauges?: [number, number];
}

function totalsOf(t: number, io: IoSnapshot): Totals {
  return {
    t,
    readOps: io.readOps,
    writeOps: io.writeOps,
    readBytes: io.readBytes,
    writeBytes: io.writeBytes,
    readLatencySec: io.readLatency.sumSeconds,
    writeLatencySec: io.writeLatency.sumSeconds,
  };
}

/** The seven values of a record over the interval from a to b, or undefined when the counters went back (reset). */
function valuesOver(a: Totals, b: Totals, o: Observed, depth: number): number[] | undefined {
  const secs = (b.t - a.t) / 1000;
  if (secs <= 0 || b.readOps < a.readOps || b.writeOps < a.writeOps) return undefined;
  const r = b.readOps - a.readOps;
  const w = b.writeOps - a.writeOps;
  const rate = [r / secs, w / secs, (b.readBytes - a.readBytes) / secs, (b.writeBytes - a.writeBytes) / secs];
  if (o.gauges) return [...rate, o.gauges[0], o.gauges[1], depth];
  const rl = r > 0 ? ((b.readLatencySec - a.readLatencySec) * 1000) / r : 0;
  const wl = w > 0 ? ((b.writeLatencySec - a.writeLatencySec) * 1000) / w : 0;
  return [...rate, rl, wl, depth];
}

export function parseSince(s: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(s.trim());
  if (!m) throw PERF_SINCE_INVALID({ since: s.slice(0, 40) });
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n <= 0 || n > MAX_SINCE_SECONDS) throw PERF_SINCE_INVALID({ since: s.slice(0, 40) });
  return n;
}

export interface PerfSeries {
  kind: PerfKind;
  name: string;
  resolution: Resolution;
  fields: readonly string[];
  samples: Array<Record<string, number | string>>;
}

export interface PerfHistoryOptions {
  dataDir: string;
  agent: { ioStats?: ArrayAgent['ioStats']; pools: Pick<ArrayAgent['pools'], 'listPools'> };
  log?: (m: string) => void;
  /** Records a warning event (the object cap). */
  warn?: (id: string, text: string) => void;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

export class PerfHistory {
  readonly dir: string;
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private capped = false;
  private readonly now: () => number;

  constructor(private readonly o: PerfHistoryOptions) {
    this.dir = path.join(o.dataDir, 'perf');
    this.now = o.now ?? Date.now;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw PERF_STORE_FAILED({ dir: this.dir, reason: (e as Error).message });
    }
    this.prune();
  }

  /** Starts sampling on every 10-second boundary; the first sample is taken now (the baseline). */
  start(): void {
    this.sample();
    const schedule = () => {
      const ms = TICK_SECONDS * 1000 - (this.now() % (TICK_SECONDS * 1000));
      this.timer = setTimeout(() => {
        try {
          this.sample();
        } catch (e) {
          this.o.log?.(`perf: sampling failed: ${(e as Error).message}`);
        }
        schedule();
      }, ms);
      this.timer.unref();
    };
    schedule();
  }

  private prune(): void {
    const cutoff = this.now() - PRUNE_AFTER_MS;
    for (const f of fs.readdirSync(this.dir)) {
      if (!parseFileName(f)) continue;
      const p = path.join(this.dir, f);
      try {
        if (fs.statSync(p).mtimeMs < cutoff) fs.rmSync(p);
      } catch {
        // Gone already.
      }
    }
  }

  private observe(t: number): Observed[] {
    const out: Observed[] = [];
    const stats = this.o.agent.ioStats?.();
    const poolIo = new Map<string, { totals: Totals; depth: number }>();
    for (const l of stats?.lds ?? []) {
      const totals = totalsOf(t, l.io);
      out.push({ kind: 'ld', name: l.ld, totals, depth: l.io.inflight });
      const p = poolIo.get(l.pool) ?? {
        totals: { ...totalsOf(t, l.io), readOps: 0, writeOps: 0, readBytes: 0, writeBytes: 0, readLatencySec: 0, writeLatencySec: 0 },
        depth: 0,
      };
      p.totals.readOps += totals.readOps;
      p.totals.writeOps += totals.writeOps;
      p.totals.readBytes += totals.readBytes;
      p.totals.writeBytes += totals.writeBytes;
      p.depth += l.io.inflight;
      poolIo.set(l.pool, p);
    }
    for (const p of stats?.ports ?? []) out.push({ kind: 'port', name: p.port, totals: totalsOf(t, p.io), depth: p.io.inflight });
    for (const p of this.o.agent.pools.listPools()) {
      const io = poolIo.get(p.name) ?? { totals: { t, readOps: 0, writeOps: 0, readBytes: 0, writeBytes: 0, readLatencySec: 0, writeLatencySec: 0 }, depth: 0 };
      out.push({ kind: 'pool', name: p.name, totals: io.totals, depth: io.depth, gauges: [p.used, p.capacity] });
    }
    return out;
  }

  private ringOf(kind: PerfKind, name: string): Tracked | undefined {
    const key = `${kind}/${name}`;
    let tr = this.tracked.get(key);
    if (tr) return tr;
    if (this.tracked.size >= MAX_PERF_OBJECTS) {
      if (!this.capped) {
        this.capped = true;
        this.o.warn?.(PERF_OBJECTS_CAPPED.id, PERF_OBJECTS_CAPPED({ max: MAX_PERF_OBJECTS }));
      }
      return undefined;
    }
    tr = { ring: PerfRing.open(this.dir, kind, name), minute: -1, depthSum: 0, depthCount: 0 };
    this.tracked.set(key, tr);
    return tr;
  }

  /** One 10-second sample of every object (and the minute's records when a minute has ended). */
  sample(): void {
    const t = this.now();
    const slot = Math.floor(t / 1000 / TICK_SECONDS) * TICK_SECONDS;
    const minute = Math.floor(t / 60_000);
    const seen = new Set<string>();
    for (const o of this.observe(t)) {
      const tr = this.ringOf(o.kind, o.name);
      if (!tr) continue;
      seen.add(`${o.kind}/${o.name}`);
      // A sample describes the interval that ends now: it is filed under that interval's start.
      if (tr.last) {
        const v = valuesOver(tr.last, o.totals, o, o.depth);
        if (v) tr.ring.write('10s', { time: slot - TICK_SECONDS, values: v });
      }
      tr.last = o.totals;
      if (tr.minute !== minute) {
        if (tr.minuteStart && tr.minute === minute - 1) {
          const depth = tr.depthCount > 0 ? tr.depthSum / tr.depthCount : o.depth;
          const v = valuesOver(tr.minuteStart, o.totals, o, depth);
          if (v) tr.ring.write('1m', { time: tr.minute * 60, values: v });
        }
        tr.minuteStart = o.totals;
        tr.minute = minute;
        tr.depthSum = 0;
        tr.depthCount = 0;
      }
      tr.depthSum += o.depth;
      tr.depthCount++;
    }
    // Objects gone (a deleted LD): their file stays until pruned a week later.
    for (const [key, tr] of this.tracked) {
      if (seen.has(key)) continue;
      tr.ring.close();
      this.tracked.delete(key);
    }
  }

  /** The objects with history: those sampled now and those whose files remain. */
  objects(): Array<{ kind: PerfKind; name: string }> {
    const out: Array<{ kind: PerfKind; name: string }> = [];
    for (const f of fs.readdirSync(this.dir).sort()) {
      const p = parseFileName(f);
      if (p) out.push(p);
    }
    return out;
  }

  /** The samples of one object since `sinceSeconds` ago: 10-second ones up to a day back, else minutes (or as asked). */
  series(kind: PerfKind, name: string, sinceSeconds: number, resolution?: Resolution): PerfSeries {
    if (!PERF_KINDS.includes(kind) || !fs.existsSync(path.join(this.dir, fileName(kind, name)))) {
      throw PERF_OBJECT_NOT_FOUND({ kind, name: name.slice(0, 80) });
    }
    const res: Resolution = resolution ?? (sinceSeconds <= RESOLUTIONS['10s'].seconds * RESOLUTIONS['10s'].slots ? '10s' : '1m');
    const tr = this.tracked.get(`${kind}/${name}`);
    const ring = tr?.ring ?? PerfRing.open(this.dir, kind, name);
    let recs: PerfRecord[];
    try {
      const nowSec = Math.floor(this.now() / 1000);
      recs = ring.read(res, nowSec - sinceSeconds, nowSec);
    } finally {
      if (!tr) ring.close();
    }
    const fields = FIELDS[kind];
    return {
      kind,
      name,
      resolution: res,
      fields,
      samples: recs.map((r) => {
        const s: Record<string, number | string> = { time: new Date(r.time * 1000).toISOString() };
        fields.forEach((f, i) => (s[f] = Math.round(r.values[i]! * 1000) / 1000));
        return s;
      }),
    };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const tr of this.tracked.values()) tr.ring.close();
    this.tracked.clear();
  }
}
