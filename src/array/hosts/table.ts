// Access control in the manner of the seed's LD sets: a host entry names the
// initiators (IQNs) of one host and the LUNs it may see, each LUN mapped to an
// LD. A new array has access control off: every initiator sees every LD at
// LUN = LD number, so the array (and its demo LD) is reachable at once. The
// first host entry turns it on, and it stays on (also with no host entry left,
// when no initiator sees anything) until an operator stops it explicitly:
// deleting hosts must never open the array to everyone.
// NBD follows the same model: a host's pre-shared key identifies its NBD
// clients (TLS-PSK, identity = host name), and LDs the operator opens to
// unidentified NBD clients are listed here too.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { scrubWal } from '../../block/meta-store.js';
import { HOST_NAME_MAX, checkName, iscsiNameProblem } from '../../names.js';
import {
  ACCESS_STOP_NEEDS_FORCE,
  HOST_NAME_INVALID,
  CHAP_SECRET_LENGTH,
  CHAP_USER_INVALID,
  HOST_EXISTS,
  HOST_HAS_NO_CHAP,
  HOST_NOT_FOUND,
  HOST_SECRET_IS_MUTUAL_SECRET,
  INITIATOR_NOT_IN_HOST,
  INITIATOR_TAKEN,
  LD_MAPPED_TO_HOST,
  LUN_MAPPED,
  LUN_NOT_MAPPED,
  LUN_RANGE,
  NOT_ISCSI_NAME,
} from '../../catalogue/array.js';
import { HOST_HAS_NO_PSK, PSK_LENGTH, PSK_NOT_HEX, PSK_USED_BY_HOST } from '../../catalogue/protocols.js';
import { INITIATOR_GIVEN_TWICE } from '../../catalogue/manager.js';

export interface HostEntry {
  name: string;
  initiators: string[];
  /** LUN → LD number. */
  luns: Map<number, number>;
  /** CHAP credentials the host's initiators log in with (one-way CHAP), if required. */
  chap?: ChapCredentials;
  /** The TLS pre-shared key its NBD clients identify with (identity: the host name), if set. */
  nbdPsk?: Buffer;
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
    throw CHAP_USER_INVALID();
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET || secret.length > MAX_SECRET || !/^[\x20-\x7e]+$/.test(secret)) {
    throw CHAP_SECRET_LENGTH({ minSecret: MIN_SECRET, maxSecret: MAX_SECRET });
  }
  return { user, secret };
}

/** NBD pre-shared keys: psktool makes 32 bytes; below 16 is guessable, OpenSSL takes at most 256. */
const MIN_PSK = 16;
const MAX_PSK = 256;

/** Checks a key given as hex (the PSK file and API spelling). */
export function validateNbdPsk(hex: unknown): Buffer {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
    throw PSK_NOT_HEX();
  }
  const key = Buffer.from(hex, 'hex');
  if (key.length < MIN_PSK || key.length > MAX_PSK) {
    throw PSK_LENGTH({ length: key.length, minPsk: MIN_PSK, maxPsk: MAX_PSK });
  }
  return key;
}

export const MAX_LUN = 16383;

