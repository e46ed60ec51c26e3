// I/O control: a layer around a block device that holds its IOPS under an upper
// limit and, while LDs compete, lets one with a lower (guaranteed) limit reach it
// by holding back the others. One scheduler serves all LDs of an array, since a
// guarantee only means something relative to the competition.
import type { BlockDevice, WriteOptions } from './device.js';
import { LayerDevice } from './layer-device.js';
import type { LogicalDisk } from './logical-disk.js';
import type { Layer } from './stack.js';

export const QOS_MIN = 10;
export const QOS_MAX = 1_000_000;

export interface QosLimits {
  /** IOPS ceiling; 0 for none. */
  upper: number;
  /** IOPS guaranteed under contention; 0 for none. */
  lower: number;
}

/** Milliseconds from a monotonic clock; replaceable so tests need not sleep. */
export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;

/** Rates are measured over windows of this length. */
const WINDOW_MS = 1000;
/** A flow holding back for a starved guarantee waits this long per step... */
const YIELD_MS = 2;
/** ...and at most this many steps per I/O, so nothing is held forever. */
const MAX_YIELDS = 25;
/** A flow that asked for I/O this recently still counts as wanting more. */
const DEMAND_MS = 10;

/**
 * The upper limit is a token bucket holding up to this many milliseconds of I/Os:
 * waiters woken by one (millisecond-grained) timer can then start together, so the
 * rate holds even above 1000 IOPS.
 */
const BURST_MS = 20;

class Flow {
  limits: QosLimits = { upper: 0, lower: 0 };
  tokens = 0;
  refilled = 0;
  windowStart = 0;
  count = 0;
  /** I/Os admitted and not yet completed, or waiting. */
  busy = 0;
  /** When the flow last asked for an I/O: cached I/O completes so fast that `busy` alone misses demand. */
  lastAsked = -Infinity;

  rate(now: number): number {
    return (this.count * 1000) / Math.max(now - this.windowStart, 100);
  }
}

export class QosScheduler {
  private readonly flows = new Map<string, Flow>();
  private guarantees = 0;
  private ceilings = 0;

  constructor(
    private readonly now: Clock = () => performance.now(),
    private readonly sleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** True when some flow has a limit: only then does I/O pass through admit(). */
  get active(): boolean {
    return this.guarantees > 0 || this.ceilings > 0;
  }

  private flow(key: string): Flow {
    let f = this.flows.get(key);
    if (!f) {
      f = new Flow();
      f.windowStart = this.now();
      this.flows.set(key, f);
    }
    return f;
  }

  setLimits(key: string, limits: QosLimits): void {
    const f = this.flow(key);
    f.tokens = 0;
    f.refilled = this.now();
    if (f.limits.lower > 0) this.guarantees--;
    if (f.limits.upper > 0) this.ceilings--;
    f.limits = { ...limits };
    if (limits.lower > 0) this.guarantees++;
    if (limits.upper > 0) this.ceilings++;
  }

  limits(key: string): QosLimits {
    return { ...(this.flows.get(key)?.limits ?? { upper: 0, lower: 0 }) };
  }

  remove(key: string): void {
    this.setLimits(key, { upper: 0, lower: 0 });
    this.flows.delete(key);
  }

  private roll(f: Flow, now: number): void {
    if (now - f.windowStart >= WINDOW_MS) {
      f.windowStart = now;
      f.count = 0;
    }
  }

  /** Some other flow wants I/O and is below its guarantee. */
  private starved(self: Flow, now: number): boolean {
    if (this.guarantees === 0) return false;
    for (const f of this.flows.values()) {
      if (f === self || f.limits.lower === 0 || (f.busy === 0 && now - f.lastAsked > DEMAND_MS)) continue;
      this.roll(f, now);
      if (f.rate(now) < f.limits.lower) return true;
    }
    return false;
  }

  /** Waits until the flow may start one I/O; call done() when it completes. */
  async admit(key: string): Promise<void> {
    const f = this.flow(key);
    f.busy++;
    f.lastAsked = this.now();
    let yields = 0;
    for (;;) {
      const now = this.now();
      this.roll(f, now);
      if (f.limits.upper > 0) {
        const cap = Math.max(1, (f.limits.upper * BURST_MS) / 1000);
        f.tokens = Math.min(cap, f.tokens + ((now - f.refilled) * f.limits.upper) / 1000);
        f.refilled = now;
        if (f.tokens < 1) {
          await this.sleep(Math.max(1, ((1 - f.tokens) * 1000) / f.limits.upper));
          continue;
        }
      }
      const satisfied = f.limits.lower === 0 || f.rate(now) >= f.limits.lower;
      if (satisfied && yields < MAX_YIELDS && this.starved(f, now)) {
        yields++;
        await this.sleep(YIELD_MS);
        continue;
      }
      if (f.limits.upper > 0) f.tokens -= 1;
      f.count++;
      return;
    }
  }

  done(key: string): void {
    const f = this.flows.get(key);
    if (f && f.busy > 0) f.busy--;
  }
}

/** The QoS layer over one LD: reads and writes (atomic ones too) are admitted first; other commands pass. */
export class QosDevice extends LayerDevice {
  constructor(
    below: BlockDevice,
    private readonly sched: QosScheduler,
    private readonly key: string,
  ) {
    super(below);
  }

  private async admitted<T>(io: () => Promise<T>): Promise<T> {
    await this.sched.admit(this.key);
    try {
      return await io();
    } finally {
      this.sched.done(this.key);
    }
  }

  override read(lba: number, blocks: number): Promise<Buffer> {
    if (!this.sched.active) return super.read(lba, blocks);
    return this.admitted(() => super.read(lba, blocks));
  }
  override write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    if (!this.sched.active) return super.write(lba, buf, opts);
    return this.admitted(() => super.write(lba, buf, opts));
  }
  protected override atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    if (!this.sched.active) return super.atomicWrite(lba, buf, opts);
    return this.admitted(() => super.atomicWrite(lba, buf, opts));
  }
}

/** The QoS layer of the stack: one flow per LD, keyed by its id, in the array's scheduler. */
export function qosLayer(sched: QosScheduler): Layer<LogicalDisk> {
  return (below, ld) => new QosDevice(below, sched, String(ld.rec.id));
}
