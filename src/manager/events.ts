// The manager's event store: every configuration change and every event an
// array raises, kept in SQLite (DATA/manager.db, WAL) and listed oldest first:
// the newest `limit` events that match, newest last.
import Database from 'better-sqlite3';
import type { ArrayEvent, Severity } from '../array/agent.js';

export interface StoredEvent extends ArrayEvent {
  seq: number;
}

/** Events kept; older ones are pruned as new ones arrive. */
export const EVENT_RETENTION = 100_000;

export class EventStore {
  private readonly db: Database.Database;
  private listeners: Array<(e: StoredEvent) => void> = [];
  private readonly insert: Database.Statement;
  private inserted = 0;

  constructor(
    path: string,
    private readonly retention = EVENT_RETENTION,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // WAL with synchronous=NORMAL: a committed event survives a process crash;
    // an OS crash may lose the last few, never corrupt the store.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS event (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, id TEXT NOT NULL,
      severity TEXT NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL)`);
    this.insert = this.db.prepare('INSERT INTO event (time, id, severity, source, text) VALUES (?, ?, ?, ?, ?)');
  }

  /** The store's journal mode (WAL), for checks. */
  journalMode(): string {
    return String(this.db.pragma('journal_mode', { simple: true }));
  }

  record(e: Omit<ArrayEvent, 'time'> & { time?: string }): StoredEvent {
    const time = e.time ?? new Date().toISOString();
    const info = this.insert.run(time, e.id, e.severity, e.source, e.text);
    const stored: StoredEvent = { seq: Number(info.lastInsertRowid), time, id: e.id, severity: e.severity, source: e.source, text: e.text };
    if (++this.inserted % 1000 === 0) this.db.prepare('DELETE FROM event WHERE seq <= ?').run(stored.seq - this.retention);
    for (const l of this.listeners) {
      try {
        l(stored);
      } catch {
        // A forwarder's failure must not lose the event.
      }
    }
    return stored;
  }

  onRecord(fn: (e: StoredEvent) => void): void {
    this.listeners.push(fn);
  }

  /** The newest `limit` events (optionally of one severity or newer than `since`), oldest first. */
  list(opts: { limit?: number; severity?: Severity; since?: number } = {}): StoredEvent[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (opts.severity) {
      where.push('severity = ?');
      args.push(opts.severity);
    }
    if (opts.since !== undefined) {
      where.push('seq > ?');
      args.push(opts.since);
    }
    const sql = `SELECT * FROM (SELECT * FROM event ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?) ORDER BY seq ASC`;
    return this.db.prepare(sql).all(...args, opts.limit ?? 100) as StoredEvent[];
  }

  close(): void {
    this.db.close();
  }
}
