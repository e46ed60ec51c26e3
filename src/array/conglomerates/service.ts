// LUN conglomerates (SAM-5 4.6.x) for VVOLs: a protocol endpoint (PE) LD is the
// administrative LU; a VVOL LD bound behind it is a subsidiary LU with an id of
// 1..16383, the second level of the two-level LUN hosts address it by. A binding
// (PE, VVOL) has one subsidiary LU id whatever the host, and lists the hosts it
// is bound for; a host reaches the subsidiary LU only while it is in that list.
// The VVOL provider counts binds per host (src/vvol/bindings.ts); here a host is
// in or out. State lives in the array's SQLite metadata and survives a restart.
import type Database from 'better-sqlite3';
import {
  CONG_HOST_NOT_FOUND,
  CONG_LD_NOT_FOUND,
  CONG_NOT_A_PE,
  CONG_NOT_BOUND,
  CONG_NO_FREE_SLU,
  CONG_OTHER_SLU,
  CONG_SLU_RANGE,
  CONG_SLU_TAKEN,
  CONG_VVOL_IS_PE,
} from '../../catalogue/conglomerates.js';
import type { ConglomerateRole } from '../../scsi/types.js';

/** Subsidiary LU ids: 14 bits, 0 being the administrative LU itself. */
export const MIN_SLU = 1;
export const MAX_SLU = 0x3fff;

export interface SubsidiaryBinding {
  vvolLd: number;
  /** Subsidiary LU id: the second level of the two-level LUN. */
  slu: number;
  hosts: string[];
}

export interface ConglomerateDeps {
  db: Database.Database;
  /** The array's WWN (16 hex digits): PE and VVOL designators are made from it as the VVOL provider shows the ids (VVM L814-L828). */
  wwn: string;
  ldExists(ld: number): boolean;
  hostExists(host: string): boolean;
  /** After a bind or unbind: the host whose view of the PE's conglomerate changed. */
  changed(peLd: number, host: string): void;
}

interface Binding {
  slu: number;
  hosts: Set<string>;
}

export class ConglomerateService {
  /** PE LD number → VVOL LD number → binding. */
  private readonly pes = new Map<number, Map<number, Binding>>();

  constructor(private readonly deps: ConglomerateDeps) {
    const { db } = deps;
    db.exec(`
      CREATE TABLE IF NOT EXISTS conglomerate_pe (ld_number INTEGER PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS conglomerate_binding (pe INTEGER NOT NULL, vvol INTEGER NOT NULL, slu INTEGER NOT NULL, host TEXT NOT NULL, PRIMARY KEY (pe, vvol, host));
    `);
    for (const r of db.prepare('SELECT ld_number FROM conglomerate_pe').all() as Array<{ ld_number: number }>) this.pes.set(r.ld_number, new Map());
    for (const r of db.prepare('SELECT pe, vvol, slu, host FROM conglomerate_binding').all() as Array<{
      pe: number;
      vvol: number;
      slu: number;
      host: string;
    }>) {
      const pe = this.pes.get(r.pe);
      if (!pe) continue;
      let b = pe.get(r.vvol);
      if (!b) pe.set(r.vvol, (b = { slu: r.slu, hosts: new Set() }));
      b.hosts.add(r.host);
    }
  }

  /** Makes the LD a protocol endpoint: the administrative LU of a conglomerate. Idempotent. */
  markPe(ld: number): void {
    if (this.pes.has(ld)) return;
    if (!this.deps.ldExists(ld)) throw CONG_LD_NOT_FOUND({ ld });
    this.deps.db.prepare('INSERT OR IGNORE INTO conglomerate_pe (ld_number) VALUES (?)').run(ld);
    this.pes.set(ld, new Map());
  }

  /** The LD is a PE no more (it is being deleted); its bindings go with it and their hosts are told. */
  unmarkPe(ld: number): void {
    const pe = this.pes.get(ld);
    if (!pe) return;
    this.deps.db.transaction(() => {
      this.deps.db.prepare('DELETE FROM conglomerate_binding WHERE pe = ?').run(ld);
      this.deps.db.prepare('DELETE FROM conglomerate_pe WHERE ld_number = ?').run(ld);
    })();
    this.pes.delete(ld);
    for (const host of new Set([...pe.values()].flatMap((b) => [...b.hosts]))) this.deps.changed(ld, host);
  }

  isPe(ld: number): boolean {
    return this.pes.has(ld);
  }

  /** PE LD numbers, ascending. */
  listPes(): number[] {
    return [...this.pes.keys()].sort((a, b) => a - b);
  }

  private pe(peLd: number): Map<number, Binding> {
    const pe = this.pes.get(peLd);
    if (!pe) throw CONG_NOT_A_PE({ ld: peLd });
    return pe;
  }

