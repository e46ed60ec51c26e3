// The offline checker (`kura check`): verifies a stopped array's metadata
// against itself and its PD files. Every map entry must point at an allocated
// chunk inside the pool, refcounts of pages and chunks must equal the references
// actually held, no page or chunk may be allocated without a reference, and a
// chunk or page two LDs map must be shared through a snapshot/clone relation
// (refcounts that agree prove nothing when two writers allocated the same
// chunk). It takes the data directory's lock, so it refuses a directory a
// running server holds (and no server starts while it runs).
import fs from 'node:fs';
import path from 'node:path';
import { DataDirLock } from './data-dir.js';
import { PAGE_ENTRIES, entriesFromBlob, topFromBlob } from './map-page.js';
import { MetaStore } from './meta-store.js';
import type { LdRow, PageRow } from './meta-store.js';
import { LogicalDisk } from './logical-disk.js';

export interface CheckReport {
  ok: boolean;
  faults: string[];
  pools: Array<{ name: string; chunks: number; allocated: number; lds: number; pages: number }>;
}

export function checkDataDir(dataDir: string): CheckReport {
  const dbPath = path.join(dataDir, 'array', 'meta.db');
  const faults: string[] = [];
  if (!fs.existsSync(dbPath)) {
    return { ok: false, faults: [`no array metadata at ${dbPath}`], pools: [] };
  }
  const lock = DataDirLock.acquire(dataDir);
  // Open read-write so that SQLite replays the WAL of an array that was killed.
  let store: MetaStore;
  try {
    store = new MetaStore(dbPath);
  } catch (e) {
    lock.release();
    throw e;
  }
  try {
    const report: CheckReport = { ok: true, faults, pools: [] };
    const lds = store.lds();
    for (const pool of store.pools()) {
      const groups = store.raidGroups(pool.id);
      const capacity = groups.reduce((m, g) => Math.max(m, g.first_chunk + g.chunk_count), 0);
      for (const pd of store.pds(pool.id)) {
        const abs = path.isAbsolute(pd.path) ? pd.path : path.join(dataDir, 'array', pd.path);
        let size = -1;
        try {
          size = fs.statSync(abs).size;
        } catch {
          faults.push(`pool ${pool.name}: PD ${pd.number} file ${abs} is missing`);
          continue;
        }
        if (size < pd.size) faults.push(`pool ${pool.name}: PD ${pd.number} file is ${size} bytes, expected ${pd.size}`);
      }
      const pages = new Map<number, { refcount: number; entries: Uint32Array }>();
      for (const p of store.pages(pool.id)) pages.set(p.id, { refcount: p.refcount, entries: entriesFromBlob(p.entries) });
      // References actually held.
      const pageRefs = new Map<number, number>();
      const poolLds = lds.filter((l) => l.pool_id === pool.id);
      for (const ld of poolLds) {
        const top = topFromBlob(ld.top, LogicalDisk.topLength(ld.capacity, pool.chunk_size));
        for (let t = 0; t < top.length; t++) {
          const pid = top[t]!;
          if (pid === 0) continue;
          if (!pages.has(pid)) faults.push(`LD ${ld.name}: map slot ${t} points at missing page ${pid}`);
          pageRefs.set(pid, (pageRefs.get(pid) ?? 0) + 1);
        }
      }
      const chunkRefs = new Map<number, number>();
      for (const [pid, page] of pages) {
        const held = pageRefs.get(pid) ?? 0;
        if (held === 0) faults.push(`pool ${pool.name}: page ${pid} is not referenced (leaked)`);
        else if (held !== page.refcount) faults.push(`pool ${pool.name}: page ${pid} has refcount ${page.refcount} but ${held} references`);
        for (let i = 0; i < PAGE_ENTRIES; i++) {
          const e = page.entries[i]!;
          if (e === 0) continue;
          const c = e - 1;
          if (c >= capacity) faults.push(`pool ${pool.name}: page ${pid} entry ${i} points at chunk ${c} beyond the pool (${capacity} chunks)`);
          chunkRefs.set(c, (chunkRefs.get(c) ?? 0) + 1);
        }
      }
      const stored = new Map<number, number>();
      for (const r of store.chunkRefs(pool.id)) stored.set(r.chunk, r.refcount);
      for (const [c, n] of chunkRefs) {
        const s = stored.get(c);
        if (s === undefined) faults.push(`pool ${pool.name}: chunk ${c} is mapped but not allocated`);
        else if (s !== n) faults.push(`pool ${pool.name}: chunk ${c} has refcount ${s} but ${n} references`);
      }
      for (const [c, s] of stored) {
        if (!chunkRefs.has(c)) faults.push(`pool ${pool.name}: chunk ${c} is allocated (refcount ${s}) but not mapped (leaked)`);
        if (c >= pool.hwm) faults.push(`pool ${pool.name}: chunk ${c} is allocated above the high-water mark ${pool.hwm}`);
      }
      faults.push(...checkSharing(pool.name, poolLds, lds, store.pages(pool.id), pool.chunk_size));
      report.pools.push({ name: pool.name, chunks: capacity, allocated: stored.size, lds: poolLds.length, pages: pages.size });
    }
    for (const ld of lds) {
      if (!store.pools().some((p) => p.id === ld.pool_id)) faults.push(`LD ${ld.name}: its pool ${ld.pool_id} does not exist`);
    }
    faults.push(...checkPairs(store));
    report.ok = faults.length === 0;
    return report;
  } finally {
    store.close();
    lock.release();
  }
}

