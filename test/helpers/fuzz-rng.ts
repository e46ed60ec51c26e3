// The fuzz tests' seeded PRNG and their size: KURA_FUZZ_SEED replays a run
// (the seed is printed), KURA_FUZZ_INPUTS sets how many inputs (the default is
// a bounded run for npm test; the full run is 1,000,000 or more).
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0 || 1;
  }

  /** xorshift32: small, fast and replayable. */
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    this.s = s;
    return s;
  }

  int(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }

  /** A few random edits of a valid frame: bit flips, byte stores, truncation, insertion, duplication. */
  mutate(b: Buffer, from = 0): Buffer {
    let out = Buffer.from(b);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits && out.length > from; e++) {
      const at = from + this.int(out.length - from);
      switch (this.int(6)) {
        case 0:
          out[at] = out[at]! ^ (1 << this.int(8));
          break;
        case 1:
          out[at] = this.pick([0, 0xff, 0x7f, 0x80, this.next() & 0xff]);
          break;
        case 2:
          out = out.subarray(0, at);
          break;
        case 3:
          out = Buffer.concat([out.subarray(0, at), this.bytes(1 + this.int(16)), out.subarray(at)]);
          break;
        case 4:
          if (at + 4 <= out.length) out.writeUInt32BE(this.pick([0, 1, 0xffffffff, 0x80000000, this.next()]) >>> 0, at);
          break;
        default:
          out = Buffer.concat([out, out.subarray(at, at + 1 + this.int(64))]);
      }
    }
    return out;
  }

  /** Splits a stream into the chunks a socket might deliver. */
  chunks(b: Buffer): Buffer[] {
    if (b.length < 2 || this.int(3) !== 0) return [b];
    const out: Buffer[] = [];
    for (let i = 0; i < b.length;) {
      const n = 1 + this.int(Math.min(64, b.length - i));
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  }
}

export function fuzzSeed(): number {
  const env = process.env.KURA_FUZZ_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : ((Date.now() ^ process.pid) % 1_000_000_007) >>> 0;
}

export function fuzzInputs(dflt: number): number {
  const env = process.env.KURA_FUZZ_INPUTS;
  const n = env !== undefined && env !== '' ? Number(env) : dflt;
  return Number.isSafeInteger(n) && n > 0 ? n : dflt;
}
