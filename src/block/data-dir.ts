// The data directory: one process owns it at a time, and nobody else may read it.
//
// Ownership is an exclusive lock the kernel holds for us: a small SQLite file
// (kura.lock) opened in EXCLUSIVE locking mode and written once, so that SQLite
// takes its POSIX write lock on the file and keeps it until the connection
// closes. The kernel drops POSIX locks when the process dies (kill -9 included),
// so a lock is never stale; SQLite also refuses a second connection inside the
// same process. Node has no flock(), and the native addon is optional, so
// better-sqlite3 (which the metadata store needs anyway) carries the lock.
// The holder writes its pid beside the lock (kura.pid) so that a refused
// opener can name it.
//
// Caveat of POSIX locks: closing any descriptor of kura.lock in the holding
// process releases the lock, so nothing but this module may open that file.
//
// Privacy: the directory holds CHAP secrets and the API token, so directories
// are 0700 and files 0600. The process umask makes new files so; what an
// older version left looser is tightened when the directory is opened.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DATA_DIR_IN_USE, DATA_DIR_IN_USE_BY_PID, DATA_DIR_LOCK_FAILED, DATA_DIR_TIGHTENED } from '../catalogue/array.js';

export const LOCK_FILE = 'kura.lock';
export const PID_FILE = 'kura.pid';

export class DataDirLock {
  private db: Database.Database | null;
  readonly dir: string;

  private constructor(dir: string, db: Database.Database) {
    this.dir = dir;
    this.db = db;
  }

  /**
   * Takes the lock on `dir` (which must exist) or throws KURA-E2520 naming the
   * directory and, when its pid file tells, the process that holds it.
   */
  static acquire(dir: string): DataDirLock {
    const abs = path.resolve(dir);
    const lockPath = path.join(abs, LOCK_FILE);
    let db: Database.Database | undefined;
    try {
      db = new Database(lockPath, { timeout: 0 });
      db.pragma('locking_mode = EXCLUSIVE');
      // No journal file beside the lock: the one write below needs no rollback.
      db.pragma('journal_mode = MEMORY');
      // The first write takes SQLite's EXCLUSIVE lock; EXCLUSIVE locking mode keeps it.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
      db.transaction(() => {
        db!.exec('DELETE FROM holder');
        db!.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      })();
    } catch (e) {
      db?.close();
      const err = e as { code?: string; message?: string };
      if (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED') {
        const pid = readPid(abs);
        throw pid === undefined ? DATA_DIR_IN_USE({ dir: abs }) : DATA_DIR_IN_USE_BY_PID({ dir: abs, pid });
      }
      throw DATA_DIR_LOCK_FAILED({ abs, arg: err.message ?? String(e) });
    }
    try {
      fs.chmodSync(lockPath, 0o600);
      fs.writeFileSync(path.join(abs, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
    } catch {
      // The pid file only helps the message of a refused opener.
    }
    return new DataDirLock(abs, db);
  }

  release(): void {
    if (!this.db) return;
    try {
      // Only our own pid file: a process that took the lock after us keeps its own.
      const pid = readPid(this.dir);
      if (pid === process.pid) fs.rmSync(path.join(this.dir, PID_FILE), { force: true });
    } catch {
      // Best effort; the lock itself is what counts.
    }
    this.db.close();
    this.db = null;
  }
}

function readPid(dir: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(path.join(dir, PID_FILE), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `dir` (and missing parents) private to its owner; an existing one keeps its mode here. */
export function makeDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** What Kura keeps at the top of a data directory (besides the trees below). */
const TOP_LEVEL = /^(admin\.token|alerts\.json(\.tmp)?|(manager|vvol)\.db(-wal|-shm|-journal)?|kura\.(lock|pid)(-journal)?)$/;
/** Kura's trees in a data directory: the array, the server's logs, the performance history, the VVOL provider's relation files (latest and zipped). */
const TREES = new Set(['array', 'logs', 'perf', 'latestRelationBetweenVMandVVOL', 'RelationBetweenVMandVVOL']);

/**
 * Makes the data directory private: the directory itself, what Kura keeps at its
 * top, and the whole array/, logs/, perf/ and relation-file trees; directories 0700, regular files 0600. Other
 * files an operator keeps there are left alone (--data might name a directory
 * that holds more than Kura's files), as are symbolic links and what they point
 * at (PDs may be block devices elsewhere). Returns the paths it changed,
 * relative to `dir`.
 */
export function tightenDataDir(dir: string): string[] {
  const changed: string[] = [];
  const tighten = (p: string, rel: string, st: fs.Stats) => {
    if ((st.mode & 0o077) === 0) return;
    fs.chmodSync(p, st.mode & (st.isDirectory() ? 0o700 : 0o600));
    changed.push(rel || '.');
  };
  const visit = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      tighten(p, rel, st);
      for (const name of fs.readdirSync(p)) visit(path.join(p, name), path.join(rel, name));
    } else if (st.isFile()) {
      tighten(p, rel, st);
    }
  };
  tighten(dir, '', fs.lstatSync(dir));
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (TREES.has(name)) visit(p, name);
    else if (TOP_LEVEL.test(name)) {
      const st = fs.lstatSync(p);
      if (st.isFile()) tighten(p, name, st);
    }
  }
  return changed;
}

/** The log line for what tightenDataDir changed (undefined when nothing). */
export function tightenedText(dir: string, changed: string[]): string | undefined {
  if (changed.length === 0) return undefined;
  const shown = changed.slice(0, 8).join(', ') + (changed.length > 8 ? `, and ${changed.length - 8} more` : '');
  return `${DATA_DIR_TIGHTENED.id}: ${DATA_DIR_TIGHTENED({ dir: path.resolve(dir), count: changed.length, paths: shown })}`;
}
