// A small NBD client (fixed newstyle, NBD_OPT_GO, simple replies) with many
// requests in flight. Tests use it; the multipath daemon will too.
import net from 'node:net';
import { ByteQueue } from './byte-queue.js';
import * as P from './protocol.js';

export interface NbdConnectOptions {
  host?: string;
  port?: number;
  path?: string;
  exportName: string;
}

export class NbdError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (b: Buffer | undefined) => void;
  reject: (e: Error) => void;
  readLength: number;
}

export class NbdClient {
  size = 0;
  flags = 0;
  private readonly q = new ByteQueue();
  private readonly pending = new Map<number, Pending>();
  private nextHandle = 1;
  /** The reply whose read payload is still arriving. */
  private awaiting: { p: Pending } | null = null;
  private closedError: Error | null = null;

  private constructor(private readonly sock: net.Socket) {}

  static connect(o: NbdConnectOptions): Promise<NbdClient> {
    return new Promise((resolve, reject) => {
      const sock = o.path ? net.connect(o.path) : net.connect(o.port!, o.host ?? '127.0.0.1');
      sock.setNoDelay(true);
      const c = new NbdClient(sock);
      let stage = 0;
      const fail = (e: Error) => {
        sock.destroy();
        reject(e);
      };
      sock.on('error', (e) => (stage < 3 ? fail(e) : c.shutdown(e)));
      sock.on('close', () => (stage < 3 ? fail(new Error('connection closed during negotiation')) : c.shutdown(new Error('connection closed'))));
      sock.on('data', (d: Buffer) => {
        c.q.push(d);
        try {
          if (stage === 0) {
            const h = c.q.take(18);
            if (!h) return;
            if (h.readBigUInt64BE(0) !== P.NBDMAGIC || h.readBigUInt64BE(8) !== P.IHAVEOPT) return fail(new Error('not an NBD newstyle server'));
            const cf = Buffer.alloc(4);
            cf.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES, 0);
            const name = Buffer.from(o.exportName);
            const data = Buffer.alloc(4 + name.length + 2);
            data.writeUInt32BE(name.length, 0);
            name.copy(data, 4);
            data.writeUInt16BE(0, 4 + name.length);
            const opt = Buffer.alloc(16);
            opt.writeBigUInt64BE(P.IHAVEOPT, 0);
            opt.writeUInt32BE(P.NBD_OPT_GO, 8);
            opt.writeUInt32BE(data.length, 12);
            sock.write(Buffer.concat([cf, opt, data]));
            stage = 1;
          }
          while (stage === 1) {
            if (c.q.length < 20) return;
            const h = c.q.take(20)!;
            const type = h.readUInt32BE(12);
            const len = h.readUInt32BE(16);
            if (c.q.length < len) {
              // Put it back: wait for the rest.
              const rest = c.q.take(c.q.length)!;
              c.q.push(Buffer.concat([h, rest]));
              return;
            }
            const body = c.q.take(len)!;
            if (type === P.NBD_REP_INFO && body.readUInt16BE(0) === P.NBD_INFO_EXPORT) {
              c.size = Number(body.readBigUInt64BE(2));
              c.flags = body.readUInt16BE(10);
            } else if (type === P.NBD_REP_ACK) {
              stage = 3;
              sock.removeAllListeners('data');
              sock.on('data', (d2: Buffer) => c.onData(d2));
              if (c.q.length) c.onData(Buffer.alloc(0));
              resolve(c);
            } else if (type >= 0x80000000) {
              return fail(new NbdError(type, `server refused export "${o.exportName}": ${body.toString()}`));
            }
          }
        } catch (e) {
          fail(e as Error);
        }
      });
    });
  }

  private onData(d: Buffer): void {
    this.q.push(d);
    for (;;) {
      if (this.awaiting) {
        const data = this.q.take(this.awaiting.p.readLength);
        if (!data) return;
        const p = this.awaiting.p;
        this.awaiting = null;
        p.resolve(Buffer.from(data));
        continue;
      }
      const h = this.q.take(16);
      if (!h) return;
      if (h.readUInt32BE(0) !== P.NBD_SIMPLE_REPLY_MAGIC) return this.shutdown(new Error('bad reply magic'));
      const err = h.readUInt32BE(4);
      const handle = h.readUInt32BE(12);
      const p = this.pending.get(handle);
      if (!p) return this.shutdown(new Error(`reply for unknown handle ${handle}`));
      this.pending.delete(handle);
      if (err !== 0) p.reject(new NbdError(err, `NBD error ${err}`));
      else if (p.readLength > 0) this.awaiting = { p };
      else p.resolve(undefined);
    }
  }

  private shutdown(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.sock.destroy();
  }

  private request(type: number, flags: number, offset: number, length: number, payload?: Buffer, readLength = 0): Promise<Buffer | undefined> {
    if (this.closedError) return Promise.reject(this.closedError);
    const handle = this.nextHandle++ >>> 0;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(0, 8);
    h.writeUInt32BE(handle, 12);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    return new Promise((resolve, reject) => {
      this.pending.set(handle, { resolve, reject, readLength });
      this.sock.cork();
      this.sock.write(h);
      if (payload) this.sock.write(payload);
      this.sock.uncork();
    });
  }

  async read(offset: number, length: number): Promise<Buffer> {
    return (await this.request(P.NBD_CMD_READ, 0, offset, length, undefined, length))!;
  }

  async write(offset: number, data: Buffer, opts: { fua?: boolean } = {}): Promise<void> {
    await this.request(P.NBD_CMD_WRITE, opts.fua ? P.NBD_CMD_FLAG_FUA : 0, offset, data.length, data);
  }

  async flush(): Promise<void> {
    await this.request(P.NBD_CMD_FLUSH, 0, 0, 0);
  }

  async trim(offset: number, length: number): Promise<void> {
    await this.request(P.NBD_CMD_TRIM, 0, offset, length);
  }

  async writeZeroes(offset: number, length: number, opts: { fua?: boolean; noHole?: boolean } = {}): Promise<void> {
    await this.request(P.NBD_CMD_WRITE_ZEROES, (opts.fua ? P.NBD_CMD_FLAG_FUA : 0) | (opts.noHole ? P.NBD_CMD_FLAG_NO_HOLE : 0), offset, length);
  }

  /** Sends NBD_CMD_DISC and closes once the server does. */
  async disconnect(): Promise<void> {
    if (this.closedError) return;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(P.NBD_CMD_DISC, 6);
    this.sock.end(h);
    await new Promise<void>((r) => this.sock.once('close', () => r()));
  }

  destroy(): void {
    this.shutdown(new Error('client destroyed'));
  }
}
