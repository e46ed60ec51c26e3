// Replication pairs (DynamicDataReplication) on the array: which LDs may pair,
// what each command may do in which state, the LDs' RPL attributes and the
// iSMrc_query view of a pair. The data path (mirroring, bitmaps, copies) is
// src/block/replication.ts.
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { Pair, ReplicationEvent, Replicator, RvAccess } from '../../block/replication.js';
import type { ArrayEvent } from '../events/agent.js';
import type { PairAgent, PairInfo } from './agent.js';
import type { ConfigQueue } from '../config-queue.js';
import type { LicenseTable } from '../licenses/table.js';
import {
  MV_IS_RV,
  MV_PARTLY_RESTORED_AFTER_FORCE,
  PAIR_COPY_AFTER_UNCLEAN,
  PAIR_COPY_RESUMED,
  PAIR_ROLE_NOT_ALLOWED,
  RV_INCOMPLETE_AFTER_FORCE,
  SNAPSHOT_AS_RV,
  EXPAND_IN_PAIR,
  LD_IN_PAIR,
  MV_PAIR_NOT_SEPARATED,
  MV_PARTLY_RESTORED,
  MV_RESTORING,
  PAIR_CAPACITIES_DIFFER,
  PAIR_COPY_STOPPED,
  PAIR_DELETED_UNFINISHED,
  PAIR_MIRROR_WRITE_FAILED,
  PAIR_NOT_FOUND,
  PAIR_SIZES_DIFFER,
  PAIR_WITH_ITSELF,
  RESTORE_TO_READ_ONLY_MV,
  REVERT_IN_PAIR,
  RVS_FULL,
  RV_ACCESS_UNKNOWN,
  RV_IN_PAIR,
  RV_MAPPED,
  RV_MAP_REFUSED,
} from '../../catalogue/array.js';

/** RVs one MV may have (the seed's "number of LDs paired to the LD has reached the upper limit"). */
export const MAX_RVS_PER_MV = 4;

export interface PairDeps {
  ld(ref: string | number): LogicalDisk;
  licenses: LicenseTable;
  /** Attributes that keep an LD out of pairs: the SSV, snapshots (ESV), clone sources (FEV). */
  attrs(l: LogicalDisk): { ssv?: boolean; esv?: unknown; fev?: boolean };
  /** Host entries that map the LD to a LUN. */
  mappedTo(l: LogicalDisk): string[];
  emit(e: Omit<ArrayEvent, 'time'>): void;
  config: ConfigQueue;
}

export class PairService implements PairAgent {
  constructor(
    private readonly rep: Replicator,
    private readonly deps: PairDeps,
  ) {}

  // The agent's verbs: changes run one at a time with the array's other configuration changes.

