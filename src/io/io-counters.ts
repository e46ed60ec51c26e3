// I/O counters for the data path: what an LD or a host port did (operations,
// bytes, errors, time spent, what is in flight now). They are plain numbers
// and two preallocated histogram arrays, bumped on every I/O: nothing is
// allocated and no lock is taken per I/O, so counting costs a few additions.
// Readers (the manager's /metrics and its performance history) take a copy
// with snapshot() and work out rates from the difference of two copies.

/**
 * Upper bounds (seconds) of the latency histogram's buckets, the last one
 * +Inf. Fixed: a Prometheus histogram's buckets must not change between
 * scrapes, and 14 of them keep the series per LD bounded.
 */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, Infinity] as const;

/** Bucket index for a latency in milliseconds (the clock's unit). */
function bucketOf(ms: number): number {
  const s = ms / 1000;
  for (let i = 0; i < LATENCY_BUCKETS.length - 1; i++) if (s <= LATENCY_BUCKETS[i]!) return i;
  return LATENCY_BUCKETS.length - 1;
}

/** A copy of one object's counters at one moment. Histogram counts are per bucket (not cumulative). */
export interface IoSnapshot {
  readOps: number;
  writeOps: number;
  /** Everything else the object was asked to do (flush, unmap, write zeroes). */
  otherOps: number;
  readBytes: number;
  writeBytes: number;
  errors: number;
  /** I/Os started and not yet finished: the queue depth now. */
  inflight: number;
  readLatency: { buckets: number[]; sumSeconds: number };
  writeLatency: { buckets: number[]; sumSeconds: number };
}

export const now: () => number = () => performance.now();

export class IoCounters {
  readOps = 0;
  writeOps = 0;
  otherOps = 0;
  readBytes = 0;
  writeBytes = 0;
  errors = 0;
  inflight = 0;
  private readonly readHist = new Float64Array(LATENCY_BUCKETS.length);
  private readonly writeHist = new Float64Array(LATENCY_BUCKETS.length);
  private readSumMs = 0;
  private writeSumMs = 0;

  /** An I/O starts: returns its start time for the matching end call. */
  start(): number {
    this.inflight++;
    return now();
  }

  readDone(t0: number, bytes: number): void {
    const ms = now() - t0;
    this.inflight--;
    this.readOps++;
    this.readBytes += bytes;
    this.readHist[bucketOf(ms)]!++;
    this.readSumMs += ms;
  }

  writeDone(t0: number, bytes: number): void {
    const ms = now() - t0;
    this.inflight--;
    this.writeOps++;
    this.writeBytes += bytes;
    this.writeHist[bucketOf(ms)]!++;
    this.writeSumMs += ms;
  }

  otherDone(): void {
    this.inflight--;
    this.otherOps++;
  }

  failed(): void {
    this.inflight--;
    this.errors++;
  }

  snapshot(): IoSnapshot {
    return {
      readOps: this.readOps,
      writeOps: this.writeOps,
      otherOps: this.otherOps,
      readBytes: this.readBytes,
      writeBytes: this.writeBytes,
      errors: this.errors,
      inflight: this.inflight,
      readLatency: { buckets: [...this.readHist], sumSeconds: this.readSumMs / 1000 },
      writeLatency: { buckets: [...this.writeHist], sumSeconds: this.writeSumMs / 1000 },
    };
  }
}

/**
 * The counters of one array: one set per LD (by LD id) and one per front-end
 * port (by a fixed key: "nbd", "iscsi-00-0" ...). The number of ports is fixed
 * by configuration; LD sets are dropped when the LD is (forget).
 */
export class IoStats {
  private readonly lds = new Map<number, IoCounters>();
  private readonly ports = new Map<string, IoCounters>();

  ld(id: number): IoCounters {
    let c = this.lds.get(id);
    if (!c) this.lds.set(id, (c = new IoCounters()));
    return c;
  }

  port(key: string): IoCounters {
    let c = this.ports.get(key);
    if (!c) this.ports.set(key, (c = new IoCounters()));
    return c;
  }

  forgetLd(id: number): void {
    this.lds.delete(id);
  }

  ldSnapshots(): Map<number, IoSnapshot> {
    return new Map([...this.lds].map(([k, c]) => [k, c.snapshot()]));
  }

  portSnapshots(): Map<string, IoSnapshot> {
    return new Map([...this.ports].map(([k, c]) => [k, c.snapshot()]));
  }
}
