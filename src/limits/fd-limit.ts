// The process's limit on open file descriptors (RLIMIT_NOFILE, `ulimit -n`).
// Node cannot raise it, so the connection caps have to fit under it.
import fs from 'node:fs';

/** The soft limit, or undefined when it cannot be read (not Linux) or is unlimited. */
export function openFileLimit(): number | undefined {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)/m.exec(text);
    if (!m || m[1] === 'unlimited') return undefined;
    const n = Number(m[1]);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
