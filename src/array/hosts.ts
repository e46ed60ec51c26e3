// Access control in the manner of the seed's LD sets: a host entry names the
// initiators (IQNs) of one host and the LUNs it may see, each LUN mapped to an
// LD. Until the first host entry exists every initiator sees every LD at
// LUN = LD number, so a new array (and its demo LD) is reachable at once.
import type Database from 'better-sqlite3';
import { KuraError } from '../errors.js';
import { HOST_NAME_MAX, checkName, iscsiNameProblem } from '../names.js';

export interface HostEntry {
  name: string;
  initiators: string[];
  /** LUN → LD number. */
  luns: Map<number, number>;
  /** CHAP credentials the host's initiators log in with (one-way CHAP), if required. */
  chap?: ChapCredentials;
}

export interface ChapCredentials {
  user: string;
  secret: string;
}

/** RFC 7143 asks for secrets of at least 12 bytes (96 bits) when CHAP crosses a network; Windows and ESXi enforce 12 to 16. */
const MIN_SECRET = 12;
const MAX_SECRET = 255;

/** Checks CHAP credentials given by a user (host entries and the target's mutual CHAP). */
export function validateChap(user: string, secret: string): ChapCredentials {
  if (typeof user !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(user)) {
    throw new KuraError('KURA-E2100', 'EINVAL', 'The CHAP user name is empty, too long or holds spaces or control characters.', 'Give 1 to 255 printable characters without spaces.');
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET || secret.length > MAX_SECRET || !/^[\x20-\x7e]+$/.test(secret)) {
    throw new KuraError('KURA-E2101', 'EINVAL', `The CHAP secret must be ${MIN_SECRET} to ${MAX_SECRET} printable characters.`, 'Choose a longer secret; initiators such as Windows and ESXi accept 12 to 16 characters.');
  }
  return { user, secret };
}

export const MAX_LUN = 16383;

export class HostTable {
  private readonly db: Database.Database;
  private hosts = new Map<string, HostEntry>();

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS host (name TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS host_initiator (host TEXT NOT NULL, iqn TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS host_lun (host TEXT NOT NULL, lun INTEGER NOT NULL, ld_number INTEGER NOT NULL, PRIMARY KEY (host, lun));
      CREATE TABLE IF NOT EXISTS host_chap (host TEXT PRIMARY KEY, user TEXT NOT NULL, secret TEXT NOT NULL);
    `);
    for (const r of db.prepare('SELECT name FROM host').all() as Array<{ name: string }>) this.hosts.set(r.name, { name: r.name, initiators: [], luns: new Map() });
    for (const r of db.prepare('SELECT host, iqn FROM host_initiator').all() as Array<{ host: string; iqn: string }>) this.hosts.get(r.host)?.initiators.push(r.iqn);
    for (const r of db.prepare('SELECT host, lun, ld_number FROM host_lun').all() as Array<{ host: string; lun: number; ld_number: number }>) this.hosts.get(r.host)?.luns.set(r.lun, r.ld_number);
    for (const r of db.prepare('SELECT host, user, secret FROM host_chap').all() as Array<{ host: string; user: string; secret: string }>) {
      const h = this.hosts.get(r.host);
      if (h) h.chap = { user: r.user, secret: r.secret };
    }
  }

  setChap(name: string, user: string, secret: string): HostEntry {
    const h = this.get(name);
    const c = validateChap(user, secret);
    this.db.prepare('INSERT INTO host_chap (host, user, secret) VALUES (?, ?, ?) ON CONFLICT(host) DO UPDATE SET user = excluded.user, secret = excluded.secret').run(name, c.user, c.secret);
    h.chap = c;
    return h;
  }

  clearChap(name: string): HostEntry {
    const h = this.get(name);
    if (!h.chap) throw new KuraError('KURA-E2102', 'ENOENT', `Host ${name} has no CHAP credentials.`, 'Nothing to clear; kura host list shows which hosts use CHAP.');
    this.db.prepare('DELETE FROM host_chap WHERE host = ?').run(name);
    delete h.chap;
    return h;
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
    checkName('Host', name, 'KURA-E2041', HOST_NAME_MAX);
    if (this.hosts.has(name)) throw new KuraError('KURA-E2042', 'EEXIST', `Host ${name} already exists.`, 'Choose another name or add initiators to it.');
    for (const i of initiators) this.validateInitiator(i);
    // An initiator belongs to one host once; a repeat would fail the table's UNIQUE constraint half-way.
    const twice = initiators.find((i, n) => initiators.indexOf(i) !== n);
    if (twice !== undefined) throw new KuraError('KURA-E4037', 'EINVAL', `Initiator ${twice} is given twice for host ${name}.`, 'Give each initiator once.');
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO host (name) VALUES (?)').run(name);
      for (const i of initiators) this.db.prepare('INSERT INTO host_initiator (host, iqn) VALUES (?, ?)').run(name, i);
    })();
    const h: HostEntry = { name, initiators: [...initiators], luns: new Map() };
    this.hosts.set(name, h);
    return h;
  }

  private validateInitiator(iqn: string): void {
    const why = iscsiNameProblem(iqn);
    if (why !== undefined) {
      throw new KuraError('KURA-E2043', 'EINVAL', `${JSON.stringify(iqn)?.slice(0, 80)} is not an iSCSI name: ${why}.`, 'Give an iqn., eui. or naa. name, e.g. iqn.1994-05.com.redhat:host1.');
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
      for (const t of ['host_lun', 'host_initiator', 'host_chap']) this.db.prepare(`DELETE FROM ${t} WHERE host = ?`).run(name);
      this.db.prepare('DELETE FROM host WHERE name = ?').run(name);
    })();
    this.hosts.delete(name);
  }
}
