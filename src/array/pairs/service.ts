// Replication pairs (DynamicDataReplication) on the array: which LDs may pair,
// what each command may do in which state, the LDs' RPL attributes and the
// iSMrc_query view of a pair. The data path (mirroring, bitmaps, copies) is
// src/block/replication.ts.
import { KuraError } from '../../errors.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { Pair, ReplicationEvent, Replicator, RvAccess } from '../../block/replication.js';
import type { ArrayEvent } from '../events/agent.js';
import type { PairAgent, PairInfo } from './agent.js';
import type { ConfigQueue } from '../config-queue.js';
import type { LicenseTable } from '../licenses/table.js';

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
    if (!p) throw new KuraError('KURA-E2308', 'ENOENT', `LDs ${mv.name} and ${rv.name} are not a replication pair (MV ${mv.name}, RV ${rv.name}).`, 'List pairs with kura pair list.');
    return p;
  }

  getPair(mvRef: string | number, rvRef: string | number): PairInfo {
    return this.info(this.pair(mvRef, rvRef));
  }

  private async create(mvRef: string | number, rvRef: string | number): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Creating a replication pair');
    const mv = this.deps.ld(mvRef);
    const rv = this.deps.ld(rvRef);
    if (mv === rv) throw new KuraError('KURA-E2301', 'EINVAL', `LD ${mv.name} cannot be paired with itself.`, 'Give two different LDs: the MV (source) and the RV (copy).');
    // The seed's Table 4-1 (VVM L1257-1272): FEVs never pair; ESVs, EBVs and FCVs do. An ESV
    // is a point-in-time image, so it pairs as the MV (its backup source), never as the RV
    // that copies overwrite.
    for (const [l, role] of [[mv, 'MV'], [rv, 'RV']] as const) {
      const a = this.deps.attrs(l);
      const bad = a.ssv ? 'the solution reserved volume' : a.esv && role === 'RV' ? 'a snapshot (ESV)' : a.fev ? 'the source of fast clones (FEV)' : undefined;
      if (bad) throw new KuraError('KURA-E2303', 'EINVAL', `LD ${l.name} is ${bad} and cannot be an ${role}.`, role === 'RV' && a.esv ? 'A snapshot may be the MV of a pair; give an ordinary LD, EBV or FCV as the RV.' : 'Pair ordinary LDs, snapshots (as MV), EBVs or FCVs.');
    }
    const mvRoles = this.rep.rolesOf(mv);
    const rvRoles = this.rep.rolesOf(rv);
    if (mvRoles.asRv) throw new KuraError('KURA-E2306', 'EBUSY', `LD ${mv.name} is already the RV of MV ${mvRoles.asRv.mv.name}.`, 'An RV cannot be an MV too; unpair it first.');
    if (rvRoles.asRv || rvRoles.asMv.length > 0) {
      throw new KuraError('KURA-E2306', 'EBUSY', `LD ${rv.name} is already in a replication pair (${this.attribute(rv)}).`, 'Choose an LD that is in no pair as the RV.');
    }
    if (mvRoles.asMv.length >= MAX_RVS_PER_MV) {
      throw new KuraError('KURA-E2307', 'ENOSPC', `MV ${mv.name} already has ${MAX_RVS_PER_MV} RVs, the most one LD may be paired with.`, 'Delete a pair of it first (kura pair delete MV RV).');
    }
    const hosts = this.deps.mappedTo(rv);
    if (hosts.length > 0) {
      throw new KuraError('KURA-E2305', 'EBUSY', `LD ${rv.name} is mapped to host(s) ${hosts.join(', ')} and would be overwritten as an RV.`, `Unmap it first (kura host unmap HOST LUN).`);
    }
    if (mv.rec.capacity !== rv.rec.capacity) {
      throw new KuraError('KURA-E2302', 'EINVAL', `MV ${mv.name} is ${mv.rec.capacity} bytes but RV ${rv.name} is ${rv.rec.capacity}.`, 'Pair LDs of the same size (kura ld create RV --pool POOL --size SIZE-OF-MV).');
    }
    const p = await this.rep.create(mv, rv);
    return this.info(p);
  }

  private async replicate(mvRef: string | number, rvRef: string | number, force = false): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Replicating');
    const p = this.pair(mvRef, rvRef);
    if (!force && p.state.sync === 'fault' && p.state.direction === 'rv-to-mv') {
      throw new KuraError('KURA-E2321', 'EBUSY', `MV ${p.mv.name} is only partly restored from RV ${p.rv.name} (the restore was cut short); a replicate would copy it over the whole RV.`, `Restore again (kura pair restore ${p.mv.name} ${p.rv.name}), or give --force to replicate anyway.`);
    }
    this.refuseUnequal(p, 'replicate');
    const restoring = this.rep.rolesOf(p.mv).asMv.find((o) => o !== p && o.restoring);
    if (restoring) {
      throw new KuraError('KURA-E2311', 'EBUSY', `MV ${p.mv.name} is being restored from RV ${restoring.rv.name}.`, 'Wait for the restore to finish (kura pair show), then replicate.');
    }
    await this.rep.replicate(p);
    return this.info(p);
  }

  private async separate(mvRef: string | number, rvRef: string | number, opts: { rvAccess?: string; force?: boolean }): Promise<PairInfo> {
    const access = opts.rvAccess ?? 'rw';
    if (access !== 'rw' && access !== 'ro') {
      throw new KuraError('KURA-E2317', 'EINVAL', `RV access ${JSON.stringify(access)} is not known.`, 'Give rw (read/write, the default) or ro (read-only).');
    }
    const p = this.pair(mvRef, rvRef);
    await this.rep.separate(p, access, opts.force ?? false);
    if (p.state.sync === 'fault') {
      this.deps.emit({ id: 'KURA-W2341', severity: 'warning', source: `pair/${p.mv.name}/${p.rv.name}`, text: p.state.direction === 'mv-to-rv' ? `Pair ${p.mv.name} → ${p.rv.name} separated by force before its copy finished; RV ${p.rv.name} is incomplete (${p.diffBytes()} bytes not copied). Replicate again to complete it.` : `Pair ${p.mv.name} → ${p.rv.name} separated by force during a restore; MV ${p.mv.name} is partly restored (${p.diffBytes()} bytes not copied). Restore again to complete it.` });
    }
    return this.info(p);
  }

  private async restore(mvRef: string | number, rvRef: string | number): Promise<PairInfo> {
    this.deps.licenses.require('DynamicDataReplication', 'Restoring');
    const p = this.pair(mvRef, rvRef);
    this.refuseUnequal(p, 'restore');
    if (p.mv.readOnly) {
      throw new KuraError('KURA-E2607', 'EROFS', `MV ${p.mv.name} is a read-only snapshot; a restore would write to it.`, `Make it read/write first (kura snapshot set-access ${p.mv.name.slice(0, p.mv.name.lastIndexOf('@'))} ${p.mv.name.slice(p.mv.name.lastIndexOf('@') + 1)} --access rw).`);
    }
    const others = this.rep.rolesOf(p.mv).asMv.filter((o) => o !== p);
    const busy = others.find((o) => o.mirroring);
    if (busy) {
      throw new KuraError('KURA-E2313', 'EBUSY', `MV ${p.mv.name} is also paired with RV ${busy.rv.name}, which is not separated.`, `Separate that pair first (kura pair separate ${p.mv.name} ${busy.rv.name}).`);
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
      this.deps.emit({ id: 'KURA-W2342', severity: 'warning', source: `pair/${p.mv.name}/${p.rv.name}`, text: `Pair ${p.mv.name} → ${p.rv.name} deleted with a copy unfinished: ${target} holds a partial copy.` });
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
      throw new KuraError('KURA-E2505', 'EBUSY', `LD ${l.name} is the RV of replication pair ${p.mv.name} → ${p.rv.name} and cannot be mapped to a host: the pair's copies would overwrite it under the host.`, `Map the MV (${p.mv.name}) instead, or delete the pair first (kura pair delete ${p.mv.name} ${p.rv.name}).`);
    }
  }

  /** What holds the LD for the per-LD lock: a running copy that writes it (the RV of a replicate, the MV of a restore). */
  copyHold(l: LogicalDisk): { what: string; action: string } | undefined {
    const p = this.rep.pairsOf(l).find((x) => x.copying && (x.state.direction === 'mv-to-rv' ? x.rv : x.mv) === l);
    if (!p) return undefined;
    return { what: `the copy of pair ${p.mv.name} → ${p.rv.name} (${p.state.sync}, ${p.progress()}% done), which writes it`, action: `Wait for the copy to finish (kura pair show ${p.mv.name} ${p.rv.name}), or separate with --force` };
  }

  /** An LD in a pair cannot be deleted. */
  refuseDelete(l: LogicalDisk): void {
    const ps = this.rep.pairsOf(l);
    if (ps.length > 0) {
      const p = ps[0]!;
      throw new KuraError('KURA-E2318', 'EBUSY', `LD ${l.name} is the ${p.mv === l ? 'MV' : 'RV'} of a replication pair (${p.mv.name} → ${p.rv.name}).`, `Unpair it first (kura pair separate ${p.mv.name} ${p.rv.name}; kura pair delete ${p.mv.name} ${p.rv.name}).`);
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
      throw new KuraError('KURA-E2319', 'EBUSY', `Failed to expand the specified volume because the volume is being replicated: LD ${l.name} is in pair ${p.mv.name} → ${p.rv.name} (${p.state.sync}).`, `A logical disk in the replicate state cannot be expanded: separate the pair (kura pair separate ${p.mv.name} ${p.rv.name}), then expand it.`);
    }
  }

  /** MV and RV must have the same capacity before anything is copied between them. */
  private refuseUnequal(p: Pair, what: string): void {
    const m = p.mv.rec.capacity;
    const r = p.rv.rec.capacity;
    if (m === r) return;
    const [small, big] = m < r ? [p.mv, p.rv] : [p.rv, p.mv];
    const mb = (n: number) => `${Math.ceil(n / 2 ** 20)}MB`;
    throw new KuraError(
      'KURA-E2606',
      'EINVAL',
      `Failed to ${what} pair ${p.mv.name} → ${p.rv.name} because the capacities differ (backup volume:${p.rv.rec.number.toString(16).padStart(4, '0')}, capacity:${mb(r)}; MV capacity:${mb(m)}).`,
      `Expand ${small.name} to the capacity of ${big.name} (kura ld expand ${small.name} --size ${big.rec.capacity}), then ${what} again.`,
    );
  }

  /** A snapshot restore rewrites the LD: refused while mirrored, otherwise every chunk counts as different. */
  beforeRevert(l: LogicalDisk): () => void {
    const ps = this.rep.pairsOf(l);
    const m = ps.find((p) => p.mirroring);
    if (m) {
      throw new KuraError('KURA-E2320', 'EBUSY', `LD ${l.name} is in replication pair ${m.mv.name} → ${m.rv.name} (${m.state.sync}); restoring a snapshot would bypass it.`, `Separate the pair first (kura pair separate ${m.mv.name} ${m.rv.name}).`);
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
        this.deps.emit({ id: 'KURA-I2340', severity: 'info', source: src, text: `Pair ${p.mv.name} → ${p.rv.name}: copy finished (${p.state.copied} chunk(s)); sync state ${p.state.sync}.` });
        return;
      case 'copy-failed':
        this.deps.emit({ id: 'KURA-E2343', severity: 'error', source: src, text: `Pair ${p.mv.name} → ${p.rv.name}: copy stopped: ${(e.error as Error)?.message ?? e.error}. The pair is in fault; the copy target is incomplete. Fix the cause and replicate (or restore) again.` });
        return;
      case 'mirror-failed':
        this.deps.emit({ id: 'KURA-E2345', severity: 'error', source: src, text: `Pair ${p.mv.name} → ${p.rv.name}: a mirrored write to RV ${p.rv.name} failed: ${(e.error as Error)?.message ?? e.error}. The MV write stands; the pair is in fault and records the differences. Fix the cause and replicate again.` });
        return;
      case 'resumed':
        this.deps.emit({
          id: 'KURA-W2344',
          severity: 'warning',
          source: src,
          text: e.unclean
            ? `Pair ${p.mv.name} → ${p.rv.name}: the array did not shut down cleanly; copying again the ${p.diffBytes()} bytes where writes were under way or not yet copied (${p.state.sync}).`
            : `Pair ${p.mv.name} → ${p.rv.name}: copy resumed after a restart (${p.state.sync}, ${p.diffBytes()} bytes to go).`,
        });
        return;
    }
  }
}
