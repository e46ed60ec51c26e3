// The array's directory of pools and LDs, shared by the noun services: lookups
// by name or number, the data-service attributes an LD record keeps (SSV,
// EBV/ESV, FEV/FCV, layers, I/O limits) and what they relate (a base's
// snapshots, a source's clones), and the number and identity a new LD gets.
import { checkName } from '../names.js';
import type { BlockEngine } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { Pool } from '../block/pool.js';
import type { QosLimits } from '../block/qos.js';
import { CONTROLLER_COUNT } from './controllers/controllers.js';
import { LD_EXISTS, LD_NOT_FOUND, NAME_INVALID, POOL_NOT_FOUND, SSV_NEEDED } from '../catalogue/array.js';

/** IEEE company id used in NAA 6 designators (a placeholder until Kura has its own). */
const KURA_OUI = '0014ee';
/** Meta key: the next LD identity (NAA designator and serial); identities are never handed out twice. */
const IDENTITY_KEY = 'ld_identity_next';
/** Identities of arrays made before the counter were LD numbers, all below this. */
const LEGACY_IDENTITY_LIMIT = 0x10000;
/** The solution reserved volume's fixed size. */
export const SSV_SIZE = 4 * 2 ** 30;

/** Data-service attributes of an LD, kept in its record. */
export interface LdAttrs {
  purpose?: string;
  ssv?: boolean;
  /** Base of extended snapshots. */
  ebv?: boolean;
  /** A snapshot generation of the EBV with LD id `base`; `access: 'rw'` once made writable (iSMsc_chgmod -volacc rw). */
  esv?: { base: number; generation: number; name: string; access?: 'rw' };
  /** Source of fast clones. */
  fev?: boolean;
  /** A fast clone of the LD with id `source`. */
  fcv?: { source: number };
  /** Snapshot/clone layer: 0 for an ordinary LD, +1 per snapshot or clone step. */
  layer?: number;
  /** I/O control limits. */
  qos?: QosLimits;
}

/** A reference to a pool or LD: a number (decimal, or NEC hex like 0001h) or a name. */
export function parseRef(ref: string | number): number | string {
  if (typeof ref === 'number') return ref;
  const s = ref.trim();
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (/^[0-9a-fA-F]+h$/.test(s)) return parseInt(s.slice(0, -1), 16);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  return s;
}

/** Pool, LD and clone names: the array's one naming rule (src/names.ts). */
export function validateName(kind: string, name: unknown): string {
  return checkName(kind, name, NAME_INVALID);
}

export function attrsOf(l: LogicalDisk): LdAttrs {
  return l.rec.attrs as LdAttrs;
}

export function lowestFree(used: Iterable<number>): number {
  const set = new Set(used);
  let n = 0;
  while (set.has(n)) n++;
  return n;
}

export class Catalog {
  /**
   * @param created called after every new LD (snapshots and clones too): without
   * host entries every LD is a LUN, so initiators re-read their LUNs.
   */
  constructor(
    private readonly engine: BlockEngine,
    private readonly serial: string,
    isNew: boolean,
    private readonly created: () => void,
  ) {
    if (engine.store.getMeta(IDENTITY_KEY) === undefined) {
      // Before the counter, an LD's identity was its (reused) number: an array made
      // then starts above every number it can have given out.
      engine.store.setMeta(IDENTITY_KEY, String(isNew ? 0 : LEGACY_IDENTITY_LIMIT));
    }
  }

  pool(ref: string | number): Pool {
    const r = parseRef(ref);
    for (const p of this.engine.pools.values()) if (typeof r === 'number' ? p.number === r : p.name === r) return p;
    throw POOL_NOT_FOUND({ ref });
  }

  /** Every pool, by number. */
  pools(): Pool[] {
    return [...this.engine.pools.values()].sort((a, b) => a.number - b.number);
  }

  ld(ref: string | number): LogicalDisk {
    const r = parseRef(ref);
    const l = typeof r === 'number' ? this.engine.ldByNumber(r) : this.engine.ldByName(r);
    if (l) return l;
    throw LD_NOT_FOUND({ ref });
  }

  /** Every LD, by number. */
  lds(): LogicalDisk[] {
    return [...this.engine.lds.values()].sort((a, b) => a.rec.number - b.rec.number);
  }

  /** The LD with this number, if any (front ends resolve LUNs through it). */
  ldByNumber(n: number): LogicalDisk | undefined {
    return this.engine.ldByNumber(n);
  }

  checkFreeName(name: string): void {
    if (this.engine.ldByName(name) !== undefined) {
      throw LD_EXISTS({ name });
    }
  }

  ssv(): LogicalDisk | undefined {
    // There is at most one (SSV_EXISTS): no need to sort every LD to find it.
    for (const l of this.engine.lds.values()) if (attrsOf(l).ssv) return l;
    return undefined;
  }

  requireSsv(what: string): void {
    if (!this.ssv()) {
      throw SSV_NEEDED({ what });
    }
  }

  /** The snapshot generations (ESVs) of a base, oldest first. */
  snapshotsOf(base: LogicalDisk): LogicalDisk[] {
    return [...this.engine.lds.values()]
      .filter((l) => attrsOf(l).esv?.base === base.rec.id)
      .sort((a, b) => attrsOf(a).esv!.generation - attrsOf(b).esv!.generation);
  }

  /** The fast clones (FCVs) of a source. */
  clonesOf(src: LogicalDisk): LogicalDisk[] {
    return [...this.engine.lds.values()].filter((l) => attrsOf(l).fcv?.source === src.rec.id).sort((a, b) => a.rec.number - b.rec.number);
  }

  /**
   * Creates the LD record with a fresh number and identity; `source` makes it share
   * that LD's map. The number is a slot (the seed's LDN: the lowest free one, so a
   * deleted LD's number comes back); the identity hosts know the LU by (NAA
   * designator, serial) comes from a stored counter and never comes back, so a host
   * that held a deleted LD can tell that the LD now at its LUN is another one.
   */
  newLd(name: string, pool: Pool, size: number, attrs: LdAttrs, source?: LogicalDisk, readOnly = false, owner?: number): Promise<LogicalDisk> {
    const number = this.engine.lowestFreeLdNumber();
    const identity = Number(this.engine.store.getMeta(IDENTITY_KEY) ?? LEGACY_IDENTITY_LIMIT);
    // Stored before the LD exists: a failed or interrupted create leaves a gap, never a reuse.
    this.engine.store.setMeta(IDENTITY_KEY, String(identity + 1));
    return this.engine
      .createLd(
        {
          number,
          name,
          pool,
          capacity: size,
          defaultOwner: owner ?? number % CONTROLLER_COUNT,
          naa: `6${KURA_OUI}${this.serial.slice(0, 9)}${identity.toString(16).padStart(16, '0')}`,
          serial: `${this.serial}${identity.toString(16).padStart(4, '0')}`,
          attrs: attrs as Record<string, unknown>,
        },
        source,
        readOnly,
      )
      .then((ld) => {
        this.created();
        return ld;
      });
  }
}
