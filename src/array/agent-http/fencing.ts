// Fencing on the array's side: the highest token seen per role, kept in
// DATA/fencing.json across restarts, and a log of every fenced call
// (DATA/fencing.log, one JSON object a line) that tests and operators read to
// prove no stale token was ever accepted.
import fs from 'node:fs';
import path from 'node:path';
import { FENCING_TOKEN_MISSING, FENCING_TOKEN_STALE } from '../../catalogue/ha.js';

export interface FencingLogEntry {
  time: string;
  role: string;
  token: number;
  /** The highest token of the role before this call. */
  highest: number;
  method: string;
  outcome: 'accepted' | 'refused';
}

export class FencingRegister {
  private readonly highest = new Map<string, number>();
  private readonly stateFile: string;
  readonly logFile: string;

  constructor(dataDir: string) {
    this.stateFile = path.join(dataDir, 'fencing.json');
    this.logFile = path.join(dataDir, 'fencing.log');
    try {
      const saved = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as Record<string, number>;
      for (const [role, token] of Object.entries(saved)) if (Number.isSafeInteger(token)) this.highest.set(role, token);
    } catch {
      // First start (or a torn file, which the rename below never leaves): no token seen yet.
    }
  }

  highestOf(role: string): number {
    return this.highest.get(role) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.highest);
  }

  /**
   * Admits a changing call fenced with `header` ("ROLE:TOKEN") or throws: a token
   * older than the highest seen for its role is refused. The new highest is on
   * disk before the call runs, so a restarted array still refuses older tokens.
   */
  admit(header: string | undefined, method: string): void {
    const m = header === undefined ? null : /^([a-z][a-z0-9-]{0,31}):(\d{1,15})$/.exec(header);
    if (!m) throw FENCING_TOKEN_MISSING({ method });
    const role = m[1]!;
    const token = Number(m[2]);
    const highest = this.highestOf(role);
    const accepted = token >= highest;
    this.log({ time: new Date().toISOString(), role, token, highest, method, outcome: accepted ? 'accepted' : 'refused' });
    if (!accepted) throw FENCING_TOKEN_STALE({ role, token, highest });
    if (token > highest) {
      this.highest.set(role, token);
      const tmp = `${this.stateFile}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.snapshot()) + '\n', { mode: 0o600 });
      fs.renameSync(tmp, this.stateFile);
    }
  }

  private log(e: FencingLogEntry): void {
    fs.appendFileSync(this.logFile, JSON.stringify(e) + '\n', { mode: 0o600 });
  }
}

/** Reads a fencing log (tests, kura check). */
export function readFencingLog(file: string): FencingLogEntry[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FencingLogEntry);
}
