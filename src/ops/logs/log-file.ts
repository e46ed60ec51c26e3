// The server's log kept in the data directory (DATA/logs/kura.log) besides
// stderr, so that kura logs collect can gather it: bounded by rotation at
// 4 MiB into kura.log.1 (one old file kept), so it never grows past 8 MiB.
import fs from 'node:fs';
import path from 'node:path';

export const LOG_FILE_MAX = 4 * 1024 * 1024;

export class RotatingLog {
  readonly file: string;
  private fd: number | null = null;
  private size = 0;

  constructor(dataDir: string) {
    const dir = path.join(dataDir, 'logs');
    this.file = path.join(dir, 'kura.log');
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.size = fs.fstatSync(this.fd).size;
    } catch {
      // No log file (read-only data dir): stderr still has everything.
      this.fd = null;
    }
  }

  write(line: string): void {
    if (this.fd === null) return;
    try {
      if (this.size + line.length > LOG_FILE_MAX) {
        fs.closeSync(this.fd);
        fs.renameSync(this.file, `${this.file}.1`);
        this.fd = fs.openSync(this.file, 'a', 0o600);
        this.size = 0;
      }
      this.size += fs.writeSync(this.fd, line);
    } catch {
      // A full disk must not stop the server over its log.
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
