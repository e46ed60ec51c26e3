// The provider's durable state in SQLite (WAL, synchronous=FULL: a change the
// provider acknowledged survives a crash): PEs, VVOL records, their metadata,
// bindings, storage policies, tasks and counters. Records are JSON in one
// column per table, keyed by what looks them up; bindings and metadata are
// rows, because they change one entry at a time. The store may own its file
// (open(path)) or share the manager's database (new VvolStore(db)).
import Database from 'better-sqlite3';
import type { BindingRow } from './bindings.js';
import type { PeRecord, VvolRecord } from './model.js';
import type { StoragePolicy } from './policy.js';
import type { TaskInfo } from './tasks.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vvol_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vvol_pe (ld INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vvol_record (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vvol_metadata (vvol TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (vvol, key));
CREATE TABLE IF NOT EXISTS vvol_binding (vvol TEXT NOT NULL, pe INTEGER NOT NULL, slu INTEGER NOT NULL, host TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (vvol, pe, host));
CREATE TABLE IF NOT EXISTS vvol_policy (name TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vvol_task (id TEXT PRIMARY KEY, json TEXT NOT NULL);
`;

export class VvolStore {
  private readonly owned: boolean;

  constructor(
    readonly db: Database.Database,
    owned = false,
  ) {
    this.owned = owned;
    db.exec(SCHEMA);
  }

  static open(path: string): VvolStore {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    return new VvolStore(db, true);
  }

  close(): void {
    if (this.owned) this.db.close();
  }

  /** Runs `fn` in one transaction: all of its writes or none. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The next value of a named counter (starting at 1); never handed out twice. */
  next(name: string): number {
    return this.tx(() => {
      const row = this.db.prepare('SELECT value FROM vvol_counter WHERE name = ?').get(name) as { value: number } | undefined;
      const v = (row?.value ?? 0) + 1;
      this.db.prepare('INSERT INTO vvol_counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, v);
      return v;
    });
  }

  // ---- PEs ----

  pes(): PeRecord[] {
    return (this.db.prepare('SELECT json FROM vvol_pe ORDER BY ld').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as PeRecord);
  }

  putPe(pe: PeRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_pe (ld, json) VALUES (?, ?)').run(pe.ld, JSON.stringify(pe));
  }

  deletePe(ld: number): void {
    this.db.prepare('DELETE FROM vvol_pe WHERE ld = ?').run(ld);
  }

  // ---- VVOLs ----

  vvols(): VvolRecord[] {
    return (this.db.prepare('SELECT json FROM vvol_record ORDER BY id').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as VvolRecord);
  }

  putVvol(v: VvolRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_record (id, json) VALUES (?, ?)').run(v.id, JSON.stringify(v));
  }

  /** Forgets the VVOL with its metadata and bindings. */
  deleteVvol(id: string): void {
    this.tx(() => {
      this.db.prepare('DELETE FROM vvol_record WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM vvol_metadata WHERE vvol = ?').run(id);
      this.db.prepare('DELETE FROM vvol_binding WHERE vvol = ?').run(id);
    });
  }

  // ---- metadata ----

  metadata(vvol: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.db.prepare('SELECT key, value FROM vvol_metadata WHERE vvol = ? ORDER BY key').all(vvol) as Array<{ key: string; value: string }>)
      out[r.key] = r.value;
    return out;
  }

  /** Sets keys (a null value removes the key) in one transaction. */
  setMetadata(vvol: string, changes: Record<string, string | null>): void {
    this.tx(() => {
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) this.db.prepare('DELETE FROM vvol_metadata WHERE vvol = ? AND key = ?').run(vvol, k);
        else this.db.prepare('INSERT OR REPLACE INTO vvol_metadata (vvol, key, value) VALUES (?, ?, ?)').run(vvol, k, v);
      }
    });
  }

  // ---- bindings ----

  bindingRows(): BindingRow[] {
    return this.db.prepare('SELECT vvol, pe, slu, host, count FROM vvol_binding ORDER BY pe, slu, host').all() as BindingRow[];
  }

  /** Replaces the rows of binding (vvol, pe) with `rows` (none: the binding is gone). */
  putBinding(vvol: string, pe: number, rows: BindingRow[]): void {
    this.tx(() => {
      this.db.prepare('DELETE FROM vvol_binding WHERE vvol = ? AND pe = ?').run(vvol, pe);
      const ins = this.db.prepare('INSERT INTO vvol_binding (vvol, pe, slu, host, count) VALUES (?, ?, ?, ?, ?)');
      for (const r of rows) ins.run(r.vvol, r.pe, r.slu, r.host, r.count);
    });
  }

  // ---- policies ----

  policies(): StoragePolicy[] {
    return (this.db.prepare('SELECT json FROM vvol_policy ORDER BY name').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as StoragePolicy);
  }

  putPolicy(p: StoragePolicy): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_policy (name, json) VALUES (?, ?)').run(p.name, JSON.stringify(p));
  }

  deletePolicy(name: string): void {
    this.db.prepare('DELETE FROM vvol_policy WHERE name = ?').run(name);
  }

  // ---- tasks ----

  tasks(): TaskInfo[] {
    return (this.db.prepare('SELECT json FROM vvol_task').all() as Array<{ json: string }>)
      .map((r) => JSON.parse(r.json) as TaskInfo)
      .sort((a, b) => Number(a.id.replace(/^task-/, '')) - Number(b.id.replace(/^task-/, '')));
  }

  putTask(t: TaskInfo): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_task (id, json) VALUES (?, ?)').run(t.id, JSON.stringify(t));
  }

  /** Drops all but the newest `keep` tasks. */
  pruneTasks(keep: number): void {
    const ids = this.tasks().map((t) => t.id);
    const del = this.db.prepare('DELETE FROM vvol_task WHERE id = ?');
    this.tx(() => {
      for (const id of ids.slice(0, Math.max(0, ids.length - keep))) del.run(id);
    });
  }
}
