// The relation files (VVM Appendix C, L2281-L2316): every `interval` minutes
// (5-1440, default 5; provider settings) the configuration is checked, and
// when it changed since the last file a new one is written:
//   DATA/latestRelationBetweenVMandVVOL/<WWN>_<array name>/YYYYMMDDHHMMSS.xml
// the file it replaces is moved, zipped, to
//   DATA/RelationBetweenVMandVVOL/<WWN>_<array name>/YYYYMMDDHHMMSS.zip
// and zips older than three days are deleted. Stamps are UTC. The check also
// runs on demand (`kura provider relation write`). What was last written is
// kept in the provider's database, so a restart writes no file for a
// configuration that did not change.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { fingerprint, type RelationModel } from './model.js';
import { relationXml } from './xml.js';
import { zipOne } from './zip.js';

export const LATEST_DIR = 'latestRelationBetweenVMandVVOL';
export const OLD_DIR = 'RelationBetweenVMandVVOL';
/** Old generations are kept this long (VVM L2306). */
export const KEEP_MS = 3 * 24 * 3600 * 1000;
/** How often the timer looks whether the interval has passed. */
const TICK_MS = 15_000;

export interface RelationWriterOptions {
  dataDir: string;
  db: Database.Database;
  /** The configuration now (collection start and end times are set by the writer). */
  build: (now: Date) => RelationModel;
  /** Minutes between checks. */
  interval: () => number;
  now?: () => Date;
  /** A write failed (KURA-W3710 is raised by the caller). */
  onError?: (e: Error) => void;
  /** A file was written. */
  onWritten?: (file: string) => void;
}

export interface CheckResult {
  /** A new file was written (the configuration changed). */
  written: boolean;
  file: string | null;
  /** Old generations zipped and deleted by this check. */
  zipped: string[];
  deleted: string[];
}

/** YYYYMMDDHHMMSS of a date, UTC. */
export function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function parseStamp(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

export class RelationWriter {
  private readonly clock: () => Date;
  private lastCheck = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RelationWriterOptions) {
    this.clock = o.now ?? (() => new Date());
    o.db.exec(
      'CREATE TABLE IF NOT EXISTS vvol_relation_last (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL, file TEXT NOT NULL, model TEXT NOT NULL)',
    );
  }

  /** The directory name of an array: <16-hex WWN>_<array name>. */
  static arrayDir(m: RelationModel): string {
    return `${m.diskArray.wwn}_${m.diskArray.name.replace(/[/\\\0]/g, '_')}`;
  }

  private last(): { fingerprint: string; file: string; model: RelationModel } | undefined {
    const r = this.o.db.prepare('SELECT fingerprint, file, model FROM vvol_relation_last WHERE id = 1').get() as
      { fingerprint: string; file: string; model: string } | undefined;
    return r && { fingerprint: r.fingerprint, file: r.file, model: JSON.parse(r.model) as RelationModel };
  }

  /** The configuration as the last file holds it (undefined before the first). */
  latest(): RelationModel | undefined {
    return this.last()?.model;
  }

  /** Checks the configuration now; writes a file when it changed. */
  check(): CheckResult {
    const started = this.clock();
    this.lastCheck = started.getTime();
    const model = this.o.build(started);
    const finished = this.clock();
    model.info.startTimestamp = started.toISOString();
    model.info.finishTimestamp = finished.toISOString();
    const fp = fingerprint(model);
    const dir = RelationWriter.arrayDir(model);
    const latestDir = path.join(this.o.dataDir, LATEST_DIR, dir);
    const oldDir = path.join(this.o.dataDir, OLD_DIR, dir);
    const result: CheckResult = { written: false, file: null, zipped: [], deleted: [] };
    const prev = this.last();
    if (prev?.fingerprint !== fp) {
      fs.mkdirSync(latestDir, { recursive: true, mode: 0o700 });
      const name = `${stamp(finished)}.xml`;
      const file = path.join(latestDir, name);
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, relationXml(model), { mode: 0o600 });
      fs.renameSync(tmp, file);
      this.o.db.prepare('INSERT OR REPLACE INTO vvol_relation_last (id, fingerprint, file, model) VALUES (1, ?, ?, ?)').run(fp, file, JSON.stringify(model));
      result.written = true;
      result.file = file;
      this.o.onWritten?.(file);
      // Older generations leave the latest folder for the zip folder.
      for (const f of fs.readdirSync(latestDir)) {
        if (f === name || !f.endsWith('.xml')) continue;
        fs.mkdirSync(oldDir, { recursive: true, mode: 0o700 });
        const src = path.join(latestDir, f);
        const zip = path.join(oldDir, f.replace(/\.xml$/, '.zip'));
        const when = new Date(parseStamp(f.replace(/\.xml$/, '')) ?? finished.getTime());
        fs.writeFileSync(`${zip}.tmp`, zipOne(f, fs.readFileSync(src), when), { mode: 0o600 });
        fs.renameSync(`${zip}.tmp`, zip);
        fs.rmSync(src);
        result.zipped.push(zip);
      }
    }
    // Generations older than three days go.
    if (fs.existsSync(oldDir)) {
      for (const f of fs.readdirSync(oldDir)) {
        const t = parseStamp(f.replace(/\.zip$/, ''));
        if (!f.endsWith('.zip') || t === undefined || finished.getTime() - t <= KEEP_MS) continue;
        fs.rmSync(path.join(oldDir, f));
        result.deleted.push(path.join(oldDir, f));
      }
    }
    return result;
  }

  /** Runs a check when the interval has passed since the last one. */
  tick(): CheckResult | null {
    const due = this.lastCheck + this.o.interval() * 60_000;
    if (this.clock().getTime() < due) return null;
    try {
      return this.check();
    } catch (e) {
      this.o.onError?.(e as Error);
      return null;
    }
  }

  /** Checks once now, then every interval (looked at every 15 s, so a changed interval applies at once). */
  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
