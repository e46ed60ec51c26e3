// A map page: one second-level block of a thin LD's chunk map. Pages are
// refcounted so that snapshots and clones can share whole pages and copy one
// only when it is about to change (copy-on-write of metadata).

/** Map entries per page; with 1 MiB chunks a page maps 1 GiB. */
export const PAGE_ENTRIES = 1024;

export interface MapPage {
  readonly id: number;
  refcount: number;
  /** Physical chunk + 1 for a mapped logical chunk, 0 for a hole. */
  readonly entries: Uint32Array;
}

export function newEntries(): Uint32Array {
  return new Uint32Array(PAGE_ENTRIES);
}

export function entriesToBlob(e: Uint32Array): Buffer {
  // A copy: the page may change again before the commit that carries this blob.
  return Buffer.from(e.buffer.slice(e.byteOffset, e.byteOffset + e.byteLength));
}

export function entriesFromBlob(b: Buffer): Uint32Array {
  const e = newEntries();
  const n = Math.min(PAGE_ENTRIES, Math.floor(b.length / 4));
  for (let i = 0; i < n; i++) e[i] = b.readUInt32LE(i * 4);
  return e;
}

export function topToBlob(top: Uint32Array): Buffer {
  return Buffer.from(top.buffer.slice(top.byteOffset, top.byteOffset + top.byteLength));
}

export function topFromBlob(b: Buffer, length: number): Uint32Array {
  const t = new Uint32Array(length);
  const n = Math.min(length, Math.floor(b.length / 4));
  for (let i = 0; i < n; i++) t[i] = b.readUInt32LE(i * 4);
  return t;
}
