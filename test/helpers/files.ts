// Looking at what a test left on disk.
import fs from 'node:fs';
import path from 'node:path';

/** Every file and directory under `dir` (not following symbolic links). */
export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}
