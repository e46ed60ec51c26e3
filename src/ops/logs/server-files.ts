// What the manager itself contributes to a log collection: its log files
// (DATA/logs), the latest relation files of VM backups (DATA/latestRelationBetweenVMandVVOL), the
// pathd logs host agents left in DATA/pathd. Every file is scrubbed (scrub.ts) before it
// leaves the server; admin.token and the array's metadata are never read.
import fs from 'node:fs';
import path from 'node:path';
import { scrubText } from './scrub.js';

/** Bytes of one file taken at most (the newest part of a longer log). */
export const SUPPORT_FILE_MAX = 8 * 1024 * 1024;
/** Files taken from one directory at most. */
const DIR_FILES_MAX = 200;

export interface SupportFile {
  /** Path inside the archive. */
  path: string;
  content: string;
  /** The file was longer: only its last SUPPORT_FILE_MAX bytes are here. */
  truncated?: boolean;
}

function readTail(file: string): { content: string; truncated: boolean } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = Math.min(size, SUPPORT_FILE_MAX);
    const b = Buffer.alloc(n);
    fs.readSync(fd, b, 0, n, size - n);
    return { content: b.toString('utf8'), truncated: size > n };
  } finally {
    fs.closeSync(fd);
  }
}

/** Regular files under `dir` (recursively, no symlinks followed), as archive paths under `into`. */
function filesUnder(dir: string, into: string, known: string[]): SupportFile[] {
  const out: SupportFile[] = [];
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= DIR_FILES_MAX) return;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else if (e.isFile()) {
        try {
          const t = readTail(p);
          out.push({ path: `${into}/${rel}${e.name}`, content: scrubText(t.content, known), ...(t.truncated ? { truncated: true } : {}) });
        } catch {
          // Unreadable or gone: left out.
        }
      }
    }
  };
  walk(dir, '');
  return out;
}

export function supportFiles(o: { dataDir: string; known: string[] }): SupportFile[] {
  return [
    ...filesUnder(path.join(o.dataDir, 'logs'), 'logs/server', o.known),
    // Where the VVOL provider writes them (src/vvol/relation/writer.ts LATEST_DIR); the zipped older generations stay out.
    ...filesUnder(path.join(o.dataDir, 'latestRelationBetweenVMandVVOL'), 'relation', o.known),
    ...filesUnder(path.join(o.dataDir, 'pathd'), 'logs/pathd', o.known),
  ];
}
