// LUN conglomerates as the VVOL side of the array sees them: which LD is a
// protocol endpoint (the administrative LU) and which VVOL LDs are bound
// behind it as subsidiary LUs, for which hosts. The SCSI side (two-level LUNs,
// REPORT LUNS, unit attentions, persisted bindings) implements it in
// src/array/conglomerates/service.ts.
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
