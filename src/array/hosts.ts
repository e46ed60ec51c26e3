// Access control in the manner of the seed's LD sets: a host entry names the
// initiators (IQNs) of one host and the LUNs it may see, each LUN mapped to an
// LD. Until the first host entry exists every initiator sees every LD at
// LUN = LD number, so a new array (and its demo LD) is reachable at once.
import type Database from 'better-sqlite3';
import { KuraError } from '../errors.js';

export interface HostEntry {
  name: string;
  initiators: string[];
  /** LUN → LD number. */
  luns: Map<number, number>;
}

export const MAX_LUN = 16383;
const IQN_RE = /^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;

export class HostTable {
  private readonly db: Database.Database;
  private hosts = new Map<string, HostEntry>();

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS host (name TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS host_initiator (host TEXT NOT NULL, iqn TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS host_lun (host TEXT NOT NULL, lun INTEGER NOT NULL, ld_number INTEGER NOT NULL, PRIMARY KEY (host, lun));
    `);
    for (const r of db.prepare('SELECT name FROM host').all() as Array<{ name: string }>) this.hosts.set(r.name, { name: r.name, initiators: [], luns: new Map() });
    for (const r of db.prepare('SELECT host, iqn FROM host_initiator').all() as Array<{ host: string; iqn: string }>) this.hosts.get(r.host)?.initiators.push(r.iqn);
    for (const r of db.prepare('SELECT host, lun, ld_number FROM host_lun').all() as Array<{ host: string; lun: number; ld_number: number }>) this.hosts.get(r.host)?.luns.set(r.lun, r.ld_number);
  }

  get open(): boolean {
    return this.hosts.size === 0;
  }

  list(): HostEntry[] {
    return [...this.hosts.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): HostEntry {
    const h = this.hosts.get(name);
    if (!h) throw new KuraError('KURA-E2040', 'ENOENT', `Host ${name} does not exist.`, 'List hosts with kura host list.');
    return h;
  }

  /** The host an initiator belongs to, if any. */
  ofInitiator(iqn: string): HostEntry | undefined {
    for (const h of this.hosts.values()) if (h.initiators.includes(iqn)) return h;
    return undefined;
  }

  create(name: string, initiators: string[]): HostEntry {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      throw new KuraError('KURA-E2041', 'EINVAL', `Host name ${JSON.stringify(name)} is not valid.`, 'Use 1 to 64 letters, digits, "_", ".", ":" or "-".');
    }
    if (this.hosts.has(name)) throw new KuraError('KURA-E2042', 'EEXIST', `Host ${name} already exists.`, 'Choose another name or add initiators to it.');
    for (const i of initiators) this.validateInitiator(i);
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO host (name) VALUES (?)').run(name);
      for (const i of initiators) this.db.prepare('INSERT INTO host_initiator (host, iqn) VALUES (?, ?)').run(name, i);
    })();
    const h: HostEntry = { name, initiators: [...initiators], luns: new Map() };
    this.hosts.set(name, h);
    return h;
  }

  private validateInitiator(iqn: string): void {
    if (!IQN_RE.test(iqn)) {
      throw new KuraError('KURA-E2043', 'EINVAL', `${JSON.stringify(iqn)} is not an iSCSI name.`, 'Give an iqn., eui. or naa. name, e.g. iqn.1994-05.com.redhat:host1.');
    }
    const owner = this.ofInitiator(iqn);
    if (owner) throw new KuraError('KURA-E2044', 'EEXIST', `Initiator ${iqn} already belongs to host ${owner.name}.`, 'Remove it from that host first.');
  }

  addInitiator(name: string, iqn: string): HostEntry {
    const h = this.get(name);
    this.validateInitiator(iqn);
    this.db.prepare('INSERT INTO host_initiator (host, iqn) VALUES (?, ?)').run(name, iqn);
    h.initiators.push(iqn);
    return h;
  }

  removeInitiator(name: string, iqn: string): HostEntry {
    const h = this.get(name);
    if (!h.initiators.includes(iqn)) throw new KuraError('KURA-E2045', 'ENOENT', `Initiator ${iqn} is not part of host ${name}.`, 'Check kura host list.');
    this.db.prepare('DELETE FROM host_initiator WHERE host = ? AND iqn = ?').run(name, iqn);
    h.initiators = h.initiators.filter((i) => i !== iqn);
    return h;
  }

  map(name: string, lun: number, ldNumber: number): HostEntry {
    const h = this.get(name);
    if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
      throw new KuraError('KURA-E2046', 'EINVAL', `LUN ${lun} is out of range.`, `Give a LUN from 0 to ${MAX_LUN}.`);
    }
    if (h.luns.has(lun)) throw new KuraError('KURA-E2047', 'EEXIST', `LUN ${lun} of host ${name} is already mapped.`, 'Unmap it first or choose another LUN.');
    for (const [l, n] of h.luns) if (n === ldNumber) throw new KuraError('KURA-E2048', 'EEXIST', `The LD is already mapped to host ${name} as LUN ${l}.`, 'An LD appears once per host.');
    this.db.prepare('INSERT INTO host_lun (host, lun, ld_number) VALUES (?, ?, ?)').run(name, lun, ldNumber);
    h.luns.set(lun, ldNumber);
    return h;
  }

  unmap(name: string, lun: number): HostEntry {
    const h = this.get(name);
    if (!h.luns.has(lun)) throw new KuraError('KURA-E2049', 'ENOENT', `LUN ${lun} of host ${name} is not mapped.`, 'Check kura host list.');
    this.db.prepare('DELETE FROM host_lun WHERE host = ? AND lun = ?').run(name, lun);
    h.luns.delete(lun);
    return h;
  }

  /** Removes every mapping of an LD (it is being deleted). */
  unmapLd(ldNumber: number): void {
    this.db.prepare('DELETE FROM host_lun WHERE ld_number = ?').run(ldNumber);
    for (const h of this.hosts.values()) for (const [l, n] of [...h.luns]) if (n === ldNumber) h.luns.delete(l);
  }

  delete(name: string): void {
    this.get(name);
    this.db.transaction(() => {
      for (const t of ['host_lun', 'host_initiator']) this.db.prepare(`DELETE FROM ${t} WHERE host = ?`).run(name);
      this.db.prepare('DELETE FROM host WHERE name = ?').run(name);
    })();
    this.hosts.delete(name);
  }
}