  createPair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.deps.config.run(() => this.create(mv, rv));
  }

  replicatePair(mv: string | number, rv: string | number, opts: { force?: boolean } = {}): Promise<PairInfo> {
    return this.deps.config.run(() => this.replicate(mv, rv, opts.force ?? false));
  }

  separatePair(mv: string | number, rv: string | number, opts: { rvAccess?: string; force?: boolean } = {}): Promise<PairInfo> {
    return this.deps.config.run(() => this.separate(mv, rv, opts));
  }

  restorePair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.deps.config.run(() => this.restore(mv, rv));
  }

  deletePair(mv: string | number, rv: string | number, opts: { force?: boolean } = {}): Promise<PairInfo> {
    return this.deps.config.run(() => this.remove(mv, rv, opts.force ?? false));
  }

  attribute(l: LogicalDisk): 'IV' | 'MV' | 'RV' {
    const { asMv, asRv } = this.rep.rolesOf(l);
    return asRv ? 'RV' : asMv.length > 0 ? 'MV' : 'IV';
  }

  /** The RV access of the pair whose RV this LD is; undefined for an LD that is no RV. */
  rvAccess(l: LogicalDisk): RvAccess | undefined {
    return this.rep.rolesOf(l).asRv?.state.rvAccess;
  }

  info(p: Pair): PairInfo {
    const s = p.state;
    const separated = s.sync === 'sep/end' || s.sync === 'fault';
    return {
      mv: p.mv.name,
      mvNumber: p.mv.rec.number,
      rv: p.rv.name,
      rvNumber: p.rv.rec.number,
      activity: s.activity,
      sync: s.sync,
      previousSync: s.previous,
      copyControl: p.copying ? 'background copy' : p.mirroring ? 'sync' : '-',
      direction: s.direction,
      separateStart: s.sepStart,
      separateEnd: s.sepEnd,
      separateDiffBytes: separated ? p.diffBytes() : 0,
      copyDiffBytes: p.diffBytes(),
      copiedBytes: Math.min(s.copied * p.chunkSize, p.mv.rec.capacity),
      progress: p.progress(),
      remainingSeconds: p.remainingSeconds(),
      rvAccess: s.rvAccess,
      rvComplete: p.rvValid,
      fault: s.fault,
      created: s.created,
    };
  }

  listPairs(): PairInfo[] {
    return this.rep
      .list()
      .sort((a, b) => a.mv.rec.number - b.mv.rec.number || a.rv.rec.number - b.rv.rec.number)
      .map((p) => this.info(p));
  }

  private pair(mvRef: string | number, rvRef: string | number): Pair {
    const mv = this.deps.ld(mvRef);
    const rv = this.deps.ld(rvRef);
    const p = this.rep.find(mv, rv);
    if (!p) throw PAIR_NOT_FOUND({ mv: mv.name, rv: rv.name });
    return p;
  }

  getPair(mvRef: string | number, rvRef: string | number): PairInfo {
    return this.info(this.pair(mvRef, rvRef));
  }

  private async create(mvRef: string | number, rvRef: string | number): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Creating a replication pair');
    const mv = this.deps.ld(mvRef);
    const rv = this.deps.ld(rvRef);
    if (mv === rv) throw PAIR_WITH_ITSELF({ mv: mv.name });
    // The seed's Table 4-1 (VVM L1257-1272): FEVs never pair; ESVs, EBVs and FCVs do. An ESV
    // is a point-in-time image, so it pairs as the MV (its backup source), never as the RV
    // that copies overwrite.
    for (const [l, role] of [
      [mv, 'MV'],
      [rv, 'RV'],
    ] as const) {
      const a = this.deps.attrs(l);
      const bad = a.ssv ? 'the solution reserved volume' : a.esv && role === 'RV' ? 'a snapshot (ESV)' : a.fev ? 'the source of fast clones (FEV)' : undefined;
      if (bad) throw (role === 'RV' && a.esv ? SNAPSHOT_AS_RV : PAIR_ROLE_NOT_ALLOWED)({ ld: l.name, what: bad, role });
    }
    const mvRoles = this.rep.rolesOf(mv);
    const rvRoles = this.rep.rolesOf(rv);
    if (mvRoles.asRv) throw MV_IS_RV({ mv: mv.name, mv2: mvRoles.asRv.mv.name });
    if (rvRoles.asRv || rvRoles.asMv.length > 0) {
      throw RV_IN_PAIR({ rv: rv.name, attribute: this.attribute(rv) });
    }
    if (mvRoles.asMv.length >= MAX_RVS_PER_MV) {
      throw RVS_FULL({ mv: mv.name, maxRvsPerMv: MAX_RVS_PER_MV });
    }
    const hosts = this.deps.mappedTo(rv);
    if (hosts.length > 0) {
      throw RV_MAPPED({ rv: rv.name, hosts: hosts.join(', ') });
    }
    if (mv.rec.capacity !== rv.rec.capacity) {
      throw PAIR_SIZES_DIFFER({ mv: mv.name, capacity: mv.rec.capacity, rv: rv.name, capacity2: rv.rec.capacity });
    }
    const p = await this.rep.create(mv, rv);
    return this.info(p);
  }

  private async replicate(mvRef: string | number, rvRef: string | number, force = false): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Replicating');
    const p = this.pair(mvRef, rvRef);
    if (!force && p.state.sync === 'fault' && p.state.direction === 'rv-to-mv') {
      throw MV_PARTLY_RESTORED({ mv: p.mv.name, rv: p.rv.name });
    }
    this.refuseUnequal(p, 'replicate');
    const restoring = this.rep.rolesOf(p.mv).asMv.find((o) => o !== p && o.restoring);
    if (restoring) {
      throw MV_RESTORING({ mv: p.mv.name, rv: restoring.rv.name });
    }
    await this.rep.replicate(p);
    return this.info(p);
  }

  private async separate(mvRef: string | number, rvRef: string | number, opts: { rvAccess?: string; force?: boolean }): Promise<PairInfo> {
    const access = opts.rvAccess ?? 'rw';
    if (access !== 'rw' && access !== 'ro') {
      throw RV_ACCESS_UNKNOWN({ access: JSON.stringify(access) });
    }
    const p = this.pair(mvRef, rvRef);
    await this.rep.separate(p, access, opts.force ?? false);
    if (p.state.sync === 'fault') {
      const left = p.state.direction === 'mv-to-rv' ? RV_INCOMPLETE_AFTER_FORCE : MV_PARTLY_RESTORED_AFTER_FORCE;
      this.deps.emit({
        id: left.id,
        severity: 'warning',
        source: `pair/${p.mv.name}/${p.rv.name}`,
        text: left({ mv: p.mv.name, rv: p.rv.name, bytes: p.diffBytes() }),
      });
    }
    return this.info(p);
  }

  private async restore(mvRef: string | number, rvRef: string | number): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Restoring');
    const p = this.pair(mvRef, rvRef);
    this.refuseUnequal(p, 'restore');
    if (p.mv.readOnly) {
      throw RESTORE_TO_READ_ONLY_MV({
        mv: p.mv.name,
        base: p.mv.name.slice(0, p.mv.name.lastIndexOf('@')),
        snapshot: p.mv.name.slice(p.mv.name.lastIndexOf('@') + 1),
      });
    }
    const others = this.rep.rolesOf(p.mv).asMv.filter((o) => o !== p);
    const busy = others.find((o) => o.mirroring);
    if (busy) {
      throw MV_PAIR_NOT_SEPARATED({ mv: p.mv.name, rv: busy.rv.name });
    }
    await this.rep.restore(p, others);
    return this.info(p);
  }

  private async remove(mvRef: string | number, rvRef: string | number, force: boolean): Promise<PairInfo> {
    const p = this.pair(mvRef, rvRef);
    const before = this.info(p);
    const { incomplete } = await this.rep.remove(p, force);
    if (incomplete) {
      const target = p.state.direction === 'mv-to-rv' ? `RV ${p.rv.name}` : `MV ${p.mv.name}`;
      this.deps.emit({
        id: PAIR_DELETED_UNFINISHED.id,
        severity: 'warning',
        source: `pair/${p.mv.name}/${p.rv.name}`,
        text: PAIR_DELETED_UNFINISHED({ mv: p.mv.name, rv: p.rv.name, target }),
      });
    }
    return before;
  }

  /**
   * An RV is never mapped to a host: the pair's copies would overwrite it under the
   * host. The same rule as create's refusal of a mapped RV (KURA-E2305), from the
   * other side; it holds in every pair state, separated included.
   */
  refuseMap(l: LogicalDisk): void {
    const p = this.rep.rolesOf(l).asRv;
    if (p) {
      throw RV_MAP_REFUSED({ l: l.name, mv: p.mv.name, rv: p.rv.name });
    }
  }

  /** What holds the LD for the per-LD lock: a running copy that writes it (the RV of a replicate, the MV of a restore). */
  copyHold(l: LogicalDisk): { what: string; action: string } | undefined {
    const p = this.rep.pairsOf(l).find((x) => x.copying && (x.state.direction === 'mv-to-rv' ? x.rv : x.mv) === l);
    if (!p) return undefined;
    return {
      what: `the copy of pair ${p.mv.name} → ${p.rv.name} (${p.state.sync}, ${p.progress()}% done), which writes it`,
      action: `Wait for the copy to finish (kura pair show ${p.mv.name} ${p.rv.name}), or separate with --force`,
    };
  }

  /** An LD in a pair cannot be deleted. */
  refuseDelete(l: LogicalDisk): void {
    const ps = this.rep.pairsOf(l);
    if (ps.length > 0) {
      const p = ps[0]!;
      throw LD_IN_PAIR({ l: l.name, role: p.mv === l ? 'MV' : 'RV', mv: p.mv.name, rv: p.rv.name });
    }
  }

  /**
   * A paired LD is expanded only while its pairs are separated (VVM L1965-1969: "A
   * logical disk in the replicate state cannot be expanded"); the next replicate or
   * restore then needs both volumes at the same size again (refuseUnequal).
   */
  refuseExpand(l: LogicalDisk): void {
    const p = this.rep.pairsOf(l).find((x) => x.mirroring);
    if (p) {
      throw EXPAND_IN_PAIR({ l: l.name, mv: p.mv.name, rv: p.rv.name, sync: p.state.sync });
    }
  }

  /** MV and RV must have the same capacity before anything is copied between them. */
  private refuseUnequal(p: Pair, what: string): void {
    const m = p.mv.rec.capacity;
    const r = p.rv.rec.capacity;
    if (m === r) return;
    const [small, big] = m < r ? [p.mv, p.rv] : [p.rv, p.mv];
    const mb = (n: number) => `${Math.ceil(n / 2 ** 20)}MB`;
    throw PAIR_CAPACITIES_DIFFER({
      what,
      mv: p.mv.name,
      rv: p.rv.name,
      rvNumber: p.rv.rec.number.toString(16).padStart(4, '0'),
      rvCapacity: mb(r),
      mvCapacity: mb(m),
      small: small.name,
      big: big.name,
      capacity: big.rec.capacity,
    });
  }

  /** A snapshot restore rewrites the LD: refused while mirrored, otherwise every chunk counts as different. */
  beforeRevert(l: LogicalDisk): () => void {
    const ps = this.rep.pairsOf(l);
    const m = ps.find((p) => p.mirroring);
    if (m) {
      throw REVERT_IN_PAIR({ l: l.name, mv: m.mv.name, rv: m.rv.name, sync: m.state.sync });
    }
    return () => {
      for (const p of ps) this.rep.markAll(p);
    };
  }

  /** Events of the data path as array events. */
  onReplicationEvent(e: ReplicationEvent): void {
    const p = e.pair;
    const src = `pair/${p.mv.name}/${p.rv.name}`;
    switch (e.kind) {
      case 'copy-done':
        this.deps.emit({
          id: 'KURA-I2340',
          severity: 'info',
          source: src,
          text: `Pair ${p.mv.name} → ${p.rv.name}: copy finished (${p.state.copied} chunk(s)); sync state ${p.state.sync}.`,
        });
        return;
      case 'copy-failed':
        this.deps.emit({
          id: PAIR_COPY_STOPPED.id,
          severity: 'error',
          source: src,
          text: PAIR_COPY_STOPPED({ mv: p.mv.name, rv: p.rv.name, reason: (e.error as Error)?.message ?? e.error }),
        });
        return;
      case 'mirror-failed':
        this.deps.emit({
          id: PAIR_MIRROR_WRITE_FAILED.id,
          severity: 'error',
          source: src,
          text: PAIR_MIRROR_WRITE_FAILED({ mv: p.mv.name, rv: p.rv.name, reason: (e.error as Error)?.message ?? e.error }),
        });
        return;
      case 'resumed':
        this.deps.emit({
          id: PAIR_COPY_RESUMED.id,
          severity: 'warning',
          source: src,
          text: (e.unclean ? PAIR_COPY_AFTER_UNCLEAN : PAIR_COPY_RESUMED)({ mv: p.mv.name, rv: p.rv.name, bytes: p.diffBytes(), sync: p.state.sync }),
        });
        return;
    }
  }
}
