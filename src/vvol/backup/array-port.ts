// The backup engine's port on Kura's array: pairs through the agent's pair
// verbs (DynamicDataReplication), LD and pool names for the displays.
import type { ArrayAgent, LdInfo } from '../../array/agent.js';
import { isKuraError } from '../../errors.js';
import { BACKUP_POOL_PREFIX } from '../limits.js';
import type { BackupArrayPort, BackupLd, BackupPairState } from './port.js';

export class ArrayBackupPort implements BackupArrayPort {
  constructor(
    private readonly agent: ArrayAgent,
    private readonly model = 'Kura',
  ) {}

  identity(): { name: string; serial: string; wwn: string; model: string } {
    const i = this.agent.info();
    // The same WWN the provider makes its ids from (src/vvol/array-port.ts).
    return { name: i.name, serial: i.serial, wwn: `2000${i.serial}`.slice(0, 16).padEnd(16, '0'), model: this.model };
  }

  private view(l: LdInfo, pools: Map<number, string>): BackupLd {
    return {
      number: l.number,
      name: l.name,
      pool: l.poolNumber,
      poolName: pools.get(l.poolNumber) ?? String(l.poolNumber),
      vmwareType: l.vmwareType,
      capacity: l.capacity,
    };
  }

  private poolNames(): Map<number, string> {
    return new Map(this.agent.pools.listPools().map((p) => [p.number, p.name]));
  }

  ld(number: number): BackupLd | undefined {
    try {
      return this.view(this.agent.lds.getLd(number), this.poolNames());
    } catch (e) {
      if (isKuraError(e) && e.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  backupPoolLds(): BackupLd[] {
    const pools = this.agent.pools.listPools().filter((p) => p.vmwareType === 'Container' && p.name.startsWith(BACKUP_POOL_PREFIX));
    const names = new Map(pools.map((p) => [p.number, p.name]));
    return this.agent.lds
      .listLds()
      .filter((l) => names.has(l.poolNumber))
      .map((l) => this.view(l, names));
  }

  vvolLds(): BackupLd[] {
    const names = this.poolNames();
    return this.agent.lds
      .listLds()
      .filter((l) => l.vmwareType.endsWith('-VVOL'))
      .map((l) => this.view(l, names));
  }

  pair(mv: number, rv: number): BackupPairState | undefined {
    const p = this.agent.pairs.listPairs().find((x) => x.mvNumber === mv && x.rvNumber === rv);
    return p && { sync: p.sync, progress: p.progress, remainingSeconds: p.remainingSeconds, copyDiffBytes: p.copyDiffBytes, fault: p.fault };
  }

  async createPair(mv: number, rv: number): Promise<void> {
    await this.agent.pairs.createPair(mv, rv);
  }

  async replicate(mv: number, rv: number): Promise<void> {
    await this.agent.pairs.replicatePair(mv, rv);
  }

  async separate(mv: number, rv: number, force: boolean): Promise<void> {
    await this.agent.pairs.separatePair(mv, rv, { rvAccess: 'ro', force });
  }

  async restore(mv: number, rv: number): Promise<void> {
    await this.agent.pairs.restorePair(mv, rv);
  }
}
