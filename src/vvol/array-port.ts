// The provider's port on Kura's own array: VvolArrayPort over the array agent
// contract (in `kura serve` the KuraArray itself). Each port method is one or
// a few agent verbs: LDs with Purpose VVOL (createVvolLd), snapshots as ESVs
// of an EBV, linked clones as FCVs of an FEV, full copies as a replication
// pair (create, replicate, wait for rpl/sync, separate, unpair) with the
// pair's progress, I/O limits as the LD's QoS, bitmaps from the engine's maps,
// and bind/unbind as subsidiary LUs of the PE's conglomerate.
import { COPY_FAILED, COPY_STOPPED, SLU_MISMATCH } from '../catalogue/vvol.js';
import type { ArrayAgent, LdInfo, PoolInfo } from '../array/agent.js';
import { isKuraError } from '../errors.js';
import type { CreateLdSpec, PortArrayIdentity, PortBitmap, PortCopy, PortLd, PortPool, VvolArrayPort, VvolLicense } from './port.js';

/** How often a full copy looks at its pair's progress. */
const COPY_POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ArrayVvolPort implements VvolArrayPort {
  constructor(
    private readonly agent: ArrayAgent,
    /** The array model (decides the concurrent-operation limit, VVM L1615-L1619). */
    private readonly model = 'Kura',
  ) {}

  identity(): PortArrayIdentity {
    const info = this.agent.info();
    // The array's serial is 12 hex digits; its WWN puts the NAA-2 style prefix 2000 before it.
    return { name: info.name, wwn: `2000${info.serial}`.slice(0, 16).padEnd(16, '0'), model: this.model };
  }

  licensed(name: VvolLicense): boolean {
    return this.agent.licenses.listLicenses().some((l) => l.name === name && l.state === 'unlocked');
  }

  hasSsv(): boolean {
    return this.agent.lds.listLds().some((l) => l.purpose === 'Solution Reserved Volume');
  }

  private poolView(p: PoolInfo): PortPool {
    return {
      number: p.number,
      name: p.name,
      container: p.vmwareType === 'Container',
      // Every Kura pool is a virtual-capacity (thin) pool.
      virtual: true,
      raid: p.raid,
      pdType: 'FILE',
      encrypted: false,
      qosMode: p.qosMode,
      capacity: p.capacity,
      used: p.used,
      free: p.free,
      virtualCapacity: p.virtualCapacity,
      ldCount: p.ldCount,
    };
  }

  listPools(): PortPool[] {
    return this.agent.pools.listPools().map((p) => this.poolView(p));
  }

  pool(number: number): PortPool | undefined {
    const p = this.agent.pools.listPools().find((x) => x.number === number);
    return p && this.poolView(p);
  }

  private info(number: number): LdInfo | undefined {
    try {
      return this.agent.lds.getLd(number);
    } catch (e) {
      if (isKuraError(e) && e.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private ldView(l: LdInfo): PortLd {
    return {
      number: l.number,
      name: l.name,
      pool: l.poolNumber,
      capacity: l.capacity,
      allocated: l.allocated,
      vmwareType: l.vmwareType,
      owner: l.defaultOwner,
    };
  }

  ld(number: number): PortLd | undefined {
    const l = this.info(number);
    return l && this.ldView(l);
  }

  private must(number: number): PortLd {
    return this.ldView(this.agent.lds.getLd(number));
  }

  async createLd(spec: CreateLdSpec): Promise<PortLd> {
    const n = await this.agent.vvols.createVvolLd({ pool: spec.pool, name: spec.name, size: spec.size, vmwareType: spec.vmwareType, owner: spec.owner });
    return this.must(n);
  }

  /** Deletes an LD the provider made: an ESV through its base's snapshot deletion, an FCV as a confirmed clone. */
  async deleteLd(number: number): Promise<void> {
    const l = this.agent.lds.getLd(number);
    if (l.snapshotAttribute === 'ESV') {
      const at = l.name.lastIndexOf('@');
      await this.agent.snapshots.deleteSnapshot(l.name.slice(0, at), l.name.slice(at + 1));
      return;
    }
    // A VVOL and its backup volumes are kept paired between backups (src/vvol/backup): the pairs go first.
    for (const p of this.agent.pairs.listPairs().filter((x) => x.mvNumber === number || x.rvNumber === number))
      await this.agent.pairs.deletePair(p.mvNumber, p.rvNumber, { force: true });
    await this.agent.lds.deleteLd(number, { fcvforce: l.cloneAttribute === 'FCV' });
  }

  async resizeLd(number: number, size: number): Promise<PortLd> {
    return this.ldView(await this.agent.lds.expandLd(number, size));
  }

  async snapshot(base: number, name: string): Promise<PortLd> {
    const b = this.must(base);
    const s = await this.agent.snapshots.createSnapshot(base, name);
    if (b.vmwareType !== '---' && b.vmwareType !== 'PE') await this.agent.vvols.tagVvolLd(s.ldNumber, b.vmwareType);
    return this.must(s.ldNumber);
  }

  async revert(base: number, snap: number): Promise<void> {
    const s = this.agent.lds.getLd(snap);
    await this.agent.snapshots.restoreSnapshot(base, s.name.slice(s.name.lastIndexOf('@') + 1));
  }

  async linkedClone(source: number, name: string): Promise<PortLd> {
    const src = this.must(source);
    const c = await this.agent.clones.createClone(source, name);
    if (src.vmwareType !== '---' && src.vmwareType !== 'PE') await this.agent.vvols.tagVvolLd(c.number, src.vmwareType);
    return this.must(c.number);
  }

  /**
   * A replication pair source → target: replicate, wait for the copy (progress
   * from the pair), separate, unpair. An FEV never pairs (VVM L1257-L1272): its
   * copy is made from a temporary snapshot (an ESV pairs as the MV), deleted after.
   */
  fullCopy(source: number, target: number): PortCopy {
    const { agent } = this;
    let cancelled = false;
    let copied = 0;
    const src = agent.lds.getLd(source);
    const total = src.capacity;
    const stopped = () => COPY_STOPPED({ mv: source, rv: target });
    const done = (async () => {
      let temp: string | undefined;
      let mv = source;
      if (src.cloneAttribute === 'FEV') {
        temp = `copy-${target.toString(16).padStart(4, '0')}`;
        mv = (await agent.snapshots.createSnapshot(source, temp)).ldNumber;
      }
      try {
        await this.copyThroughPair(
          mv,
          target,
          total,
          () => cancelled,
          stopped,
          (n) => (copied = n),
        );
      } finally {
        if (temp !== undefined) await agent.snapshots.deleteSnapshot(source, temp).catch(() => undefined);
      }
    })();
    done.catch(() => undefined);
    return {
      done,
      progress: () => ({ copied, total }),
      cancel: () => {
        cancelled = true;
      },
    };
  }

  private async copyThroughPair(
    source: number,
    target: number,
    total: number,
    cancelled: () => boolean,
    stopped: () => Error,
    setCopied: (n: number) => void,
  ): Promise<void> {
    const { agent } = this;
    await agent.pairs.createPair(source, target);
    try {
      await agent.pairs.replicatePair(source, target);
      for (;;) {
        if (cancelled()) throw stopped();
        const p = agent.pairs.getPair(source, target);
        setCopied(Math.min(total, Math.round((p.progress / 100) * total)));
        if (p.sync === 'fault') throw COPY_FAILED({ mv: source, rv: target, why: p.fault ?? 'the pair is in fault' });
        if (p.sync === 'rpl/sync') break;
        await sleep(COPY_POLL_MS);
      }
      setCopied(total);
      await agent.pairs.separatePair(source, target, { rvAccess: 'rw' });
      while (agent.pairs.getPair(source, target).sync !== 'sep/end') {
        if (cancelled()) throw stopped();
        await sleep(COPY_POLL_MS);
      }
      await agent.pairs.deletePair(source, target);
    } catch (e) {
      // The partial target goes with the task (the provider deletes it): unpair first.
      await agent.pairs.deletePair(source, target, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async allocatedBitmap(ld: number, offset: number, length: number): Promise<PortBitmap> {
    return this.agent.vvols.allocatedBitmap(ld, offset, length);
  }

  async unsharedBitmap(ld: number, base: number, offset: number, length: number): Promise<PortBitmap> {
    return this.agent.vvols.unsharedBitmap(ld, base, offset, length);
  }

  hostExists(host: string): boolean {
    return this.agent.hosts.listHosts().some((h) => h.name === host);
  }

  lunOf(host: string, ld: number): number | undefined {
    return this.agent.hosts
      .listHosts()
      .find((h) => h.name === host)
      ?.luns.find((l) => l.ldNumber === ld)?.lun;
  }

  /** The provider's binding table numbers subsidiary LUs; the array takes its id (a disagreement is undone and reported). */
  async mapSubsidiary(pe: number, slu: number, vvol: number, host: string): Promise<void> {
    const got = this.agent.vvols.bindSubsidiary(pe, vvol, host, slu);
    if (got !== slu) {
      this.agent.vvols.unbindSubsidiary(pe, vvol, host);
      throw SLU_MISMATCH({ pe, vvol, got, want: slu });
    }
  }

  async unmapSubsidiary(pe: number, slu: number, host: string): Promise<void> {
    const b = this.agent.vvols.subsidiaries(pe).find((x) => x.slu === slu);
    if (!b) return;
    this.agent.vvols.unbindSubsidiary(pe, b.vvolLd, host);
  }

  async setIoLimits(ld: number, limits: { upper: number; lower: number }): Promise<void> {
    await this.agent.qos.setQos(ld, limits);
  }
}

/**
 * After a restart the array's conglomerates may be empty while the provider's
 * store still holds bindings: binds them again at their subsidiary LU ids, so
 * hosts see their bound VVOLs where they were (an array that keeps its
 * conglomerates has them already). Returns what it could not restore.
 */
export function rebindSubsidiaries(agent: ArrayAgent, bindings: Array<{ peLd: number; vvolLd: number; slu: number; hosts: string[] }>): string[] {
  const problems: string[] = [];
  const sorted = [...bindings].sort((a, b) => a.peLd - b.peLd || a.slu - b.slu);
  for (const b of sorted) {
    const have = agent.vvols.subsidiaries(b.peLd).find((x) => x.vvolLd === b.vvolLd);
    for (const host of b.hosts) {
      if (have?.hosts.includes(host)) continue;
      try {
        const got = agent.vvols.bindSubsidiary(b.peLd, b.vvolLd, host, b.slu);
        if (got !== b.slu) problems.push(`LD ${b.vvolLd} is subsidiary LU ${got} of PE LD ${b.peLd}, not ${b.slu}`);
      } catch (e) {
        problems.push(`LD ${b.vvolLd} behind PE LD ${b.peLd} for host ${host}: ${(e as Error).message}`);
      }
    }
  }
  return problems;
}
