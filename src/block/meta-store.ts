// The metadata store: SQLite in WAL mode with synchronous=FULL, so that every
// commit is atomic and durable once the transaction returns. It holds the pool
// layout, LD definitions, refcounted map pages and chunk refcounts. Only the
// block engine writes it; `kura check` reads it offline.
import Database from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pool (
  id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
  raid TEXT NOT NULL, chunk_size INTEGER NOT NULL, pds_per_group INTEGER NOT NULL,
  threshold INTEGER NOT NULL, hwm INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raid_group (
  pool_id INTEGER NOT NULL, grp INTEGER NOT NULL, raid TEXT NOT NULL, pd_count INTEGER NOT NULL,
  first_chunk INTEGER NOT NULL, chunk_count INTEGER NOT NULL, PRIMARY KEY (pool_id, grp));
CREATE TABLE IF NOT EXISTS pd (
  pool_id INTEGER NOT NULL, number INTEGER NOT NULL, grp INTEGER NOT NULL, idx INTEGER NOT NULL,
  path TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (pool_id, number));
CREATE TABLE IF NOT EXISTS ld (
  id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
  pool_id INTEGER NOT NULL, capacity INTEGER NOT NULL, block_size INTEGER NOT NULL,
  default_owner INTEGER NOT NULL, naa TEXT NOT NULL, serial TEXT NOT NULL, created TEXT NOT NULL,
  attrs TEXT NOT NULL DEFAULT '{}', top BLOB NOT NULL, read_only INTEGER NOT NULL DEFAULT 0,
  shared_from INTEGER);
CREATE TABLE IF NOT EXISTS map_page (
  id INTEGER PRIMARY KEY, pool_id INTEGER NOT NULL, refcount INTEGER NOT NULL, entries BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_ref (
  pool_id INTEGER NOT NULL, chunk INTEGER NOT NULL, refcount INTEGER NOT NULL,
  PRIMARY KEY (pool_id, chunk)) WITHOUT ROWID;
`;

export interface PoolRow {
  id: number;
  number: number;
  name: string;
  raid: string;
  chunk_size: number;
  pds_per_group: number;
  threshold: number;
  hwm: number;
  created: string;
}
export interface RaidGroupRow {
  pool_id: number;
  grp: number;
  raid: string;
  pd_count: number;
  first_chunk: number;
  chunk_count: number;
}
export interface PdRow {
  pool_id: number;
  number: number;
  grp: number;
  idx: number;
  path: string;
  size: number;
}
export interface LdRow {
  id: number;
  number: number;
  name: string;
  pool_id: number;
  capacity: number;
  block_size: number;
  default_owner: number;
  naa: string;
  serial: string;
  created: string;
  attrs: string;
  top: Buffer;
  /** 1: the LD refuses writes (a snapshot); part of the row so that it survives restarts. */
  read_only: number;
  /** The LD whose map this one started from (a snapshot or clone), so `kura check` knows which LDs may share. */
  shared_from: number | null;
}
export interface PageRow {
  id: number;
  pool_id: number;
  refcount: number;
  entries: Buffer;
}

/** One group commit's worth of metadata changes, captured before the data sync. */
export interface MetaBatch {
  pages: Array<{ id: number; poolId: number; refcount: number; entries: Buffer }>;
  /** Pages whose refcount alone changed. */
  pageRefs: Array<{ id: number; refcount: number }>;
  deletedPages: number[];
  chunks: Array<{ poolId: number; chunk: number; refcount: number }>;
  tops: Array<{ ldId: number; top: Buffer }>;
  deletedLds: number[];
  /** LDs created since the last commit, written with the page refcounts they take. */
  newLds: LdRow[];
  /** Changed LD definitions (capacity, attributes, access). */
  ldUpdates: Array<{ id: number; capacity: number; attrs: string; readOnly: number }>;
}

export function emptyBatch(): MetaBatch {
  return { pages: [], pageRefs: [], deletedPages: [], chunks: [], tops: [], deletedLds: [], newLds: [], ldUpdates: [] };
}

export function batchIsEmpty(b: MetaBatch): boolean {
  return (
    b.pages.length === 0 &&
    b.pageRefs.length === 0 &&
    b.deletedPages.length === 0 &&
    b.chunks.length === 0 &&
    b.tops.length === 0 &&
    b.deletedLds.length === 0 &&
    b.newLds.length === 0 &&
    b.ldUpdates.length === 0
  );
}

/**
 * Brings a store made by an older Kura up to this schema. Columns added later get
 * defaults; the array corrects what a default cannot know (which LDs are snapshots).
 */
function migrate(db: Database.Database): void {
  const cols = new Set((db.prepare('PRAGMA table_info(ld)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!cols.has('read_only')) db.exec('ALTER TABLE ld ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0');
  if (!cols.has('shared_from')) db.exec('ALTER TABLE ld ADD COLUMN shared_from INTEGER');
}

/**
 * Copies the WAL into the database and truncates it to zero bytes, so that old
 * page images (a replaced or cleared secret) no longer exist in any file.
 * Returns false when a reader kept part of the WAL alive.
 */
export function scrubWal(db: Database.Database): boolean {
  const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  return r[0]?.busy === 0;
}

export class MetaStore {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string, opts: { readonly?: boolean } = {}) {
    this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Deleted rows are overwritten with zeros, so a cleared CHAP secret does not
      // linger in free space of the database file (measured: no extra WAL bytes
      // for map-page rewrites). The WAL keeps old page images until checkpointed:
      // see scrubWal().
      this.db.pragma('secure_delete = ON');
      this.db.exec(SCHEMA);
      migrate(this.db);
      const v = this.getMeta('schema_version');
      if (v === undefined) this.setMeta('schema_version', String(SCHEMA_VERSION));
    }
    const db = this.db;
    this.stmts = opts.readonly
      ? null
      : {
          upsertPage: db.prepare(
            'INSERT INTO map_page (id, pool_id, refcount, entries) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET refcount = excluded.refcount, entries = excluded.entries',
          ),
          deletePage: db.prepare('DELETE FROM map_page WHERE id = ?'),
          setPageRef: db.prepare('UPDATE map_page SET refcount = ? WHERE id = ?'),
          upsertChunk: db.prepare(
            'INSERT INTO chunk_ref (pool_id, chunk, refcount) VALUES (?, ?, ?) ON CONFLICT(pool_id, chunk) DO UPDATE SET refcount = excluded.refcount',
          ),
          deleteChunk: db.prepare('DELETE FROM chunk_ref WHERE pool_id = ? AND chunk = ?'),
          updateTop: db.prepare('UPDATE ld SET top = ? WHERE id = ?'),
          deleteLd: db.prepare('DELETE FROM ld WHERE id = ?'),
          insertLd: db.prepare(
            'INSERT INTO ld (id, number, name, pool_id, capacity, block_size, default_owner, naa, serial, created, attrs, top, read_only, shared_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          ),
          updateLd: db.prepare('UPDATE ld SET capacity = ?, attrs = ?, read_only = ? WHERE id = ?'),
          setHwm: db.prepare('UPDATE pool SET hwm = ? WHERE id = ?'),
        };
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  deleteMeta(key: string): void {
    this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
  }

  pools(): PoolRow[] {
    return this.db.prepare('SELECT * FROM pool ORDER BY number').all() as PoolRow[];
  }
  raidGroups(poolId: number): RaidGroupRow[] {
    return this.db.prepare('SELECT * FROM raid_group WHERE pool_id = ? ORDER BY grp').all(poolId) as RaidGroupRow[];
  }
  pds(poolId: number): PdRow[] {
    return this.db.prepare('SELECT * FROM pd WHERE pool_id = ? ORDER BY number').all(poolId) as PdRow[];
  }
  lds(): LdRow[] {
    return this.db.prepare('SELECT * FROM ld ORDER BY number').all() as LdRow[];
  }
  pages(poolId: number): PageRow[] {
    return this.db.prepare('SELECT * FROM map_page WHERE pool_id = ?').all(poolId) as PageRow[];
  }
  chunkRefs(poolId: number): Array<{ chunk: number; refcount: number }> {
    return this.db.prepare('SELECT chunk, refcount FROM chunk_ref WHERE pool_id = ?').all(poolId) as Array<{ chunk: number; refcount: number }>;
  }
  maxLdId(): number {
    const row = this.db.prepare('SELECT MAX(id) AS m FROM ld').get() as { m: number | null };
    return row.m ?? 0;
  }
  maxPageId(): number {
    const row = this.db.prepare('SELECT MAX(id) AS m FROM map_page').get() as { m: number | null };
    return row.m ?? 0;
  }

  /** Runs fn in one atomic, durable transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Writes a captured batch (inside a transaction of the caller's or its own). */
  applyBatch(b: MetaBatch): void {
    const s = this.stmts!;
    this.transaction(() => {
      // Deleted LDs go first: a new LD may reuse a deleted one's number or name in the same commit.
      for (const id of b.deletedLds) s.deleteLd.run(id);
      for (const l of b.newLds) {
        s.insertLd.run(
          l.id,
          l.number,
          l.name,
          l.pool_id,
          l.capacity,
          l.block_size,
          l.default_owner,
          l.naa,
          l.serial,
          l.created,
          l.attrs,
          l.top,
          l.read_only,
          l.shared_from,
        );
      }
      for (const u of b.ldUpdates) s.updateLd.run(u.capacity, u.attrs, u.readOnly, u.id);
      for (const p of b.pages) s.upsertPage.run(p.id, p.poolId, p.refcount, p.entries);
      for (const p of b.pageRefs) s.setPageRef.run(p.refcount, p.id);
      for (const id of b.deletedPages) s.deletePage.run(id);
      for (const c of b.chunks) {
        if (c.refcount > 0) s.upsertChunk.run(c.poolId, c.chunk, c.refcount);
        else s.deleteChunk.run(c.poolId, c.chunk);
      }
      for (const t of b.tops) s.updateTop.run(t.top, t.ldId);
    });
  }

  setHwm(poolId: number, hwm: number): void {
    this.stmts!.setHwm.run(hwm, poolId);
  }

  close(): void {
    this.db.close();
  }
}
