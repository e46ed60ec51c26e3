// The replication layer of an LD's device stack: what front ends see of an LD
// that may be in pairs. Writes to an MV are mirrored to its RVs in sync and
// recorded in the bitmap of separated pairs before they are issued (write-intent);
// an RV refuses I/O while its access says so; a running restore copies a chunk
// from the RV before host I/O touches it. An LD in no pair passes straight through.
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../device.js';
import { LayerDevice } from '../layer-device.js';
import type { LogicalDisk } from '../logical-disk.js';
import type { Replicator } from './engine.js';
import type { Pair } from './pair.js';
import { RV_NOT_READY, RV_READ_ONLY } from '../../catalogue/array.js';

export class ReplicatedDevice extends LayerDevice {
  /**
   * `below` carries the LD's own I/O (the LD itself at the bottom of the stack); `ld`
   * names the LD in its pairs. An RV is written as the LD, below any layer of its own.
   */
  constructor(
    below: BlockDevice,
    private readonly ld: LogicalDisk,
    private readonly rep: Replicator,
  ) {
    super(below);
  }

  override get readOnly(): boolean {
    if (this.below.readOnly) return true;
    const rv = this.rep.rolesOf(this.ld).asRv;
    return rv !== undefined && rv.state.rvAccess !== 'rw';
  }

  private chunkRange(p: Pair, lba: number, blocks: number): [number, number] {
    const bpc = p.chunkSize / this.ld.blockSize;
    return [Math.floor(lba / bpc), Math.floor((lba + Math.max(blocks, 1) - 1) / bpc)];
  }

  private checkRv(p: Pair | undefined, write: boolean): void {
    if (!p) return;
    if (p.state.rvAccess === 'nr') {
      throw RV_NOT_READY({ ld: this.ld.name, sync: p.state.sync, mv: p.mv.name, rv: p.rv.name });
    }
    if (write && p.state.rvAccess === 'ro') {
      throw RV_READ_ONLY({ ld: this.ld.name });
    }
  }

  /** Restores on demand every chunk of the range that a running restore has not reached yet. */
  private async restoreFirst(pairs: Pair[], lba: number, blocks: number): Promise<void> {
    for (const p of pairs) {
      if (!p.restoring) continue;
      const [first, last] = this.chunkRange(p, lba, blocks);
      for (let c = first; c <= last; c++) if (p.diff.get(c)) await this.rep.copyChunk(p, c);
    }
  }

