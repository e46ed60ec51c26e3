// The binding table: which VVOL is bound through which PE, at which subsidiary
// LU id, for which hosts, how many times. Bindings are many-to-many (a VVOL may
// be bound through several PEs, a PE carries many VVOLs) and reference counted
// per host: every bind by a host adds one, every unbind by it takes one away;
// the host loses sight of the subsidiary LU when its count reaches 0, and the
// binding (with its subsidiary LU id) is destroyed when no host holds it
// (vasa-summary.md "Bind semantics"). Pure bookkeeping: the provider makes
// the array follow it (map/unmap the subsidiary LU per host).
import { MAX_SLU, MIN_SLU } from './limits.js';

export interface Binding {
  vvol: string;
  /** LD number of the PE (the conglomerate's administrative LU). */
  pe: number;
  /** Subsidiary LU id: the second level of the two-level LUN. */
  slu: number;
  /** Host name → bind count (always ≥ 1). */
  hosts: Map<string, number>;
}

/** One row per (binding, host): how the store keeps it. */
export interface BindingRow {
  vvol: string;
  pe: number;
  slu: number;
  host: string;
  count: number;
}

/** What a bind changed: the host newly sees the subsidiary LU, and whether the binding is new. */
export interface BindChange {
  binding: Binding;
  hostAdded: boolean;
  created: boolean;
}

export interface UnbindChange {
  binding: Binding;
  hostRemoved: boolean;
  destroyed: boolean;
}

const key = (vvol: string, pe: number): string => `${pe}|${vvol}`;

export class BindingTable {
  private readonly byKey = new Map<string, Binding>();

  static fromRows(rows: BindingRow[]): BindingTable {
    const t = new BindingTable();
    for (const r of rows) {
      let b = t.byKey.get(key(r.vvol, r.pe));
      if (!b) {
        b = { vvol: r.vvol, pe: r.pe, slu: r.slu, hosts: new Map() };
        t.byKey.set(key(r.vvol, r.pe), b);
      }
      if (r.count > 0) b.hosts.set(r.host, r.count);
    }
    return t;
  }

  rows(b: Binding): BindingRow[] {
    return [...b.hosts].map(([host, count]) => ({ vvol: b.vvol, pe: b.pe, slu: b.slu, host, count }));
  }

  all(): Binding[] {
    return [...this.byKey.values()];
  }

  ofVvol(vvol: string): Binding[] {
    return this.all().filter((b) => b.vvol === vvol);
  }

  ofPe(pe: number): Binding[] {
    return this.all().filter((b) => b.pe === pe);
  }

  get(vvol: string, pe: number): Binding | undefined {
    return this.byKey.get(key(vvol, pe));
  }

  /** The binding through which `host` holds `vvol`, if any. */
  forHost(vvol: string, host: string): Binding | undefined {
    return this.ofVvol(vvol).find((b) => b.hosts.has(host));
  }

  isBound(vvol: string): boolean {
    return this.ofVvol(vvol).length > 0;
  }

  /** The lowest subsidiary LU id not used on the PE, or undefined when all are. */
  freeSlu(pe: number): number | undefined {
    const used = new Set(this.ofPe(pe).map((b) => b.slu));
    for (let s = MIN_SLU; s <= MAX_SLU; s++) if (!used.has(s)) return s;
    return undefined;
  }

  /** Adds one reference of `host` to the binding of `vvol` through `pe`, making it at `slu` when new. */
  bind(vvol: string, pe: number, host: string, slu: number): BindChange {
    let b = this.byKey.get(key(vvol, pe));
    const created = b === undefined;
    if (!b) {
      b = { vvol, pe, slu, hosts: new Map() };
      this.byKey.set(key(vvol, pe), b);
    }
    const before = b.hosts.get(host) ?? 0;
    b.hosts.set(host, before + 1);
    return { binding: b, hostAdded: before === 0, created };
  }

  /** Takes one reference of `host` away (all of them with `all`). */
  unbind(b: Binding, host: string, all = false): UnbindChange {
    const before = b.hosts.get(host) ?? 0;
    const after = all ? 0 : Math.max(0, before - 1);
    if (after === 0) b.hosts.delete(host);
    else b.hosts.set(host, after);
    const destroyed = b.hosts.size === 0;
    if (destroyed) this.byKey.delete(key(b.vvol, b.pe));
    return { binding: b, hostRemoved: before > 0 && after === 0, destroyed };
  }

  /** Undoes a bind whose array step failed. */
  undoBind(change: BindChange, host: string): void {
    this.unbind(change.binding, host);
  }

  /** Puts back a reference an unbind took when its array step failed. */
  undoUnbind(change: UnbindChange, host: string, count: number): void {
    const b = change.binding;
    if (change.destroyed) this.byKey.set(key(b.vvol, b.pe), b);
    b.hosts.set(host, count);
  }
}
