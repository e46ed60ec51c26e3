// Replication of one array's management data, active → standby, over the managers'
// own HTTP API (never through etcd):
//  - a snapshot first: consistent copies (SQLite backups) of the event store
//    (manager.db) and the VVOL provider's store (vvol.db), sent as whole files;
//  - then the stream: every event with a higher sequence number, in order, in
//    batches the standby acknowledges, and vvol.db again whenever it changed.
// The active answers a client's change only once the standby has acknowledged
// the events it recorded (waitAcked), so no acknowledged event is lost in a failover.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { REPLICA_FILE_TOO_LARGE, REPLICA_TRANSFER_CUT, REPLICATION_REFUSED } from '../../catalogue/ha.js';
import type { StoredEvent } from '../events.js';

/** The files the snapshot carries; vvol.db is also resent when it changes. */
export const EVENTS_FILE = 'manager.db';
export const RESENT_FILES = ['vvol.db'];
const BATCH = 2000;

export interface Peer {
  name: string;
  url: string;
}

export interface SenderOptions {
  arrayId: string;
  /** The active's per-array data directory. */
  dir: string;
  /** The active's fencing token: the standby refuses a stream with another one. */
  token: number;
  target: Peer;
  adminToken: string;
  log: (m: string) => void;
}

export class ReplicationSender {
  /** Highest event sequence number the standby holds. */
  acked = 0;
  private readonly events: Database.Database;
  private readonly files = new Map<string, { db: Database.Database; version: number }>();
  private waiters: Array<{ seq: number; resolve: (ok: boolean) => void }> = [];
  private flushing = false;
  private again = false;
  private closed = false;
  failure: string | null = null;

  constructor(private readonly o: SenderOptions) {
    this.events = new Database(path.join(o.dir, EVENTS_FILE), { readonly: true, fileMustExist: true });
    for (const f of RESENT_FILES) {
      const p = path.join(o.dir, f);
      if (fs.existsSync(p)) this.files.set(f, { db: new Database(p, { readonly: true }), version: -1 });
    }
  }

  private base(): string {
    return `${this.o.target.url}/ha/v1/arrays/${encodeURIComponent(this.o.arrayId)}`;
  }

  /** A JSON body, or a file streamed from disk (never read whole into memory). */
  private async send(method: string, sub: string, body: { file: string } | string, type: string): Promise<unknown> {
    const file = typeof body === 'string' ? null : body.file;
    const res = await fetch(`${this.base()}${sub}`, {
      method,
      headers: {
        authorization: `Bearer ${this.o.adminToken}`,
        'content-type': type,
        'x-kura-fencing': `active:${this.o.token}`,
        ...(file === null ? {} : { 'content-length': String(fs.statSync(file).size) }),
      },
      body: file === null ? (body as string) : (Readable.toWeb(fs.createReadStream(file)) as ReadableStream<Uint8Array>),
      duplex: 'half',
      // A file's time grows with its size (at least 10 MB/s assumed on the managers' network).
      signal: AbortSignal.timeout(10_000 + (file === null ? 0 : Math.ceil(fs.statSync(file).size / 10_000))),
    } as RequestInit);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${this.o.target.name} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** Sends the snapshot; returns the sequence number it holds events up to. */
  async snapshot(): Promise<number> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-snap-'));
    try {
      const copy = path.join(tmp, EVENTS_FILE);
      snapshotInto(this.events, copy);
      const db = new Database(copy, { readonly: true });
      const seq = Number((db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM event').get() as { s: number }).s);
      db.close();
      await this.send('PUT', `/files/${EVENTS_FILE}?seq=${seq}`, { file: copy }, 'application/octet-stream');
      for (const name of this.files.keys()) await this.sendFile(name, tmp);
      this.acked = seq;
      return seq;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  private async sendFile(name: string, tmp: string): Promise<void> {
    const f = this.files.get(name)!;
    const version = Number(f.db.pragma('data_version', { simple: true }));
    const copy = path.join(tmp, name);
    snapshotInto(f.db, copy);
    await this.send('PUT', `/files/${name}`, { file: copy }, 'application/octet-stream');
    f.version = version;
  }

  /** New events (or files) to send. */
  notify(): void {
    if (this.closed) return;
    if (this.flushing) {
      this.again = true;
      return;
    }
    void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const rows = this.events.prepare('SELECT * FROM event WHERE seq > ? ORDER BY seq LIMIT ?').all(this.acked, BATCH) as StoredEvent[];
          if (rows.length === 0) break;
          const r = (await this.send('POST', '/events', JSON.stringify({ events: rows }), 'application/json')) as { acked: number };
          this.acked = Math.max(this.acked, r.acked);
          this.failure = null;
          this.settle();
        }
        for (const [name, f] of this.files) {
          if (Number(f.db.pragma('data_version', { simple: true })) !== f.version) {
            const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-snap-'));
            try {
              await this.sendFile(name, tmp);
            } finally {
              fs.rmSync(tmp, { recursive: true, force: true });
            }
          }
        }
        this.settle();
      } while (this.again && !this.closed);
    } catch (e) {
      this.failure = (e as Error).message;
      this.o.log(`replication of array ${this.o.arrayId} to ${this.o.target.name}: ${this.failure}`);
      // Retried on the next change or wait; the node drops a standby that stays behind.
    } finally {
      this.flushing = false;
    }
  }

  private settle(): void {
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.acked >= w.seq) w.resolve(true);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** Resolves true once the standby holds events up to `seq` (and the files as of now), false after `timeoutMs`. */
  waitAcked(seq: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const w = { seq, resolve };
      this.waiters.push(w);
      // Files have no sequence number: a flush after the change carries them.
      this.notify();
      if (this.flushing) this.again = true;
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(this.acked >= seq);
      }, timeoutMs);
      const done = w.resolve;
      w.resolve = (ok) => {
        clearTimeout(t);
        done(ok);
      };
      this.settle();
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
    this.events.close();
    for (const f of this.files.values()) f.db.close();
  }
}