export class HostTable {
  private readonly db: Database.Database;
  private hosts = new Map<string, HostEntry>();
  /** LDs (by number) unidentified NBD clients may list and open while access control is on. */
  private readonly nbdPlain = new Set<number>();
  /** Access control on: host entries decide what each initiator sees (persisted in access_control). */
  private enabled: boolean;

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS host (name TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS host_initiator (host TEXT NOT NULL, iqn TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS host_lun (host TEXT NOT NULL, lun INTEGER NOT NULL, ld_number INTEGER NOT NULL, PRIMARY KEY (host, lun));
      CREATE TABLE IF NOT EXISTS host_chap (host TEXT PRIMARY KEY, user TEXT NOT NULL, secret TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS host_nbd_psk (host TEXT PRIMARY KEY, key TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS nbd_plain (ld_number INTEGER PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS access_control (id INTEGER PRIMARY KEY CHECK (id = 1), enabled INTEGER NOT NULL);
    `);
    for (const r of db.prepare('SELECT name FROM host').all() as Array<{ name: string }>)
      this.hosts.set(r.name, { name: r.name, initiators: [], luns: new Map() });
    for (const r of db.prepare('SELECT host, iqn FROM host_initiator').all() as Array<{ host: string; iqn: string }>)
      this.hosts.get(r.host)?.initiators.push(r.iqn);
    for (const r of db.prepare('SELECT host, lun, ld_number FROM host_lun').all() as Array<{ host: string; lun: number; ld_number: number }>)
      this.hosts.get(r.host)?.luns.set(r.lun, r.ld_number);
    for (const r of db.prepare('SELECT host, user, secret FROM host_chap').all() as Array<{ host: string; user: string; secret: string }>) {
      const h = this.hosts.get(r.host);
      if (h) h.chap = { user: r.user, secret: r.secret };
    }
    for (const r of db.prepare('SELECT host, key FROM host_nbd_psk').all() as Array<{ host: string; key: string }>) {
      const h = this.hosts.get(r.host);
      if (h) h.nbdPsk = Buffer.from(r.key, 'hex');
    }
    for (const r of db.prepare('SELECT ld_number FROM nbd_plain').all() as Array<{ ld_number: number }>) this.nbdPlain.add(r.ld_number);
    const row = db.prepare('SELECT enabled FROM access_control WHERE id = 1').get() as { enabled: number } | undefined;
    // Data directories from before the explicit state: on exactly when host entries exist.
    this.enabled = row ? row.enabled === 1 : this.hosts.size > 0;
    if (!row) this.saveEnabled();
  }

  /**
   * Whether access control is on: host entries decide who sees which LD (iSCSI
   * and NBD). Today it is on once any host entry exists; every front end asks
   * this one function, so an explicit start/stop replaces only its body.
   */
  accessControlOn(): boolean {
    return this.enabled;
  }

  setNbdPsk(name: string, key: Buffer): HostEntry {
    const h = this.get(name);
    // A key another host holds would let either pose as the other (the identity is only a name).
    for (const o of this.hosts.values()) {
      if (o !== h && o.nbdPsk && o.nbdPsk.length === key.length && crypto.timingSafeEqual(o.nbdPsk, key)) {
        throw PSK_USED_BY_HOST({ name: o.name });
      }
    }
    const replaced = h.nbdPsk !== undefined && !h.nbdPsk.equals(key);
    this.db.prepare('INSERT INTO host_nbd_psk (host, key) VALUES (?, ?) ON CONFLICT(host) DO UPDATE SET key = excluded.key').run(name, key.toString('hex'));
    h.nbdPsk = Buffer.from(key);
    // Like CHAP secrets: an old key must not stay readable in the WAL.
    if (replaced) scrubWal(this.db);
    return h;
  }

  clearNbdPsk(name: string): HostEntry {
    const h = this.get(name);
    if (!h.nbdPsk) throw HOST_HAS_NO_PSK({ name });
    this.db.prepare('DELETE FROM host_nbd_psk WHERE host = ?').run(name);
    delete h.nbdPsk;
    scrubWal(this.db);
    return h;
  }

  /** The host an NBD TLS-PSK identity names, if it has a key. */
  ofNbdIdentity(identity: string): HostEntry | undefined {
    const h = this.hosts.get(identity);
    return h?.nbdPsk ? h : undefined;
  }

  isNbdPlain(ldNumber: number): boolean {
    return this.nbdPlain.has(ldNumber);
  }

  setNbdPlain(ldNumber: number, on: boolean): void {
    if (on) this.db.prepare('INSERT OR IGNORE INTO nbd_plain (ld_number) VALUES (?)').run(ldNumber);
    else this.db.prepare('DELETE FROM nbd_plain WHERE ld_number = ?').run(ldNumber);
    if (on) this.nbdPlain.add(ldNumber);
    else this.nbdPlain.delete(ldNumber);
  }

  nbdPlainCount(): number {
    return this.nbdPlain.size;
  }

  private saveEnabled(): void {
    this.db
      .prepare('INSERT INTO access_control (id, enabled) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled')
      .run(this.enabled ? 1 : 0);
  }

  /** Whether access control is on (host entries decide who sees what). */
  get accessControl(): boolean {
    return this.enabled;
  }

  /** Turns access control on or off; returns whether it changed. Stopping needs `force` (everyone then sees every LD). */
  setAccessControl(on: boolean, force = false): boolean {
    if (on === this.enabled) return false;
    if (!on && !force) {
      throw ACCESS_STOP_NEEDS_FORCE({
        ignoring: this.hosts.size > 0 ? `, ignoring the ${this.hosts.size} host entr${this.hosts.size === 1 ? 'y' : 'ies'}` : '',
      });
    }
    this.enabled = on;
    this.saveEnabled();
    return true;
  }

  /** The host whose CHAP secret this is, if any (one secret must not serve both directions). */
  hostWithSecret(secret: string): string | undefined {
    for (const h of this.hosts.values()) if (h.chap?.secret === secret) return h.name;
    return undefined;
  }

  /** Sets a host's CHAP credentials; `targetSecret` is the target's mutual CHAP secret, which this one must differ from. */
  setChap(name: string, user: string, secret: string, targetSecret?: string): HostEntry {
    const h = this.get(name);
    const c = validateChap(user, secret);
    if (targetSecret !== undefined && c.secret === targetSecret) {
      throw HOST_SECRET_IS_MUTUAL_SECRET({ name });
    }
    const replaced = h.chap !== undefined && h.chap.secret !== c.secret;
    this.db
      .prepare('INSERT INTO host_chap (host, user, secret) VALUES (?, ?, ?) ON CONFLICT(host) DO UPDATE SET user = excluded.user, secret = excluded.secret')
      .run(name, c.user, c.secret);
    h.chap = c;
    if (replaced) scrubWal(this.db);
    return h;
  }

  clearChap(name: string): HostEntry {
    const h = this.get(name);
    if (!h.chap) throw HOST_HAS_NO_CHAP({ name });
    this.db.prepare('DELETE FROM host_chap WHERE host = ?').run(name);
    delete h.chap;
    scrubWal(this.db);
    return h;
  }

  /** True while access control is off: every initiator sees every LD. */
  get open(): boolean {
    return !this.enabled;
  }

  get size(): number {
    return this.hosts.size;
  }

  list(): HostEntry[] {
    return [...this.hosts.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): HostEntry {
    const h = this.hosts.get(name);
    if (!h) throw HOST_NOT_FOUND({ name });
    return h;
  }

  /** The host an initiator belongs to, if any. */
  ofInitiator(iqn: string): HostEntry | undefined {
    for (const h of this.hosts.values()) if (h.initiators.includes(iqn)) return h;
    return undefined;
  }

  create(name: string, initiators: string[]): HostEntry {
    checkName('Host', name, HOST_NAME_INVALID, HOST_NAME_MAX);
    if (this.hosts.has(name)) throw HOST_EXISTS({ name });
    for (const i of initiators) this.validateInitiator(i);
    // An initiator belongs to one host once; a repeat would fail the table's UNIQUE constraint half-way.
    const twice = initiators.find((i, n) => initiators.indexOf(i) !== n);
    if (twice !== undefined) throw INITIATOR_GIVEN_TWICE({ twice, name });
    // A host entry means the operator wants access control: it starts with the entry.
    const starts = !this.enabled;
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO host (name) VALUES (?)').run(name);
      for (const i of initiators) this.db.prepare('INSERT INTO host_initiator (host, iqn) VALUES (?, ?)').run(name, i);
      if (starts) this.db.prepare('INSERT INTO access_control (id, enabled) VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET enabled = 1').run();
    })();
    this.enabled = true;
    const h: HostEntry = { name, initiators: [...initiators], luns: new Map() };
    this.hosts.set(name, h);
    return h;
  }

  private validateInitiator(iqn: string): void {
    const why = iscsiNameProblem(iqn);
    if (why !== undefined) {
      throw NOT_ISCSI_NAME({ name: JSON.stringify(iqn)?.slice(0, 80), why });
    }
    const owner = this.ofInitiator(iqn);
    if (owner) throw INITIATOR_TAKEN({ iqn, owner: owner.name });
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
    if (!h.initiators.includes(iqn)) throw INITIATOR_NOT_IN_HOST({ iqn, name });
    this.db.prepare('DELETE FROM host_initiator WHERE host = ? AND iqn = ?').run(name, iqn);
    h.initiators = h.initiators.filter((i) => i !== iqn);
    return h;
  }

  map(name: string, lun: number, ldNumber: number): HostEntry {
    const h = this.get(name);
    if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
      throw LUN_RANGE({ lun, maxLun: MAX_LUN });
    }
    if (h.luns.has(lun)) throw LUN_MAPPED({ lun, name });
    for (const [l, n] of h.luns) if (n === ldNumber) throw LD_MAPPED_TO_HOST({ name, l });
    this.db.prepare('INSERT INTO host_lun (host, lun, ld_number) VALUES (?, ?, ?)').run(name, lun, ldNumber);
    h.luns.set(lun, ldNumber);
    return h;
  }

  unmap(name: string, lun: number): HostEntry {
    const h = this.get(name);
    if (!h.luns.has(lun)) throw LUN_NOT_MAPPED({ lun, name });
    this.db.prepare('DELETE FROM host_lun WHERE host = ? AND lun = ?').run(name, lun);
    h.luns.delete(lun);
    return h;
  }

  /** Removes every mapping of an LD (it is being deleted), its plain NBD access too. */
  unmapLd(ldNumber: number): void {
    this.setNbdPlain(ldNumber, false);
    this.db.prepare('DELETE FROM host_lun WHERE ld_number = ?').run(ldNumber);
    for (const h of this.hosts.values()) for (const [l, n] of [...h.luns]) if (n === ldNumber) h.luns.delete(l);
  }

  /** Deletes a host entry; access control stays as it is (on), also when this was the last entry. */
  delete(name: string): void {
    const h = this.get(name);
    this.db.transaction(() => {
      for (const t of ['host_lun', 'host_initiator', 'host_chap', 'host_nbd_psk']) this.db.prepare(`DELETE FROM ${t} WHERE host = ?`).run(name);
      this.db.prepare('DELETE FROM host WHERE name = ?').run(name);
    })();
    this.hosts.delete(name);
    if (h.chap || h.nbdPsk) scrubWal(this.db);
  }
}
