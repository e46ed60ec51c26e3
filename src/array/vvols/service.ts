// The array's side of VVOLs: LDs with Purpose VVOL and a VMware Type, the
// protocol endpoints' conglomerates (bind/unbind of subsidiary LUs, through
// the Conglomerates the composition root gives), the Bound PE / Bound VVOL
// lists `ld show` prints, and allocation bitmaps read from the engine's maps.
import { BITMAP_RANGE, PE_HAS_BINDINGS, VVOL_LD_NOT_FOUND } from '../../catalogue/vvol.js';
import type { BlockEngine } from '../../block/engine.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import { validateName } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { QosSettings } from '../qos/settings.js';
import type { CreateVvolLdRequest, LdBitmap, VvolLdAgent } from './agent.js';
import { isPe, vmwareTypeOf, vvolAttrsOf } from './attrs.js';
import type { VmwareLdType } from './attrs.js';
import type { Conglomerates, SubsidiaryBinding } from './conglomerates.js';

export interface VvolDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  qos: QosSettings;
  conglomerates: Conglomerates;
}

/** What `ld show` adds for VVOLs and PEs (VVM L784-L787). */
export interface LdVvolView {
  vmwareType: VmwareLdType | '---';
  boundPeList: number[];
  boundVvolList: number[];
}

export class VvolService implements VvolLdAgent {
  constructor(private readonly deps: VvolDeps) {
    // The conglomerates live in memory: every PE the array has is one again.
    for (const l of deps.catalog.lds()) if (isPe(l)) deps.conglomerates.markPe(l.rec.number);
  }

  private ld(n: number): LogicalDisk {
    const l = this.deps.catalog.ldByNumber(n);
    if (!l) throw VVOL_LD_NOT_FOUND({ ld: n });
    return l;
  }

  private pes(): LogicalDisk[] {
    return this.deps.catalog.lds().filter(isPe);
  }

  view(l: LogicalDisk): LdVvolView {
    const type = vmwareTypeOf(l);
    const n = l.rec.number;
    if (type === 'PE')
      return {
        vmwareType: type,
        boundPeList: [],
        boundVvolList: this.subsidiaries(n)
          .map((b) => b.vvolLd)
          .sort((a, b) => a - b),
      };
    const boundPeList =
      type === '---'
        ? []
        : this.pes()
            .filter((p) => this.subsidiaries(p.rec.number).some((b) => b.vvolLd === n))
            .map((p) => p.rec.number);
    return { vmwareType: type, boundPeList, boundVvolList: [] };
  }

  /** A PE with VVOLs bound behind it is not deleted (VVM L307). */
  refuseDelete(l: LogicalDisk): void {
    if (!isPe(l)) return;
    const bound = this.subsidiaries(l.rec.number).length;
    if (bound > 0) throw PE_HAS_BINDINGS({ bound, pe: l.rec.name });
  }

  deleted(l: LogicalDisk): void {
    if (isPe(l)) this.deps.conglomerates.unmarkPe(l.rec.number);
  }

  createVvolLd(req: CreateVvolLdRequest): Promise<number> {
    return this.deps.config.run(async () => {
      const { catalog } = this.deps;
      const name = validateName('LD', req.name);
      catalog.checkFreeName(name);
      const pool = catalog.pool(req.pool);
      const attrs: Record<string, unknown> = { purpose: 'VVOL', vmware: req.vmwareType };
      const limits = this.deps.qos.newLdLimits(pool);
      if (limits && req.vmwareType !== 'PE') attrs['qos'] = limits;
      const ld = await catalog.newLd(name, pool, req.size, attrs, undefined, false, req.owner);
      if (attrs['qos']) this.deps.qos.apply(ld);
      if (req.vmwareType === 'PE') this.deps.conglomerates.markPe(ld.rec.number);
      return ld.rec.number;
    });
  }

  tagVvolLd(n: number, vmwareType: VmwareLdType): Promise<void> {
    return this.deps.config.run(async () => {
      const l = this.ld(n);
      const a = vvolAttrsOf(l);
      a.purpose = 'VVOL';
      a.vmware = vmwareType;
      await this.deps.engine.updateLd(l);
    });
  }

  /** Chunk range [first, first + count) covering offset..offset+length of the LD. */
  private range(l: LogicalDisk, offset: number, length: number): { cs: number; first: number; count: number } {
    const ok = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
    if (!ok(offset) || !ok(length) || offset + length > l.rec.capacity) throw BITMAP_RANGE({ offset, length, capacity: l.rec.capacity });
    const cs = l.pool.chunkSize;
    const first = Math.floor(offset / cs);
    return { cs, first, count: Math.ceil((offset + length) / cs) - first };
  }

  private bitmap(l: LogicalDisk, offset: number, length: number, set: (chunk: number) => boolean): LdBitmap {
    const { cs, first, count } = this.range(l, offset, length);
    const bits = Buffer.alloc(Math.ceil(count / 8));
    for (let i = 0; i < count; i++) if (set(first + i)) bits[i >> 3]! |= 0x80 >> (i & 7);
    return { offset: first * cs, length: count * cs, granularity: cs, bits };
  }

  allocatedBitmap(n: number, offset: number, length: number): LdBitmap {
    const l = this.ld(n);
    return this.bitmap(l, offset, length, (c) => l.mappedChunk(c) !== 0);
  }

  unsharedBitmap(n: number, baseN: number, offset: number, length: number): LdBitmap {
    const l = this.ld(n);
    const base = this.ld(baseN);
    const cs = l.pool.chunkSize;
    // Chunks are shared only within a pool; past the base's end it maps nothing.
    const baseChunk = (c: number): number => (base.pool === l.pool && c * cs < base.rec.capacity ? base.mappedChunk(c) : -1);
    return this.bitmap(l, offset, length, (c) => {
      const mine = l.mappedChunk(c);
      const theirs = baseChunk(c);
      return mine !== theirs && !(mine === 0 && theirs <= 0);
    });
  }

  bindSubsidiary(peLd: number, vvolLd: number, host: string, slu?: number): number {
    this.ld(vvolLd);
    return this.deps.conglomerates.bind(peLd, vvolLd, host, slu);
  }

  unbindSubsidiary(peLd: number, vvolLd: number, host: string): void {
    this.deps.conglomerates.unbind(peLd, vvolLd, host);
  }

  subsidiaries(peLd: number): SubsidiaryBinding[] {
    return this.deps.conglomerates.bindings(peLd);
  }
}