  /**
   * Binds the VVOL LD behind the PE for a host and returns its subsidiary LU id:
   * the id the binding already has, else `slu` when given, else the lowest free one.
   */
  bind(peLd: number, vvolLd: number, host: string, slu?: number): number {
    const pe = this.pe(peLd);
    if (this.pes.has(vvolLd)) throw CONG_VVOL_IS_PE({ ld: vvolLd });
    if (!this.deps.ldExists(vvolLd)) throw CONG_LD_NOT_FOUND({ ld: vvolLd });
    if (!this.deps.hostExists(host)) throw CONG_HOST_NOT_FOUND({ host });
    if (slu !== undefined && (!Number.isInteger(slu) || slu < MIN_SLU || slu > MAX_SLU)) throw CONG_SLU_RANGE({ slu: String(slu), max: MAX_SLU });
    let b = pe.get(vvolLd);
    if (b && slu !== undefined && b.slu !== slu) throw CONG_OTHER_SLU({ pe: peLd, vvol: vvolLd, slu: b.slu, want: slu });
    if (!b) {
      const used = new Map([...pe].map(([v, x]) => [x.slu, v]));
      let id = slu ?? MIN_SLU;
      if (slu !== undefined && used.has(slu)) throw CONG_SLU_TAKEN({ pe: peLd, slu, other: used.get(slu)!, vvol: vvolLd });
      while (used.has(id)) id++;
      if (id > MAX_SLU) throw CONG_NO_FREE_SLU({ pe: peLd, max: MAX_SLU });
      b = { slu: id, hosts: new Set() };
    }
    if (!b.hosts.has(host)) {
      this.deps.db.prepare('INSERT INTO conglomerate_binding (pe, vvol, slu, host) VALUES (?, ?, ?, ?)').run(peLd, vvolLd, b.slu, host);
      b.hosts.add(host);
      pe.set(vvolLd, b);
      this.deps.changed(peLd, host);
    }
    return b.slu;
  }

  /** Unbinds the VVOL LD for one host; the binding and its id go when no host holds it. */
  unbind(peLd: number, vvolLd: number, host: string): void {
    const pe = this.pe(peLd);
    const b = pe.get(vvolLd);
    if (!b || !b.hosts.has(host)) throw CONG_NOT_BOUND({ pe: peLd, vvol: vvolLd, host });
    this.deps.db.prepare('DELETE FROM conglomerate_binding WHERE pe = ? AND vvol = ? AND host = ?').run(peLd, vvolLd, host);
    b.hosts.delete(host);
    if (b.hosts.size === 0) pe.delete(vvolLd);
    this.deps.changed(peLd, host);
  }

  /** The PE's bindings, by subsidiary LU id. */
  bindings(peLd: number): SubsidiaryBinding[] {
    const pe = this.pes.get(peLd);
    if (!pe) return [];
    return [...pe].map(([vvolLd, b]) => ({ vvolLd, slu: b.slu, hosts: [...b.hosts].sort() })).sort((a, b) => a.slu - b.slu);
  }

  /** An LD is gone: a PE stops being one, a VVOL's bindings end (hosts are told). */
  forgetLd(ld: number): void {
    this.unmarkPe(ld);
    for (const [peLd, pe] of this.pes) {
      const b = pe.get(ld);
      if (!b) continue;
      for (const host of [...b.hosts]) this.unbind(peLd, ld, host);
    }
  }

  /** Forgets every LD that no longer exists, so that a later LD given the same number is not taken for it. */
  prune(): void {
    const numbers = new Set([...this.pes.keys(), ...[...this.pes.values()].flatMap((pe) => [...pe.keys()])]);
    for (const n of numbers) if (!this.deps.ldExists(n)) this.forgetLd(n);
  }

  // ---- what the front ends ask ----

  /** The VVOL LD a host reaches as subsidiary LU `slu` of the PE, if it is bound for that host. */
  resolve(peLd: number, slu: number, host: string | undefined): number | undefined {
    if (host === undefined) return undefined;
    for (const [vvolLd, b] of this.pes.get(peLd) ?? []) if (b.slu === slu) return b.hosts.has(host) ? vvolLd : undefined;
    return undefined;
  }

  /** Subsidiary LU ids bound for the host behind the PE, ascending. */
  boundFor(peLd: number, host: string | undefined): number[] {
    if (host === undefined) return [];
    return [...(this.pes.get(peLd)?.values() ?? [])]
      .filter((b) => b.hosts.has(host))
      .map((b) => b.slu)
      .sort((a, b) => a - b);
  }

  /** The PE a bound VVOL LD sits behind (the lowest-numbered one when several), if any. */
  adminOf(vvolLd: number): number | undefined {
    for (const peLd of this.listPes()) if (this.pes.get(peLd)!.has(vvolLd)) return peLd;
    return undefined;
  }

  /** The LD's part in a conglomerate, with the designator INQUIRY shows for it. */
  role(ld: number): ConglomerateRole | undefined {
    if (this.pes.has(ld)) return { role: 'administrative', eui: peEui(this.deps.wwn, ld) };
    if (this.adminOf(ld) !== undefined) return { role: 'subsidiary', naa: vvolNaa(this.deps.wwn, ld) };
    return undefined;
  }
}

const hex4 = (n: number): string => (n & 0xffff).toString(16).padStart(4, '0');

/** A PE's EUI-64: the WWN's last 12 digits and the LD number (VVM L826-L828; the provider's eui.… id). */
export function peEui(wwn: string, ld: number): string {
  return `${wwn.slice(-12)}${hex4(ld)}`;
}

/** A VVOL's NAA 6 designator: 6, WWN digits 5-10, nine zeros, the last 12 digits, the LD number (VVM L814-L818; the provider's naa.… id). */
export function vvolNaa(wwn: string, ld: number): string {
  return `6${wwn.slice(4, 10)}000000000${wwn.slice(-12)}${hex4(ld)}`;
}
