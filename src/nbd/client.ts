// A small NBD client: fixed newstyle over TCP or a unix socket, NBD_OPT_GO (or
// NBD_OPT_EXPORT_NAME for old servers), structured replies and base:allocation
// when the server offers them, and any number of requests in flight with
// replies matched by handle. Tests use it; the multipath daemon will too.
import net from 'node:net';
import { ChunkQueue } from '../io/chunk-queue.js';
import * as P from './protocol.js';

export interface NbdAddress {
  host?: string;
  port?: number;
  /** Unix socket path (instead of host/port). */
  path?: string;
  /** Negotiation must finish within this many ms (default 30 000). */
  timeoutMs?: number;
}

export interface NbdConnectOptions extends NbdAddress {
  exportName: string;
  /** Negotiate structured replies (default true). */
  structuredReplies?: boolean;
  /** Select base:allocation for blockStatus() (default true; needs structured replies). */
  blockStatus?: boolean;
  /** Enter transmission with NBD_OPT_EXPORT_NAME rather than NBD_OPT_GO. */
  useExportName?: boolean;
}

export interface NbdBlockSizes {
  minimum: number;
  preferred: number;
  maximum: number;
}

export interface NbdExportInfo {
  name: string;
  description?: string;
  size: number;
  flags: number;
  blockSize?: NbdBlockSizes;
}

export interface NbdExtent {
  offset: number;
  length: number;
  /** base:allocation flags: NBD_STATE_HOLE, NBD_STATE_ZERO. */
  flags: number;
}

/** A request or option the server answered with an error (errno: NBD error or NBD_REP_ERR_*). */
export class NbdError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'NbdError';
  }
}

/** Reads exact byte counts during negotiation (not on the hot path, so promises are fine). */
class HandshakeReader {
  readonly q = new ChunkQueue();
  private want = 0;
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;
  private readonly onData = (d: Buffer) => {
    this.q.push(d);
    this.wake();
  };
  private readonly onEnd = (e?: Error) => this.abort(e instanceof Error ? e : new Error('the server closed the connection during negotiation'));

  constructor(private readonly sock: net.Socket) {
    sock.on('data', this.onData);
    sock.on('error', this.onEnd);
    sock.on('close', this.onEnd);
  }

  abort(e: Error): void {
    if (!this.error) this.error = e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.q.length >= this.want) {
      this.waiter = null;
      w.resolve(this.q.take(this.want)!);
    } else if (this.error) {
      this.waiter = null;
      w.reject(this.error);
    }
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = n;
      this.waiter = { resolve, reject };
      this.wake();
    });
  }

  detach(): void {
    this.sock.off('data', this.onData);
    this.sock.off('error', this.onEnd);
    this.sock.off('close', this.onEnd);
  }
}

/** Negotiation over one socket up to (but not including) transmission. */
class Handshake {
  noZeroes = false;
  private timer: NodeJS.Timeout | null = null;
  private constructor(
    readonly sock: net.Socket,
    readonly r: HandshakeReader,
  ) {}

