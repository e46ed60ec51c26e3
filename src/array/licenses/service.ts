// Feature licence verbs: list them, unlock one.
import type { ConfigQueue } from '../config-queue.js';
import type { Emit } from '../events/hub.js';
import type { LicenseAgent, LicenseInfo } from './agent.js';
import { LicenseTable } from './table.js';

export class LicenseService implements LicenseAgent {
  constructor(
    private readonly table: LicenseTable,
    private readonly config: ConfigQueue,
    private readonly emit: Emit,
  ) {}

  listLicenses(): LicenseInfo[] {
    return this.table.list();
  }

  unlockLicense(name: string): Promise<LicenseInfo[]> {
    return this.config.run(() => {
      this.table.unlock(LicenseTable.parse(name));
      this.emit({ id: 'KURA-I2062', severity: 'info', source: 'array', text: `Licence ${LicenseTable.parse(name)} unlocked.` });
      return this.table.list();
    });
  }
}
