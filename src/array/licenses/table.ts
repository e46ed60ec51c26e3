// Feature licences, unlocked per array as on the seed's disk arrays. A locked
// feature refuses its operations with an error that names the licence.
import type Database from 'better-sqlite3';
import type { ErrorDef } from '../../errors.js';
import { LICENCE_LOCKED, LICENCE_UNKNOWN } from '../../catalogue/array.js';

export const LICENSES = ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'ThinProvisioning', 'IOLoadManager'] as const;
export type LicenseName = (typeof LICENSES)[number];

/** Licences a new array starts with: thin pools are the array's only kind, so thin provisioning is basic. */
const BASIC: LicenseName[] = ['ThinProvisioning'];

export interface LicenseInfo {
  name: LicenseName;
  state: 'unlocked' | 'locked';
  unlocked?: string;
}

export class LicenseTable {
  private readonly unlocked = new Map<LicenseName, string>();

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS license (name TEXT PRIMARY KEY, unlocked TEXT NOT NULL)');
    for (const r of db.prepare('SELECT name, unlocked FROM license').all() as Array<{ name: LicenseName; unlocked: string }>)
      this.unlocked.set(r.name, r.unlocked);
    for (const b of BASIC) if (!this.unlocked.has(b)) this.unlock(b);
  }

  static parse(name: string): LicenseName {
    const found = LICENSES.find((l) => l.toLowerCase() === name.toLowerCase());
    if (!found) throw LICENCE_UNKNOWN({ name: JSON.stringify(name), licences: LICENSES.join(', ') });
    return found;
  }

  list(): LicenseInfo[] {
    return LICENSES.map((name) => {
      const at = this.unlocked.get(name);
      return at ? { name, state: 'unlocked', unlocked: at } : { name, state: 'locked' };
    });
  }

  unlock(name: LicenseName): void {
    if (this.unlocked.has(name)) return;
    const at = new Date().toISOString();
    this.db.prepare('INSERT INTO license (name, unlocked) VALUES (?, ?)').run(name, at);
    this.unlocked.set(name, at);
  }

  /** Refuses `what` unless at least one of `names` is unlocked (the SSV: VolumeClone or DynamicSnapVolume, VVM L239). */
  requireAny(names: LicenseName[], locked: ErrorDef<{ what: string; licences: string; last: string }>, what: string): void {
    if (names.some((n) => this.unlocked.has(n))) return;
    throw locked({ what, licences: names.join(' or '), last: names[names.length - 1] });
  }

  require(name: LicenseName, what: string): void {
    if (!this.unlocked.has(name)) {
      throw LICENCE_LOCKED({ what, name });
    }
  }
}