/**
 * A consistent copy of a database, in one statement. (SQLite's online backup
 * steps through the pages and starts again whenever another connection writes:
 * under a steady stream of events it may never finish.)
 */
function snapshotInto(db: Database.Database, file: string): void {
  db.prepare('VACUUM INTO ?').run(file);
}

/** The standby's side: the files of the snapshot, then the event stream into its copy of manager.db. */
export class ReplicaReceiver {
  private db: Database.Database | null = null;
  private insert: Database.Statement | null = null;
  private transfers = 0;
  private closed = false;
  lastSeq = 0;

  constructor(
    readonly arrayId: string,
    readonly dir: string,
    /** The active's fencing token and name. */
    readonly token: number,
    readonly activeName: string,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Replaces a file of the per-array directory with the bytes of `from`,
   * streamed to a temporary file (mode 0600, beside the file) and renamed over
   * it once complete. More than `max` bytes: refused (KURA-E8021) as soon as
   * the limit is passed; a stream that ends early: KURA-E8022. Either way no
   * partial file is left and the previous copy stays.
   */
  async receiveFile(name: string, from: Readable, max: number, seq?: number): Promise<void> {
    const p = path.join(this.dir, name);
    const tmp = `${p}.recv-${process.pid}-${++this.transfers}`;
    let received = 0;
    let tooLarge = false;
    const limit = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        received += chunk.length;
        if (received > max) {
          tooLarge = true;
          done(REPLICA_FILE_TOO_LARGE({ array: this.arrayId, file: name, max }));
        } else done(null, chunk);
      },
    });
    try {
      await pipeline(from, limit, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if (tooLarge) throw REPLICA_FILE_TOO_LARGE({ array: this.arrayId, file: name, max });
      throw REPLICA_TRANSFER_CUT({ array: this.arrayId, file: name, reason: (e as Error).message });
    }
    if (this.closed) {
      fs.rmSync(tmp, { force: true });
      throw REPLICATION_REFUSED({ array: this.arrayId, reason: 'the standby role ended during the transfer' });
    }
    if (name === EVENTS_FILE) this.closeDb();
    // A stale write-ahead log would be replayed over the new copy.
    for (const s of ['-wal', '-shm']) fs.rmSync(`${p}${s}`, { force: true });
    fs.renameSync(tmp, p);
    if (name === EVENTS_FILE && seq !== undefined) this.lastSeq = seq;
  }

  /** Opens the replica of the event store for the stream. */
  open(): void {
    if (this.db) return;
    const db = new Database(path.join(this.dir, EVENTS_FILE));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS event (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, id TEXT NOT NULL,
      severity TEXT NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL)`);
    this.lastSeq = Number((db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM event').get() as { s: number }).s);
    this.insert = db.prepare('INSERT OR IGNORE INTO event (seq, time, id, severity, source, text) VALUES (?, ?, ?, ?, ?, ?)');
    this.db = db;
  }

  /** Stores a batch (committed before the answer); returns the highest sequence number held. */
  apply(events: StoredEvent[]): number {
    this.open();
    const ins = this.insert!;
    this.db!.transaction(() => {
      for (const e of events) ins.run(e.seq, e.time, e.id, e.severity, e.source, e.text);
    })();
    for (const e of events) this.lastSeq = Math.max(this.lastSeq, e.seq);
    return this.lastSeq;
  }

  private closeDb(): void {
    this.db?.close();
    this.db = null;
    this.insert = null;
  }

  close(): void {
    this.closed = true;
    this.closeDb();
  }
}
