// pathd's event log: one line per event in its own file, rotated like the
// seed's spsevent.log (current file up to a size, then renamed to .old so two
// generations remain), copied to syslog through logger(1), and handed to any
// other sink (stdout, the array manager).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EventLevel } from './device.js';
import { seedEvent, seedTag } from './seed-events.js';
import type { SeedLevel } from './seed-events.js';

export interface LogEntry {
  time: string;
  level: EventLevel;
  id: string;
  text: string;
  /** The seed's event id (PathManager Table 3-2) when this event is one of them. */
  seedEvent?: number;
  /** The seed's level of that event. */
  seedLevel?: SeedLevel;
}

/** The event as one line of text (log file, syslog, archive): the seed's id and level follow the text. */
export function entryText(e: LogEntry): string {
  return e.seedEvent === undefined ? e.text : `${e.text} ${seedTag(e.seedEvent, e.seedLevel!)}`;
}

export interface PathLogOptions {
  dir?: string;
  /** Rotate when the file reaches this many bytes (default 5 MiB). */
  maxBytes?: number;
  syslog?: boolean;
  sinks?: Array<(e: LogEntry) => void>;
}

export class PathLog {
  readonly file: string | undefined;
  readonly recent: LogEntry[] = [];
  private readonly maxBytes: number;
  private size = 0;

  constructor(private readonly opts: PathLogOptions) {
    this.maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
    if (opts.dir) {
      fs.mkdirSync(opts.dir, { recursive: true });
      this.file = path.join(opts.dir, 'pathd.log');
      try {
        this.size = fs.statSync(this.file).size;
      } catch {
        this.size = 0;
      }
    }
  }

  event(level: EventLevel, id: string, text: string, seed?: number): void {
    const e: LogEntry = { time: new Date().toISOString(), level, id, text };
    if (seed !== undefined) {
      const s = seedEvent(seed);
      e.seedEvent = s.id;
      e.seedLevel = s.level;
    }
    this.recent.push(e);
    if (this.recent.length > 1000) this.recent.shift();
    const line = `${e.time} ${level.toUpperCase()} ${id} ${entryText(e)}\n`;
    if (this.file) {
      try {
        if (this.size + line.length > this.maxBytes) {
          fs.renameSync(this.file, `${this.file}.old`);
          this.size = 0;
        }
        fs.appendFileSync(this.file, line);
        this.size += Buffer.byteLength(line);
      } catch {
        // A full or vanished log directory must not stop path handling.
      }
    }
    if (this.opts.syslog) this.syslog(e);
    for (const s of this.opts.sinks ?? []) s(e);
  }

  private syslog(e: LogEntry): void {
    const prio = e.level === 'error' ? 'daemon.err' : e.level === 'warning' ? 'daemon.warning' : 'daemon.info';
    try {
      const c = spawn('logger', ['-t', 'kura-pathd', '-p', prio, '--', `${e.id} ${entryText(e)}`], { stdio: 'ignore', timeout: 5000 });
      c.on('error', () => undefined);
      c.unref();
    } catch {
      // No logger(1): the log file still has the event.
    }
  }
}
