// A physical disk: a sparse backing file (or block device) read and written
// positionally. Callback-style fs calls keep the hot path free of extra promises
// layers; libuv's thread pool carries them.
import fs from 'node:fs';
import { readNowait } from './native-io.js';

const RESOLVED = Promise.resolve();
/**
 * Larger reads stay on the thread pool even when cached: their copy is long
 * enough to be worth doing beside the event loop (which then only sends).
 */
const NOWAIT_MAX = 128 * 1024;

export type PdState = 'ready' | 'failed';

export class PhysicalDisk {
  readonly number: number;
  readonly path: string;
  readonly size: number;
  state: PdState = 'ready';
  /** Set by every write, cleared when a sync starts: a clean PD needs no fdatasync. */
  dirty = false;
  private fd: number;
  /** Cleared when the file system refuses RWF_NOWAIT, so we stop asking. */
  private nowait = readNowait !== null;

  private constructor(number: number, path: string, size: number, fd: number) {
    this.number = number;
    this.path = path;
    this.size = size;
    this.fd = fd;
  }

  /** Creates a sparse file of `size` bytes (refuses to overwrite an existing one). */
  static create(number: number, path: string, size: number): PhysicalDisk {
    const fd = fs.openSync(path, 'wx+', 0o600);
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
    return new PhysicalDisk(number, path, size, fd);
  }

  static open(number: number, path: string, size: number): PhysicalDisk {
    let fd = -1;
    const pd = new PhysicalDisk(number, path, size, fd);
    try {
      fd = fs.openSync(path, 'r+');
      pd.fd = fd;
      const st = fs.fstatSync(fd);
      if (st.isFile() && st.size < size) pd.state = 'failed';
    } catch {
      pd.state = 'failed';
    }
    return pd;
  }

  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    if (this.nowait && length <= NOWAIT_MAX) {
      // Cached data is copied right here; only what would block goes to the thread pool.
      const n = readNowait!(this.fd, buf, bufOffset, length, position);
      if (n === length) return RESOLVED;
      if (n === -2) this.nowait = false;
      else if (n > 0) {
        bufOffset += n;
        length -= n;
        position += n;
      }
    }
    return new Promise((resolve, reject) => {
      fs.read(this.fd, buf, bufOffset, length, position, (err, n) => {
        if (err) reject(err);
        else if (n < length) {
          // A short read inside the PD's size means the file shrank under us.
          buf.fill(0, bufOffset + n, bufOffset + length);
          resolve();
        } else resolve();
      });
    });
  }

  write(buf: Buffer, bufOffset: number, length: number, position: number): Promise<void> {
    this.dirty = true;
    return new Promise((resolve, reject) => {
      fs.write(this.fd, buf, bufOffset, length, position, (err, n) => {
        if (err) reject(err);
        else if (n < length) {
          // Positional writes to a regular file complete in full or fail; be safe anyway.
          this.write(buf, bufOffset + n, length - n, position + n).then(resolve, reject);
        } else resolve();
      });
    });
  }

  sync(): Promise<void> {
    this.dirty = false;
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  grow(size: number): void {
    fs.ftruncateSync(this.fd, size);
    (this as { size: number }).size = size;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
