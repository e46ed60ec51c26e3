// LUN conglomerates as the VVOL side of the array sees them: which LD is a
// protocol endpoint (the administrative LU) and which VVOL LDs are bound
// behind it as subsidiary LUs, for which hosts. The SCSI side (two-level LUNs,
// REPORT LUNS, unit attentions) implements the same interface in
// src/array/conglomerates/ (branch vvol-scsi); until it is composed in,
// ConglomerateLedger keeps the bookkeeping alone so that the provider, `ld show`
// and the REST API work, without subsidiary LUs on the wire.
export interface SubsidiaryBinding {
  vvolLd: number;
  /** Subsidiary LU id: the second level of the two-level LUN. */
  slu: number;
  hosts: string[];
}

export interface Conglomerates {
  markPe(ld: number): void;
  unmarkPe(ld: number): void;
  /**
   * Binds the VVOL LD behind the PE for a host; returns its subsidiary LU id (the
   * same for every host): the binding's own, else `slu` when given (the provider's
   * table numbers them), else the lowest free one.
   */
  bind(peLd: number, vvolLd: number, host: string, slu?: number): number;
  unbind(peLd: number, vvolLd: number, host: string): void;
  bindings(peLd: number): SubsidiaryBinding[];
}

/** Subsidiary LU ids: 1 to 16383 (14-bit flat space; 0 would be the PE itself). */
const MIN_SLU = 1;
const MAX_SLU = 0x3fff;

export class ConglomerateLedger implements Conglomerates {
  private readonly pes = new Map<number, Map<number, { slu: number; hosts: Set<string> }>>();

  markPe(ld: number): void {
    if (!this.pes.has(ld)) this.pes.set(ld, new Map());
  }

  unmarkPe(ld: number): void {
    this.pes.delete(ld);
  }

  bind(peLd: number, vvolLd: number, host: string, slu?: number): number {
    const pe = this.pes.get(peLd);
    if (!pe) throw new Error(`LD ${peLd} is not a protocol endpoint`);
    let b = pe.get(vvolLd);
    if (!b) {
      const used = new Set([...pe.values()].map((x) => x.slu));
      if (slu !== undefined && used.has(slu)) throw new Error(`subsidiary LU ${slu} of PE LD ${peLd} is taken`);
      let id = slu ?? MIN_SLU;
      while (used.has(id)) id++;
      if (id > MAX_SLU) throw new Error(`PE LD ${peLd} has no free subsidiary LU id`);
      b = { slu: id, hosts: new Set() };
      pe.set(vvolLd, b);
    }
    b.hosts.add(host);
    return b.slu;
  }

  unbind(peLd: number, vvolLd: number, host: string): void {
    const pe = this.pes.get(peLd);
    const b = pe?.get(vvolLd);
    if (!pe || !b || !b.hosts.delete(host)) throw new Error(`host ${host} has no binding of LD ${vvolLd} behind PE LD ${peLd}`);
    if (b.hosts.size === 0) pe.delete(vvolLd);
  }

  bindings(peLd: number): SubsidiaryBinding[] {
    const pe = this.pes.get(peLd);
    if (!pe) return [];
    return [...pe].map(([vvolLd, b]) => ({ vvolLd, slu: b.slu, hosts: [...b.hosts].sort() })).sort((a, b) => a.slu - b.slu);
  }
}