  static async open(a: NbdAddress): Promise<Handshake> {
    const sock = a.path ? net.connect(a.path) : net.connect(a.port ?? 10809, a.host ?? '127.0.0.1');
    sock.setNoDelay(true);
    const hs = new Handshake(sock, new HandshakeReader(sock));
    const timer = setTimeout(() => hs.r.abort(new Error('NBD negotiation timed out')), a.timeoutMs ?? 30_000);
    hs.timer = timer;
    try {
      const hello = await hs.r.read(18);
      if (hello.readBigUInt64BE(0) !== P.NBDMAGIC || hello.readBigUInt64BE(8) !== P.IHAVEOPT) throw new Error('not an NBD newstyle server');
      const hflags = hello.readUInt16BE(16);
      if ((hflags & P.NBD_FLAG_FIXED_NEWSTYLE) === 0) throw new Error('the server does not speak fixed newstyle');
      hs.noZeroes = (hflags & P.NBD_FLAG_NO_ZEROES) !== 0;
      const cf = Buffer.allocUnsafe(4);
      cf.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | (hs.noZeroes ? P.NBD_FLAG_C_NO_ZEROES : 0), 0);
      sock.write(cf);
      return hs;
    } catch (e) {
      hs.close();
      throw e;
    }
  }

  sendOption(opt: number, data: Buffer): void {
    const h = Buffer.allocUnsafe(16);
    h.writeBigUInt64BE(P.IHAVEOPT, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(data.length, 12);
    this.sock.write(Buffer.concat([h, data]));
  }

  /** Sends an option and passes each reply to onReply until the final one (ACK or an error). */
  async option(opt: number, data: Buffer, onReply: (type: number, body: Buffer) => void = () => undefined): Promise<void> {
    this.sendOption(opt, data);
    for (;;) {
      const h = await this.r.read(20);
      if (h.readBigUInt64BE(0) !== P.NBD_REP_MAGIC) throw new Error('bad option reply magic');
      if (h.readUInt32BE(8) !== opt) throw new Error(`reply for option ${h.readUInt32BE(8)} while waiting for ${opt}`);
      const type = h.readUInt32BE(12);
      const len = h.readUInt32BE(16);
      if (len > 16 << 20) throw new Error(`option reply of ${len} bytes is implausibly long`);
      const body = await this.r.read(len);
      if (type === P.NBD_REP_ACK) return;
      if (type >= 0x80000000) throw new NbdError(type, body.toString('utf8') || `option ${opt} failed with reply type 0x${type.toString(16)}`);
      onReply(type, body);
    }
  }

  /** Ends negotiation politely and closes. */
  async abort(): Promise<void> {
    try {
      this.sendOption(P.NBD_OPT_ABORT, Buffer.alloc(0));
      await this.r.read(20).catch(() => undefined);
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.r.detach();
    this.sock.destroy();
  }

  /** Hands the socket over to transmission: stops the timer, returns bytes already received. */
  finish(): ChunkQueue {
    if (this.timer) clearTimeout(this.timer);
    this.r.detach();
    return this.r.q;
  }
}

function stringWithLength(s: string): Buffer {
  const b = Buffer.from(s);
  const out = Buffer.allocUnsafe(4 + b.length);
  out.writeUInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** Data of NBD_OPT_INFO/GO: export name and the info types we ask for. */
function infoRequest(name: string): Buffer {
  const types = [P.NBD_INFO_BLOCK_SIZE, P.NBD_INFO_NAME, P.NBD_INFO_DESCRIPTION];
  const t = Buffer.allocUnsafe(2 + 2 * types.length);
  t.writeUInt16BE(types.length, 0);
  types.forEach((x, i) => t.writeUInt16BE(x, 2 + 2 * i));
  return Buffer.concat([stringWithLength(name), t]);
}

function parseInfo(into: NbdExportInfo, body: Buffer): void {
  if (body.length < 2) return;
  const t = body.readUInt16BE(0);
  if (t === P.NBD_INFO_EXPORT && body.length >= 12) {
    into.size = Number(body.readBigUInt64BE(2));
    into.flags = body.readUInt16BE(10);
  } else if (t === P.NBD_INFO_NAME) into.name = body.toString('utf8', 2);
  else if (t === P.NBD_INFO_DESCRIPTION) into.description = body.toString('utf8', 2);
  else if (t === P.NBD_INFO_BLOCK_SIZE && body.length >= 14) {
    into.blockSize = { minimum: body.readUInt32BE(2), preferred: body.readUInt32BE(6), maximum: body.readUInt32BE(10) };
  }
}

interface Pending {
  handle: number;
  type: number;
  offset: number;
  length: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Read destination. */
  buf: Buffer | null;
  /** Bytes of the read covered so far (data or holes). */
  got: number;
  extents: NbdExtent[] | null;
  error: NbdError | null;
}

// Receive states.
const RX_HEADER = 0;
const RX_OFFSET = 1; // the 8-byte offset of an OFFSET_DATA chunk
const RX_DATA = 2; // read data streaming into its destination
const RX_PAYLOAD = 3; // a whole small chunk payload

export class NbdClient {
  /** Export size in bytes, as negotiated. */
  size = 0;
  /** Transmission flags. */
  flags = 0;
  exportName = '';
  description: string | undefined;
  blockSize: NbdBlockSizes | undefined;
  /** Structured replies are in use. */
  structured = false;
  /** Id of base:allocation, when selected. */
  metaContextId: number | null = null;
  /** Resolves with the reason once the connection has gone. */
  readonly closed: Promise<Error>;

  private readonly q: ChunkQueue;
  private readonly pending = new Map<number, Pending>();
  private readonly scratch = Buffer.allocUnsafe(28);
  private nextHandle = 1;
  private closedError: Error | null = null;
  private onClosed!: (e: Error) => void;
  private corked = false;
  // Receive state of the reply being parsed.
  private rx = RX_HEADER;
  private rxP: Pending | null = null;
  private rxDone = false;
  private rxType = 0;
  private rxLeft = 0;
  private rxPos = 0;

  private constructor(
    private readonly sock: net.Socket,
    q: ChunkQueue,
  ) {
    this.q = q;
    this.closed = new Promise((r) => (this.onClosed = r));
    sock.on('data', (d: Buffer) => {
      this.q.push(d);
      this.receive();
    });
    sock.on('error', (e) => this.shutdown(e));
    sock.on('close', () => this.shutdown(new Error('the NBD connection closed')));
  }

  /** Connects, negotiates and enters transmission. */
  static async connect(o: NbdConnectOptions): Promise<NbdClient> {
    const hs = await Handshake.open(o);
    const info: NbdExportInfo = { name: o.exportName, size: 0, flags: 0 };
    let structured = false;
    let metaId: number | null = null;
    try {
      if (o.structuredReplies !== false) {
        try {
          await hs.option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0));
          structured = true;
        } catch (e) {
          if (!(e instanceof NbdError)) throw e;
        }
      }
      if (structured && o.blockStatus !== false) {
        const q = Buffer.concat([stringWithLength(o.exportName), Buffer.from([0, 0, 0, 1]), stringWithLength(P.BASE_ALLOCATION)]);
        try {
          await hs.option(P.NBD_OPT_SET_META_CONTEXT, q, (type, body) => {
            if (type === P.NBD_REP_META_CONTEXT && body.length >= 4 && body.toString('utf8', 4) === P.BASE_ALLOCATION) metaId = body.readUInt32BE(0);
          });
        } catch (e) {
          if (!(e instanceof NbdError) || e.errno === P.NBD_REP_ERR_UNKNOWN) throw e;
        }
      }
      let go = !o.useExportName;
      if (go) {
        try {
          await hs.option(P.NBD_OPT_GO, infoRequest(o.exportName), (type, body) => {
            if (type === P.NBD_REP_INFO) parseInfo(info, body);
          });
        } catch (e) {
          // A server without NBD_OPT_GO: fall back to the old way in.
          if (!(e instanceof NbdError) || e.errno !== P.NBD_REP_ERR_UNSUP) throw e;
          go = false;
        }
      }
      if (!go) {
        const name = Buffer.from(o.exportName);
        hs.sendOption(P.NBD_OPT_EXPORT_NAME, name);
        const b = await hs.r.read(hs.noZeroes ? 10 : 134).catch((e: Error) => {
          throw new NbdError(P.NBD_REP_ERR_UNKNOWN, `the server closed the connection on export "${o.exportName}" (${e.message})`);
        });
        info.size = Number(b.readBigUInt64BE(0));
        info.flags = b.readUInt16BE(8);
      }
    } catch (e) {
      hs.close();
      throw e;
    }
    const c = new NbdClient(hs.sock, hs.finish());
    c.size = info.size;
    c.flags = info.flags;
    c.exportName = info.name;
    c.description = info.description;
    c.blockSize = info.blockSize;
    c.structured = structured;
    c.metaContextId = metaId;
    if (c.q.length) c.receive();
    return c;
  }

  /** Exports the server lists (NBD_OPT_LIST). */
  static async list(a: NbdAddress): Promise<Array<{ name: string; description?: string }>> {
    const hs = await Handshake.open(a);
    const out: Array<{ name: string; description?: string }> = [];
    try {
      await hs.option(P.NBD_OPT_LIST, Buffer.alloc(0), (type, body) => {
        if (type !== P.NBD_REP_SERVER || body.length < 4) return;
        const n = body.readUInt32BE(0);
        if (n > body.length - 4) throw new Error('malformed NBD_REP_SERVER reply');
        const e: { name: string; description?: string } = { name: body.toString('utf8', 4, 4 + n) };
        if (body.length > 4 + n) e.description = body.toString('utf8', 4 + n);
        out.push(e);
      });
    } catch (e) {
      hs.close();
      throw e;
    }
    await hs.abort();
    return out;
  }

  /** What NBD_OPT_INFO says about an export, without entering transmission. */
  static async info(o: NbdAddress & { exportName: string }): Promise<NbdExportInfo> {
    const hs = await Handshake.open(o);
    const info: NbdExportInfo = { name: o.exportName, size: 0, flags: 0 };
    try {
      await hs.option(P.NBD_OPT_INFO, infoRequest(o.exportName), (type, body) => {
        if (type === P.NBD_REP_INFO) parseInfo(info, body);
      });
    } catch (e) {
      hs.close();
      throw e;
    }
    await hs.abort();
    return info;
  }

  get readOnly(): boolean {
    return (this.flags & P.NBD_FLAG_READ_ONLY) !== 0;
  }
  get canMultiConn(): boolean {
    return (this.flags & P.NBD_FLAG_CAN_MULTI_CONN) !== 0;
  }
  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  // ---- receiving ----

  private protocolError(msg: string): void {
    this.shutdown(new Error(`NBD protocol error from the server: ${msg}`));
  }

  private receive(): void {
    const q = this.q;
    while (!this.closedError) {
      if (this.rx === RX_DATA) {
        const p = this.rxP!;
        const n = q.copyOut(p.buf!, this.rxPos, this.rxLeft);
        this.rxPos += n;
        this.rxLeft -= n;
        if (this.rxLeft > 0) return;
        this.rx = RX_HEADER;
        if (this.rxDone) this.complete(p);
        continue;
      }
      if (this.rx === RX_OFFSET) {
        if (!q.header(8, this.scratch)) return;
        const p = this.rxP!;
        const off = q.hbuf.readUInt32BE(q.hoff) * 0x100000000 + q.hbuf.readUInt32BE(q.hoff + 4);
        const rel = off - p.offset;
        if (p.type !== P.NBD_CMD_READ || rel < 0 || rel + this.rxLeft > p.length) return this.protocolError('read data outside the requested range');
        p.got += this.rxLeft;
        this.rxPos = rel;
        this.rx = RX_DATA;
        continue;
      }
      if (this.rx === RX_PAYLOAD) {
        if (q.length < this.rxLeft) return;
        const body = q.take(this.rxLeft)!;
        this.rx = RX_HEADER;
        const p = this.rxP!;
        if (!this.chunkPayload(p, body)) return;
        if (this.rxDone) this.complete(p);
        continue;
      }
      if (q.length < 4) return;
      const magic = q.peekUInt32();
      if (magic === P.NBD_SIMPLE_REPLY_MAGIC) {
        if (!q.header(P.NBD_SIMPLE_REPLY_SIZE, this.scratch)) return;
        const b = q.hbuf;
        const o = q.hoff;
        const err = b.readUInt32BE(o + 4);
        const lo = b.readUInt32BE(o + 8);
        const p = this.pending.get(lo);
        if (!p || b.readUInt32BE(o + 12) !== 0) return this.protocolError(`reply for unknown handle ${b.readUInt32BE(o + 12)}:${lo}`);
        if (err !== 0) {
          p.error = new NbdError(err, `NBD ${P.nbdErrorName(err)}`);
          this.complete(p);
        } else if (p.type === P.NBD_CMD_READ) {
          if (this.structured) return this.protocolError('simple reply to a read after structured replies were negotiated');
          p.got = p.length;
          this.rxP = p;
          this.rxPos = 0;
          this.rxLeft = p.length;
          this.rxDone = true;
          this.rx = RX_DATA;
        } else this.complete(p);
      } else if (magic === P.NBD_STRUCTURED_REPLY_MAGIC) {
        if (!this.structured) return this.protocolError('structured reply that was not negotiated');
        if (!q.header(P.NBD_STRUCTURED_REPLY_SIZE, this.scratch)) return;
        const b = q.hbuf;
        const o = q.hoff;
        const flags = b.readUInt16BE(o + 4);
        const type = b.readUInt16BE(o + 6);
        const lo = b.readUInt32BE(o + 8);
        const hi = b.readUInt32BE(o + 12);
        const len = b.readUInt32BE(o + 16);
        const p = this.pending.get(lo);
        if (!p || hi !== 0) return this.protocolError(`reply for unknown handle ${hi}:${lo}`);
        this.rxDone = (flags & P.NBD_REPLY_FLAG_DONE) !== 0;
        this.rxP = p;
        this.rxType = type;
        if (type === P.NBD_REPLY_TYPE_OFFSET_DATA) {
          if (len < 8 || !p.buf) return this.protocolError('malformed OFFSET_DATA chunk');
          this.rxLeft = len - 8;
          this.rx = RX_OFFSET;
        } else if (type === P.NBD_REPLY_TYPE_NONE) {
          if (len !== 0 || !this.rxDone) return this.protocolError('malformed NONE chunk');
          this.complete(p);
        } else {
          if (len > 64 << 20) return this.protocolError(`chunk payload of ${len} bytes`);
          this.rxLeft = len;
          this.rx = RX_PAYLOAD;
        }
      } else return this.protocolError(`bad reply magic 0x${magic.toString(16)}`);
    }
  }

  /** Interprets a whole non-data chunk; false after a protocol error. */
  private chunkPayload(p: Pending, body: Buffer): boolean {
    const type = this.rxType;
    if (type & P.NBD_REPLY_TYPE_ERROR_BIT) {
      if (body.length < 6) {
        this.protocolError('malformed error chunk');
        return false;
      }
      const err = body.readUInt32BE(0);
      const mlen = Math.min(body.readUInt16BE(4), body.length - 6);
      const msg = body.toString('utf8', 6, 6 + mlen);
      p.error ??= new NbdError(err, msg ? `NBD ${P.nbdErrorName(err)}: ${msg}` : `NBD ${P.nbdErrorName(err)}`);
      return true;
    }
    if (type === P.NBD_REPLY_TYPE_OFFSET_HOLE) {
      if (body.length !== 12 || !p.buf) {
        this.protocolError('malformed OFFSET_HOLE chunk');
        return false;
      }
      const rel = body.readUInt32BE(0) * 0x100000000 + body.readUInt32BE(4) - p.offset;
      const n = body.readUInt32BE(8);
      if (rel < 0 || rel + n > p.length) {
        this.protocolError('hole outside the requested range');
        return false;
      }
      p.buf.fill(0, rel, rel + n);
      p.got += n;
      return true;
    }
    if (type === P.NBD_REPLY_TYPE_BLOCK_STATUS) {
      if (p.type !== P.NBD_CMD_BLOCK_STATUS || body.length < 12 || (body.length - 4) % 8 !== 0) {
        this.protocolError('malformed BLOCK_STATUS chunk');
        return false;
      }
      if (body.readUInt32BE(0) !== this.metaContextId) return true; // a context we did not ask for
      const ext: NbdExtent[] = [];
      let off = p.offset;
      for (let i = 4; i < body.length; i += 8) {
        const length = body.readUInt32BE(i);
        ext.push({ offset: off, length, flags: body.readUInt32BE(i + 4) });
        off += length;
      }
      p.extents = ext;
      return true;
    }
    this.protocolError(`unknown chunk type ${type}`);
    return false;
  }

  private complete(p: Pending): void {
    this.pending.delete(p.handle);
    if (p.error) return p.reject(p.error);
    if (p.type === P.NBD_CMD_READ) {
      if (p.got !== p.length) return p.reject(new Error(`the server sent ${p.got} of ${p.length} bytes and claimed success`));
      return p.resolve(p.buf);
    }
    if (p.type === P.NBD_CMD_BLOCK_STATUS) {
      if (!p.extents) return p.reject(new Error('the server answered block status without extents'));
      return p.resolve(p.extents);
    }
    p.resolve(undefined);
  }

  private shutdown(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.q.clear();
    this.sock.destroy();
    this.onClosed(e);
  }

  // ---- sending ----

  /**
   * Sends one request and resolves with its result (read data, extents, or
   * nothing). Public for tests that need requests the typed methods refuse.
   */
  command(type: number, flags: number, offset: number, length: number, payload?: Buffer): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0 || length > 0xffffffff) {
      return Promise.reject(new RangeError(`bad offset/length ${offset}/${length}`));
    }
    let handle = this.nextHandle;
    while (this.pending.has(handle)) handle = (handle + 1) >>> 0 || 1;
    this.nextHandle = (handle + 1) >>> 0 || 1;
    const h = Buffer.allocUnsafe(28);
    h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(handle, 8);
    h.writeUInt32BE(0, 12);
    h.writeUInt32BE(Math.floor(offset / 0x100000000), 16);
    h.writeUInt32BE(offset >>> 0, 20);
    h.writeUInt32BE(length, 24);
    return new Promise((resolve, reject) => {
      this.pending.set(handle, {
        handle,
        type,
        offset,
        length,
        resolve,
        reject,
        buf: type === P.NBD_CMD_READ ? Buffer.allocUnsafe(length) : null,
        got: 0,
        extents: null,
        error: null,
      });
      // Requests issued in one tick leave in one writev.
      if (!this.corked) {
        this.corked = true;
        this.sock.cork();
        process.nextTick(() => {
          this.corked = false;
          this.sock.uncork();
        });
      }
      this.sock.write(h);
      if (payload) this.sock.write(payload);
    });
  }

  async read(offset: number, length: number, opts: { df?: boolean } = {}): Promise<Buffer> {
    return (await this.command(P.NBD_CMD_READ, opts.df ? P.NBD_CMD_FLAG_DF : 0, offset, length)) as Buffer;
  }

  async write(offset: number, data: Buffer, opts: { fua?: boolean } = {}): Promise<void> {
    await this.command(P.NBD_CMD_WRITE, opts.fua ? P.NBD_CMD_FLAG_FUA : 0, offset, data.length, data);
  }

  async flush(): Promise<void> {
    await this.command(P.NBD_CMD_FLUSH, 0, 0, 0);
  }

  async trim(offset: number, length: number, opts: { fua?: boolean } = {}): Promise<void> {
    await this.command(P.NBD_CMD_TRIM, opts.fua ? P.NBD_CMD_FLAG_FUA : 0, offset, length);
  }

  async writeZeroes(offset: number, length: number, opts: { fua?: boolean; noHole?: boolean } = {}): Promise<void> {
    await this.command(P.NBD_CMD_WRITE_ZEROES, (opts.fua ? P.NBD_CMD_FLAG_FUA : 0) | (opts.noHole ? P.NBD_CMD_FLAG_NO_HOLE : 0), offset, length);
  }

  async cache(offset: number, length: number): Promise<void> {
    await this.command(P.NBD_CMD_CACHE, 0, offset, length);
  }

  /** base:allocation extents from offset (at most length bytes; the server may describe fewer). */
  async blockStatus(offset: number, length: number, opts: { reqOne?: boolean } = {}): Promise<NbdExtent[]> {
    if (this.metaContextId === null) throw new Error('base:allocation was not negotiated on this connection');
    return (await this.command(P.NBD_CMD_BLOCK_STATUS, opts.reqOne ? P.NBD_CMD_FLAG_REQ_ONE : 0, offset, length)) as NbdExtent[];
  }

  /** Waits for requests in flight, sends NBD_CMD_DISC and closes once the server does. */
  async disconnect(): Promise<void> {
    if (this.closedError) return;
    const inflight = [...this.pending.values()].map(
      (p) =>
        new Promise<void>((r) => {
          const { resolve, reject } = p;
          p.resolve = (v) => (resolve(v), r());
          p.reject = (e) => (reject(e), r());
        }),
    );
    await Promise.all(inflight);
    if (this.closedError) return;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(P.NBD_CMD_DISC, 6);
    this.sock.end(h);
    await this.closed;
  }

  /** Drops the connection at once; requests in flight fail. */
  destroy(): void {
    this.shutdown(new Error('client destroyed'));
  }
}