/**
 * The LDs this one may share with: the one its map started from (recorded by the
 * engine), and for stores older than that record the relations the array's
 * attributes name (ESV → its base, FCV → its source).
 */
function relatedIds(ld: LdRow): number[] {
  const out: number[] = [];
  if (typeof ld.shared_from === 'number') out.push(ld.shared_from);
  let a: { esv?: { base?: unknown }; fcv?: { source?: unknown } };
  try {
    a = JSON.parse(ld.attrs) as typeof a;
  } catch {
    return out;
  }
  if (typeof a?.esv?.base === 'number') out.push(a.esv.base);
  if (typeof a?.fcv?.source === 'number') out.push(a.fcv.source);
  return out;
}

/**
 * Only snapshots and clones share: their maps start as the source's (shared pages)
 * and copy-on-write later leaves chunks mapped from two pages. So LDs of one
 * family (connected by ESV → base and FCV → source links) may map the same page
 * or chunk; LDs of different families never may, whatever the refcounts say.
 */
function checkSharing(poolName: string, poolLds: LdRow[], allLds: LdRow[], pageRows: PageRow[], chunkSize: number): string[] {
  const out: string[] = [];
  // Union-find over LD ids: the family of each LD.
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const l of allLds) if (!parent.has(l.id)) parent.set(l.id, l.id);
  for (const l of allLds) for (const o of relatedIds(l)) parent.set(find(l.id), find(o));
  const names = new Map(allLds.map((l) => [l.id, l.name]));

  // Page → LDs whose top level points at it.
  const pageLds = new Map<number, number[]>();
  for (const ld of poolLds) {
    const top = topFromBlob(ld.top, LogicalDisk.topLength(ld.capacity, chunkSize));
    for (const pid of new Set(top)) {
      if (pid === 0) continue;
      const list = pageLds.get(pid);
      if (list) list.push(ld.id);
      else pageLds.set(pid, [ld.id]);
    }
  }
  const pair = (a: number, b: number) => {
    const [x, y] = [names.get(a) ?? `#${a}`, names.get(b) ?? `#${b}`].sort();
    return `LDs ${x} and ${y}`;
  };
  for (const [pid, ids] of pageLds) {
    const other = ids.find((i) => find(i) !== find(ids[0]!));
    if (other !== undefined) out.push(`pool ${poolName}: map page ${pid} is used by ${pair(ids[0]!, other)}, which share no snapshot or clone relation`);
  }
  // Chunk → the first LD (and its family) seen mapping it; a second family is a fault.
  const chunkOwner = new Map<number, number>();
  const reported = new Set<string>();
  for (const p of pageRows) {
    const ids = pageLds.get(p.id);
    if (!ids || ids.length === 0) continue;
    const ld = ids[0]!;
    const entries = entriesFromBlob(p.entries);
    for (let i = 0; i < PAGE_ENTRIES; i++) {
      const e = entries[i]!;
      if (e === 0) continue;
      const c = e - 1;
      const first = chunkOwner.get(c);
      if (first === undefined) chunkOwner.set(c, ld);
      else if (find(first) !== find(ld)) {
        const msg = `pool ${poolName}: chunk ${c} is mapped by ${pair(first, ld)}, which share no snapshot or clone relation (one LD's data overwrites the other's)`;
        if (!reported.has(msg)) out.push(msg);
        reported.add(msg);
      }
    }
  }
  return out;
}

/** Replication pairs: both LDs exist with the same capacity, and the bitmap covers the MV's chunks. */
function checkPairs(store: MetaStore): string[] {
  const out: string[] = [];
  const hasTable = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'rpl_pair'").get();
  if (!hasTable) return out;
  const lds = new Map(store.lds().map((l) => [l.id, l]));
  const pools = new Map(store.pools().map((p) => [p.id, p]));
  for (const row of store.db.prepare('SELECT rv, mv, bitmap FROM rpl_pair').all() as Array<{ rv: number; mv: number; bitmap: Buffer }>) {
    const mv = lds.get(row.mv);
    const rv = lds.get(row.rv);
    if (!mv || !rv) {
      out.push(`replication pair ${row.mv} → ${row.rv}: ${!mv ? `MV ${row.mv}` : `RV ${row.rv}`} does not exist`);
      continue;
    }
    if (mv.capacity !== rv.capacity) out.push(`replication pair ${mv.name} → ${rv.name}: capacities differ (${mv.capacity} and ${rv.capacity})`);
    const cs = pools.get(mv.pool_id)?.chunk_size;
    if (cs && row.bitmap.length !== Math.ceil(Math.ceil(mv.capacity / cs) / 8))
      out.push(
        `replication pair ${mv.name} → ${rv.name}: difference bitmap has ${row.bitmap.length} bytes, expected ${Math.ceil(Math.ceil(mv.capacity / cs) / 8)}`,
      );
  }
  return out;
}
