// The manager's event store: every configuration change and every event an
// array raises, kept in SQLite and listed newest last.
import Database from 'better-sqlite3';
import type { ArrayEvent, Severity } from '../array/agent.js';

export interface StoredEvent extends ArrayEvent {
  seq: number;
}

export class EventStore {
  private readonly db: Database.Database;
  private listeners: Array<(e: StoredEvent) => void> = [];

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS event (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, id TEXT NOT NULL,
      severity TEXT NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL)`);
  }

  record(e: Omit<ArrayEvent, 'time'> & { time?: string }): StoredEvent {
    const time = e.time ?? new Date().toISOString();
    const info = this.db.prepare('INSERT INTO event (time, id, severity, source, text) VALUES (?, ?, ?, ?, ?)').run(time, e.id, e.severity, e.source, e.text);
    const stored: StoredEvent = { seq: Number(info.lastInsertRowid), time, id: e.id, severity: e.severity, source: e.source, text: e.text };
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