  override async read(lba: number, blocks: number): Promise<Buffer> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    if (asMv.length === 0 && !asRv) return this.below.read(lba, blocks);
    this.checkRv(asRv, false);
    await this.restoreFirst(asMv, lba, blocks);
    return this.below.read(lba, blocks);
  }

  /** Runs a change on this LD and, for mirrored pairs, on their RVs; records it in separated pairs' bitmaps. */
  private async change(lba: number, blocks: number, fua: boolean, op: (d: BlockDevice) => Promise<void>): Promise<void> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    if (asMv.length === 0 && !asRv) {
      await op(this.below);
      if (fua) await this.rep.flush(this.below);
      return;
    }
    this.checkRv(asRv, true);
    if (asRv) {
      const [first, last] = this.chunkRange(asRv, lba, blocks);
      await asRv.withShared(first, last, async () => {
        // The access may have changed while waiting for the chunks.
        this.checkRv(asRv, true);
        this.rep.markDirty(asRv, first, last);
        await op(this.below);
      });
      if (fua) await this.rep.flush(this.below);
      return;
    }
    await this.mvChange(asMv, lba, blocks, op);
    if (fua) await this.rep.flush(this.below);
  }

  private async mvChange(pairs: Pair[], lba: number, blocks: number, op: (d: BlockDevice) => Promise<void>): Promise<void> {
    await this.restoreFirst(pairs, lba, blocks);
    // Take the chunks in every pair (pairs in a fixed order, chunks ascending), then decide per pair.
    const nested = pairs.reduceRight<() => Promise<void>>(
      (inner, p) => () => {
        const [first, last] = this.chunkRange(p, lba, blocks);
        return p.withShared(first, last, inner);
      },
      async () => {
        for (const p of pairs) {
          const [first, last] = this.chunkRange(p, lba, blocks);
          // A restore that started after restoreFirst looked: its chunks must come from the RV before this
          // write, and copying them here would wait on our own hold; let go and start over.
          if (p.restoring && rangeHasBits(p, first, last)) throw new RetryChange();
        }
        // Write-intent: separated pairs record the chunks, mirrored pairs the regions, before the MV changes.
        const mirrored = pairs.filter((p) => !p.tracking);
        for (const p of pairs) if (p.tracking) this.rep.markDirty(p, ...this.chunkRange(p, lba, blocks));
        for (const p of mirrored) this.rep.beginMirrored(p, ...this.chunkRange(p, lba, blocks));
        const ios: Promise<void>[] = [op(this.below)];
        for (const p of mirrored) {
          const [first, last] = this.chunkRange(p, lba, blocks);
          ios.push(
            op(p.rv).catch((e: unknown) => {
              // The RV failed: the MV write still stands; the pair records the difference and faults.
              this.rep.markDirty(p, first, last);
              if (p.state.sync !== 'fault') {
                p.move('mirror-failed');
                p.state.fault = `mirrored write to RV failed: ${(e as Error)?.message ?? e}`;
                p.state.rvAccess = 'nr';
                p.state.rvBroken = true;
                p.stop = true;
                this.rep.persist(p);
                this.rep.report({ kind: 'mirror-failed', pair: p, error: e });
              }
            }),
          );
        }
        // Every side settles before the regions count as idle; then the MV's error, if any, is the answer.
        const results = await Promise.allSettled(ios);
        for (const p of mirrored) this.rep.endMirrored(p, ...this.chunkRange(p, lba, blocks));
        if (results[0]!.status === 'rejected') throw results[0]!.reason;
      },
    );
    try {
      await nested();
    } catch (e) {
      if (e instanceof RetryChange) return this.mvChange(pairs, lba, blocks, op);
      throw e;
    }
  }

  override write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const fast = this.rep.rolesOf(this.ld);
    if (fast.asMv.length === 0 && !fast.asRv) return this.below.write(lba, buf, opts);
    return this.change(lba, Math.floor(buf.length / this.ld.blockSize), opts?.fua ?? false, (d) => d.write(lba, buf));
  }

  /** WRITE ATOMIC: atomic on the MV and on each mirrored RV (every LD can write atomically). */
  protected override atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const fast = this.rep.rolesOf(this.ld);
    if (fast.asMv.length === 0 && !fast.asRv) return super.atomicWrite(lba, buf, opts);
    return this.change(lba, Math.floor(buf.length / this.ld.blockSize), opts?.fua ?? false, (d) => d.writeAtomic!(lba, buf));
  }

  override flush(): Promise<void> {
    // One engine commit syncs every PD of every pool: the RVs' copies too.
    return this.rep.flush(this.below);
  }

  override async unmap(ranges: UnmapRange[]): Promise<void> {
    for (const r of ranges) await this.change(r.lba, r.blocks, false, (d) => d.unmap([r]));
  }

  override writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    return this.change(lba, blocks, opts?.fua ?? false, (d) => d.writeZeroes(lba, blocks, { noHole: opts?.noHole }));
  }

  override async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    this.checkRv(asRv, false);
    const p = asMv.find((x) => x.restoring);
    if (!p) return this.below.allocation(lba, blocks);
    // Chunks the restore has not reached yet are described by the RV, whose data they will hold:
    // a status query must not wait for (or force) the copy of a whole range.
    const bpc = p.chunkSize / this.ld.blockSize;
    const out: AllocationExtent[] = [];
    for (let b = lba; b < lba + blocks;) {
      const c = Math.floor(b / bpc);
      const n = Math.min((c + 1) * bpc, lba + blocks) - b;
      for (const e of await (p.diff.get(c) ? p.rv : this.below).allocation(b, n)) {
        const last = out[out.length - 1];
        if (last && last.hole === e.hole && last.zero === e.zero) last.blocks += e.blocks;
        else out.push({ ...e });
      }
      b += n;
    }
    return out;
  }
}

class RetryChange extends Error {}

function rangeHasBits(p: Pair, first: number, last: number): boolean {
  for (let c = first; c <= last; c++) if (p.diff.get(c)) return true;
  return false;
}
