// NBD server (fixed newstyle). Negotiation runs synchronously over the receive
// queue. In transmission, requests are parsed as they arrive and dispatched
// without waiting for earlier ones (replies may come back out of order, as the
// protocol allows); a per-connection cap on bytes and requests in flight, and on
// replies not yet taken by the client, pauses reading instead of buffering.
//
// Error choices (the protocol leaves some open):
// - READ, TRIM, CACHE and BLOCK_STATUS beyond the end of the export: EINVAL;
//   WRITE and WRITE_ZEROES beyond the end: ENOSPC (the protocol's SHOULD).
// - Unaligned offset or length (to the device block size): EINVAL.
// - READ longer than 32 MiB: EINVAL. WRITE longer than 32 MiB: the connection
//   is closed, since answering would mean reading (or buffering) its payload.
// - Bad request or option magic, unknown client flags, options over 64 KiB:
//   the connection is closed.
import fs from 'node:fs';
import net from 'node:net';
import type { AllocationExtent, BlockDevice } from '../block/device.js';
import { KuraError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';
import * as P from './protocol.js';

export interface NbdExportEntry {
  name: string;
  description?: string;
}

/** What the server serves: the array's export provider fits this shape. */
export interface NbdExportProvider {
  list(): NbdExportEntry[];
  open(name: string): BlockDevice | undefined;
}

export interface NbdServerOptions {
  exports: NbdExportProvider;
  /** Export chosen by an empty name; without it, the only export if there is exactly one. */
  defaultExport?: string;
  log?: (msg: string) => void;
  /** Negotiation must finish within this many ms (default 30 000; 0: no limit). */
  handshakeTimeoutMs?: number;
  /** Per-connection cap on payload bytes in flight (default 64 MiB). */
  maxInflightBytes?: number;
}

const DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
/** Requests in flight per connection above which reading pauses (zero-length ones cost memory too). */
const MAX_INFLIGHT_REQUESTS = 4096;
/** Block status replies carry at most this many descriptors (the protocol allows fewer than asked). */
const MAX_EXTENTS = 16384;
/** How long close() lets requests in flight finish before cutting connections. */
const CLOSE_GRACE_MS = 3000;

export class NbdServer {
  private readonly opts: NbdServerOptions;
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<NbdConnection>();
  private tcp: net.Server | null = null;

  constructor(opts: NbdServerOptions) {
    this.opts = opts;
  }

  /** Connections currently open (negotiating or in transmission). */
  get connectionCount(): number {
    return this.conns.size;
  }

  private makeServer(): net.Server {
    const srv = net.createServer((sock) => {
      try {
        const c = new NbdConnection(sock, this.opts, () => this.conns.delete(c));
        this.conns.add(c);
      } catch (e) {
        this.opts.log?.(`nbd: cannot set up a connection: ${(e as Error).message}`);
        sock.destroy();
      }
    });
    srv.on('error', (e) => this.opts.log?.(`nbd: listener error: ${e.message}`));
    this.servers.push(srv);
    return srv;
  }

  private start(srv: net.Server, listen: (cb: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => {
        this.servers.splice(this.servers.indexOf(srv), 1);
        reject(e);
      };
      srv.once('error', fail);
      listen(() => {
        srv.off('error', fail);
        resolve();
      });
    });
  }

  /** Listens on TCP (port 0 picks a free port; see address()). */
  async listen(host: string, port: number): Promise<void> {
    const srv = this.makeServer();
    await this.start(srv, (cb) => srv.listen(port, host, cb));
    this.tcp = srv;
  }

  /** Listens on a unix socket; a stale socket file at the path is replaced. */
  async listenUnix(path: string): Promise<void> {
    try {
      if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
    } catch {
      // Nothing there (or not ours to remove: listen reports it).
    }
    const srv = this.makeServer();
    await this.start(srv, (cb) => srv.listen(path, cb));
  }

  /** The bound address of the TCP listener. */
  address(): { host: string; port: number } {
    const a = this.tcp?.address() as net.AddressInfo | null | undefined;
    if (!a || typeof a !== 'object') throw new Error('the NBD server is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  /** Stops listening and ends every connection (requests in flight get a short grace period). */
  async close(): Promise<void> {
    const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    this.servers.length = 0;
    this.tcp = null;
    const gone = [...this.conns].map((c) => c.gone);
    for (const c of this.conns) c.shutdown(CLOSE_GRACE_MS);
    // net.Server.close calls back once its last socket has closed.
    await Promise.all([...closed, ...gone]);
  }
}

function errno(e: unknown): number {
  if (e instanceof KuraError) {
    switch (e.code) {
      case 'ENOSPC':
        return P.NBD_ENOSPC;
      case 'EROFS':
      case 'EPERM':
        return P.NBD_EPERM;
      case 'EINVAL':
      case 'ERANGE':
        return P.NBD_EINVAL;
      default:
        return P.NBD_EIO;
    }
  }
  return P.NBD_EIO;
}

/** Largest power of two <= n (n >= 1). */
function pow2floor(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** Command flags each command accepts; FUA is accepted everywhere (clients set it loosely). */
function allowedFlags(type: number, structured: boolean): number {
  switch (type) {
    case P.NBD_CMD_READ:
      return P.NBD_CMD_FLAG_FUA | (structured ? P.NBD_CMD_FLAG_DF : 0);
    case P.NBD_CMD_WRITE_ZEROES:
      return P.NBD_CMD_FLAG_FUA | P.NBD_CMD_FLAG_NO_HOLE;
    case P.NBD_CMD_BLOCK_STATUS:
      return P.NBD_CMD_FLAG_FUA | P.NBD_CMD_FLAG_REQ_ONE;
    default:
      return P.NBD_CMD_FLAG_FUA;
  }
}

type State = 'client-flags' | 'options' | 'transmission' | 'closing' | 'closed';

interface Resolved {
  name: string;
  dev: BlockDevice;
}

class NbdConnection {
  private readonly sock: net.Socket;
  private readonly opts: NbdServerOptions;
  private readonly onGone: () => void;
  private readonly peer: string;
  /** Resolves once the connection is closed and forgotten. */
  readonly gone: Promise<void>;
  private resolveGone!: () => void;
  private readonly q = new ByteQueue();
  private readonly scratch = Buffer.allocUnsafe(P.NBD_REQUEST_SIZE);
  private readonly maxInflightBytes: number;
  private state: State = 'client-flags';
  private noZeroes = false;
  private structured = false;
  /** Export for which NBD_OPT_SET_META_CONTEXT selected base:allocation, if any. */
  private metaExport: string | null = null;
  /** base:allocation is usable in transmission. */
  private metaAllocation = false;
  private dev: BlockDevice | null = null;
  private inflight = 0;
  private inflightBytes = 0;
  private paused = false;
  private corked = false;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  // A write whose payload has not fully arrived yet (fields, not an object, per request).
  private wPending = false;
  private wFlags = 0;
  private wLo = 0;
  private wHi = 0;
  private wOffset = 0;
  private wLength = 0;
  private wBuf: Buffer | null = null;
  private wPos = 0;

  constructor(sock: net.Socket, opts: NbdServerOptions, onGone: () => void) {
    this.sock = sock;
    this.opts = opts;
    this.onGone = onGone;
    this.gone = new Promise((r) => (this.resolveGone = r));
    this.peer = sock.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : 'unix socket';
    this.maxInflightBytes = opts.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      if (this.state === 'closing' || this.state === 'closed') return;
      this.q.push(d);
      try {
        this.pump();
      } catch (e) {
        this.fail(`internal error: ${(e as Error).stack ?? String(e)}`);
      }
    });
    sock.on('drain', () => this.flow());
    sock.on('error', () => this.destroy());
    sock.on('close', () => this.destroy());
    const timeout = opts.handshakeTimeoutMs ?? 30_000;
    if (timeout > 0) this.handshakeTimer = setTimeout(() => this.fail('negotiation timed out'), timeout);
    const hello = Buffer.allocUnsafe(18);
    hello.writeBigUInt64BE(P.NBDMAGIC, 0);
    hello.writeBigUInt64BE(P.IHAVEOPT, 8);
    hello.writeUInt16BE(P.NBD_FLAG_FIXED_NEWSTYLE | P.NBD_FLAG_NO_ZEROES, 16);
    sock.write(hello);
  }

  /** Hard disconnect after a protocol violation or an internal error. */
  private fail(why: string): void {
    if (this.state === 'closed') return;
    this.opts.log?.(`nbd: ${this.peer}: closing the connection: ${why}`);
    this.destroy();
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.q.clear();
    this.sock.destroy();
    this.onGone();
    this.resolveGone();
  }

  /** Server shutdown: stop taking requests, let those in flight finish, then close. */
  shutdown(graceMs: number): void {
    if (this.state !== 'transmission') return this.destroy();
    this.beginClosing();
    this.graceTimer = setTimeout(() => this.destroy(), graceMs);
  }

  /** Soft close: no more requests are parsed; the socket ends once replies are out. */
  private beginClosing(): void {
    this.state = 'closing';
    this.q.clear();
    this.wPending = false;
    this.wBuf = null;
    if (this.inflight === 0) this.sock.end();
  }

  private pump(): void {
    for (;;) {
      switch (this.state) {
        case 'transmission':
          if (!this.transmissionStep()) return;
          break;
        case 'options':
          if (!this.optionStep()) return;
          break;
        case 'client-flags': {
          const b = this.q.take(4);
          if (!b) return;
          const flags = b.readUInt32BE(0);
          // The protocol requires closing on unknown flags; we speak only fixed newstyle.
          if ((flags & P.NBD_FLAG_C_FIXED_NEWSTYLE) === 0 || (flags & ~(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES)) !== 0) {
            return this.fail(`unsupported client flags 0x${flags.toString(16)}`);
          }
          this.noZeroes = (flags & P.NBD_FLAG_C_NO_ZEROES) !== 0;
          this.state = 'options';
          break;
        }
        default:
          return;
      }
    }
  }

  // ---- negotiation ----

  /** Handles one whole option; false when more bytes are needed. */
  private optionStep(): boolean {
    const h = this.q.peek(P.NBD_OPTION_HEADER_SIZE);
    if (!h) return false;
    if (h.readBigUInt64BE(0) !== P.IHAVEOPT) {
      this.fail('bad option magic');
      return false;
    }
    const opt = h.readUInt32BE(8);
    const len = h.readUInt32BE(12);
    if (len > P.NBD_MAX_OPTION) {
      this.fail(`option ${opt} of ${len} bytes is too long`);
      return false;
    }
    if (this.q.length < P.NBD_OPTION_HEADER_SIZE + len) return false;
    this.q.skip(P.NBD_OPTION_HEADER_SIZE);
    this.option(opt, this.q.take(len)!);
    return true;
  }

  private reply(opt: number, type: number, data?: Buffer): void {
    const n = data ? data.length : 0;
    const b = Buffer.allocUnsafe(P.NBD_OPTION_REPLY_SIZE + n);
    b.writeBigUInt64BE(P.NBD_REP_MAGIC, 0);
    b.writeUInt32BE(opt >>> 0, 8);
    b.writeUInt32BE(type >>> 0, 12);
    b.writeUInt32BE(n, 16);
    if (data) data.copy(b, P.NBD_OPTION_REPLY_SIZE);
    this.sock.write(b);
  }

  private replyError(opt: number, type: number, msg: string): void {
    this.reply(opt, type, Buffer.from(msg));
  }

  /** Info reply: a 16-bit info type followed by its data. */
  private replyInfo(opt: number, info: number, data: Buffer): void {
    const b = Buffer.allocUnsafe(2 + data.length);
    b.writeUInt16BE(info, 0);
    data.copy(b, 2);
    this.reply(opt, P.NBD_REP_INFO, b);
  }

  private resolveExport(name: string): Resolved | undefined {
    let chosen = name;
    if (name === '') {
      if (this.opts.defaultExport) chosen = this.opts.defaultExport;
      else {
        const all = this.opts.exports.list();
        if (all.length !== 1) return undefined;
        chosen = all[0]!.name;
      }
    }
    const dev = this.opts.exports.open(chosen);
    return dev ? { name: chosen, dev } : undefined;
  }

  private transmissionFlags(dev: BlockDevice): number {
    // The array's flush is global (and the file fixture's fdatasync is per file),
    // so a FLUSH on one connection covers writes completed on all: multi-conn is safe.
    let f = P.NBD_FLAG_HAS_FLAGS | P.NBD_FLAG_SEND_FLUSH | P.NBD_FLAG_SEND_FUA | P.NBD_FLAG_CAN_MULTI_CONN | P.NBD_FLAG_SEND_CACHE;
    // DF must be clear unless structured replies were negotiated.
    if (this.structured) f |= P.NBD_FLAG_SEND_DF;
    if (dev.readOnly) f |= P.NBD_FLAG_READ_ONLY;
    else f |= P.NBD_FLAG_SEND_TRIM | P.NBD_FLAG_SEND_WRITE_ZEROES;
    return f;
  }

  private exportSize(dev: BlockDevice): bigint {
    return BigInt(dev.blockCount) * BigInt(dev.blockSize);
  }

  private enterTransmission(r: Resolved): void {
    this.dev = r.dev;
    // A context selected for another export does not carry over (per the protocol).
    this.metaAllocation = this.structured && this.metaExport === r.name;
    this.state = 'transmission';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private option(opt: number, data: Buffer): void {
    switch (opt) {
      case P.NBD_OPT_EXPORT_NAME: {
        const name = data.length <= P.NBD_MAX_STRING ? data.toString('utf8') : null;
        const r = name === null ? undefined : this.resolveExport(name);
        // This option has no error reply: the protocol says to close.
        if (!r) return this.fail(`NBD_OPT_EXPORT_NAME for an unknown export "${(name ?? '').slice(0, 64)}"`);
        const b = Buffer.alloc(this.noZeroes ? 10 : 134);
        b.writeBigUInt64BE(this.exportSize(r.dev), 0);
        b.writeUInt16BE(this.transmissionFlags(r.dev), 8);
        this.sock.write(b);
        return this.enterTransmission(r);
      }
      case P.NBD_OPT_ABORT:
        this.reply(opt, P.NBD_REP_ACK);
        return this.beginClosing();
      case P.NBD_OPT_LIST: {
        if (data.length !== 0) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'NBD_OPT_LIST takes no data');
        for (const e of this.opts.exports.list()) {
          const name = Buffer.from(e.name);
          const desc = e.description ? Buffer.from(e.description) : Buffer.alloc(0);
          const b = Buffer.allocUnsafe(4 + name.length + desc.length);
          b.writeUInt32BE(name.length, 0);
          name.copy(b, 4);
          desc.copy(b, 4 + name.length);
          this.reply(opt, P.NBD_REP_SERVER, b);
        }
        return this.reply(opt, P.NBD_REP_ACK);
      }
      case P.NBD_OPT_INFO:
      case P.NBD_OPT_GO:
        return this.infoOrGo(opt, data);
      case P.NBD_OPT_STRUCTURED_REPLY:
        if (data.length !== 0) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'NBD_OPT_STRUCTURED_REPLY takes no data');
        this.structured = true;
        return this.reply(opt, P.NBD_REP_ACK);
      case P.NBD_OPT_LIST_META_CONTEXT:
      case P.NBD_OPT_SET_META_CONTEXT:
        return this.metaContext(opt, data);
      default:
        // Including NBD_OPT_STARTTLS and NBD_OPT_EXTENDED_HEADERS.
        return this.replyError(opt, P.NBD_REP_ERR_UNSUP, `option ${opt} is not supported`);
    }
  }

  private infoOrGo(opt: number, data: Buffer): void {
    if (data.length < 6) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'option too short');
    const nameLen = data.readUInt32BE(0);
    if (nameLen > data.length - 6) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'export name length exceeds the option');
    const name = data.toString('utf8', 4, 4 + nameLen);
    const nReq = data.readUInt16BE(4 + nameLen);
    if (4 + nameLen + 2 + nReq * 2 !== data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'information request count does not match the option length');
    const r = this.resolveExport(name);
    if (!r) {
      const why = name === '' ? 'no default export is configured' : `no export named "${name.slice(0, 256)}"`;
      return this.replyError(opt, P.NBD_REP_ERR_UNKNOWN, why);
    }
    const dev = r.dev;
    let wantName = false;
    let wantDescription = false;
    for (let i = 0; i < nReq; i++) {
      const t = data.readUInt16BE(4 + nameLen + 2 + i * 2);
      if (t === P.NBD_INFO_NAME) wantName = true;
      else if (t === P.NBD_INFO_DESCRIPTION) wantDescription = true;
    }
    const exp = Buffer.allocUnsafe(10);
    exp.writeBigUInt64BE(this.exportSize(dev), 0);
    exp.writeUInt16BE(this.transmissionFlags(dev), 8);
    this.replyInfo(opt, P.NBD_INFO_EXPORT, exp);
    if (wantName) this.replyInfo(opt, P.NBD_INFO_NAME, Buffer.from(r.name));
    if (wantDescription) {
      const d = this.opts.exports.list().find((e) => e.name === r.name)?.description;
      if (d) this.replyInfo(opt, P.NBD_INFO_DESCRIPTION, Buffer.from(d));
    }
    // Sent whether asked or not: clients that understand it align requests to
    // our blocks; others were told by the protocol to use 512-byte alignment.
    const bsz = Buffer.allocUnsafe(12);
    const minimum = dev.blockSize;
    const preferred = Math.max(4096, minimum, Math.min(pow2floor(Math.max(1, dev.optimalIoSize)), P.NBD_MAX_PAYLOAD));
    bsz.writeUInt32BE(minimum, 0);
    bsz.writeUInt32BE(preferred, 4);
    bsz.writeUInt32BE(P.NBD_MAX_PAYLOAD, 8);
    this.replyInfo(opt, P.NBD_INFO_BLOCK_SIZE, bsz);
    this.reply(opt, P.NBD_REP_ACK);
    if (opt === P.NBD_OPT_GO) this.enterTransmission(r);
  }

  private metaContext(opt: number, data: Buffer): void {
    const set = opt === P.NBD_OPT_SET_META_CONTEXT;
    if (set && !this.structured) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'structured replies must be negotiated first');
    if (data.length < 8) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'option too short');
    const nameLen = data.readUInt32BE(0);
    if (nameLen > data.length - 8) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'export name length exceeds the option');
    const name = data.toString('utf8', 4, 4 + nameLen);
    const n = data.readUInt32BE(4 + nameLen);
    let pos = 4 + nameLen + 4;
    const queries: string[] = [];
    for (let i = 0; i < n; i++) {
      if (pos + 4 > data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'query length exceeds the option');
      const ql = data.readUInt32BE(pos);
      pos += 4;
      if (ql > data.length - pos) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'query exceeds the option');
      queries.push(data.toString('utf8', pos, pos + ql));
      pos += ql;
    }
    if (pos !== data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'trailing bytes in the option');
    const r = this.resolveExport(name);
    if (!r) return this.replyError(opt, P.NBD_REP_ERR_UNKNOWN, `no export named "${name.slice(0, 256)}"`);
    let selected: boolean;
    if (set) {
      // Only the exact name selects; a bare namespace selects nothing here.
      selected = queries.includes(P.BASE_ALLOCATION);
      this.metaExport = selected ? r.name : null;
    } else {
      selected = queries.length === 0 || queries.some((q) => q === P.BASE_ALLOCATION || q === 'base:');
    }
    if (selected) {
      const ctx = Buffer.from(P.BASE_ALLOCATION);
      const b = Buffer.allocUnsafe(4 + ctx.length);
      // List replies carry a reserved id of 0; set replies the id used in transmission.
      b.writeUInt32BE(set ? P.BASE_ALLOCATION_ID : 0, 0);
      ctx.copy(b, 4);
      this.reply(opt, P.NBD_REP_META_CONTEXT, b);
    }
    this.reply(opt, P.NBD_REP_ACK);
  }

  // ---- transmission ----

  /** Parses and dispatches one request; false when more bytes are needed. */
  private transmissionStep(): boolean {
    const q = this.q;
    if (this.wPending) {
      if (this.wBuf === null) {
        if (q.length >= this.wLength) {
          // Whole payload here: a view when it lies in one chunk, else one copy.
          this.wPending = false;
          this.dispatchWrite(this.wFlags, this.wLo, this.wHi, this.wOffset, q.take(this.wLength)!);
          return true;
        }
        // Still arriving: gather it as it comes, while it is hot in cache and
        // without holding on to the socket's chunks.
        this.wBuf = Buffer.allocUnsafe(this.wLength);
        this.wPos = 0;
      }
      this.wPos += q.copyOut(this.wBuf, this.wPos, this.wLength - this.wPos);
      if (this.wPos < this.wLength) return false;
      const payload = this.wBuf;
      this.wBuf = null;
      this.wPending = false;
      this.dispatchWrite(this.wFlags, this.wLo, this.wHi, this.wOffset, payload);
      return true;
    }
    if (!q.header(P.NBD_REQUEST_SIZE, this.scratch)) return false;
    const b = q.hbuf;
    const o = q.hoff;
    if (b.readUInt32BE(o) !== P.NBD_REQUEST_MAGIC) {
      this.fail('bad request magic');
      return false;
    }
    const flags = b.readUInt16BE(o + 4);
    const type = b.readUInt16BE(o + 6);
    const lo = b.readUInt32BE(o + 8);
    const hi = b.readUInt32BE(o + 12);
    const offHi = b.readUInt32BE(o + 16);
    // Offsets past 2^53 cannot be exact numbers; -1 marks them (always out of range).
    const offset = offHi >= 0x200000 ? -1 : offHi * 0x100000000 + b.readUInt32BE(o + 20);
    const length = b.readUInt32BE(o + 24);
    if (type === P.NBD_CMD_WRITE) {
      if (length > P.NBD_MAX_PAYLOAD) {
        // Answering would mean reading the payload; buffering it is out of the question.
        this.fail(`write of ${length} bytes exceeds the ${P.NBD_MAX_PAYLOAD}-byte maximum`);
        return false;
      }
      this.wPending = true;
      this.wFlags = flags;
      this.wLo = lo;
      this.wHi = hi;
      this.wOffset = offset;
      this.wLength = length;
      return true;
    }
    this.dispatch(type, flags, lo, hi, offset, length);
    return this.state === 'transmission';
  }

  /** Checks alignment and range; returns an NBD error or 0. */
  private checkRange(offset: number, length: number, beyondEnd: number): number {
    const bs = this.dev!.blockSize;
    if (offset < 0) return beyondEnd;
    if (offset % bs !== 0 || length % bs !== 0) return P.NBD_EINVAL;
    if (offset + length > this.dev!.blockCount * bs) return beyondEnd;
    return 0;
  }

  /** Pauses reading while too much is in flight or waiting to be sent; resumes when it drains. */
  private flow(): void {
    const over = this.inflightBytes > this.maxInflightBytes || this.inflight > MAX_INFLIGHT_REQUESTS || this.sock.writableLength > this.maxInflightBytes;
    if (over && !this.paused) {
      this.paused = true;
      this.sock.pause();
    } else if (this.paused && this.inflightBytes <= this.maxInflightBytes / 2 && this.inflight <= MAX_INFLIGHT_REQUESTS / 2 && this.sock.writableLength <= this.maxInflightBytes / 2) {
      this.paused = false;
      if (this.state === 'transmission') this.sock.resume();
    }
  }

  private begin(bytes: number): void {
    this.inflight++;
    this.inflightBytes += bytes;
    if (this.inflightBytes > this.maxInflightBytes || this.inflight > MAX_INFLIGHT_REQUESTS) this.flow();
  }

  /** Called after a request's reply was queued. */
  private end(bytes: number): void {
    this.inflight--;
    this.inflightBytes -= bytes;
    if (this.paused || this.sock.writableLength > this.maxInflightBytes) this.flow();
    if (this.state === 'closing' && this.inflight === 0) this.sock.end();
  }

  private dispatchWrite(flags: number, lo: number, hi: number, offset: number, payload: Buffer): void {
    const dev = this.dev!;
    if (flags & ~P.NBD_CMD_FLAG_FUA) return this.done(lo, hi, P.NBD_EINVAL, 'unsupported flags for NBD_CMD_WRITE');
    if (dev.readOnly) return this.done(lo, hi, P.NBD_EPERM, 'the export is read-only');
    const err = this.checkRange(offset, payload.length, P.NBD_ENOSPC);
    if (err) return this.done(lo, hi, err, err === P.NBD_ENOSPC ? 'write beyond the end of the export' : 'write not aligned to the block size');
    if (payload.length === 0) return this.done(lo, hi, 0);
    const fua = (flags & P.NBD_CMD_FLAG_FUA) !== 0;
    this.run(lo, hi, payload.length, () => dev.write(offset / dev.blockSize, payload, { fua }));
  }

  private dispatch(type: number, flags: number, lo: number, hi: number, offset: number, length: number): void {
    if (type === P.NBD_CMD_DISC) return this.beginClosing();
    const dev = this.dev!;
    const bs = dev.blockSize;
    if (flags & ~allowedFlags(type, this.structured)) return this.done(lo, hi, P.NBD_EINVAL, `unsupported flags 0x${flags.toString(16)} for command ${type}`);
    switch (type) {
      case P.NBD_CMD_READ: {
        if (length > P.NBD_MAX_PAYLOAD) return this.done(lo, hi, P.NBD_EINVAL, `read of ${length} bytes exceeds the ${P.NBD_MAX_PAYLOAD}-byte maximum`);
        const err = this.checkRange(offset, length, P.NBD_EINVAL);
        if (err) return this.done(lo, hi, err, 'read beyond the end of the export or not aligned to the block size');
        if (length === 0) return this.done(lo, hi, 0);
        this.begin(length);
        let p: Promise<Buffer>;
        try {
          p = dev.read(offset / bs, length / bs);
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (data) => {
            // A wrong-sized buffer would desynchronise the stream: never send one.
            if (data.length !== length) this.failed(lo, hi, new Error(`device returned ${data.length} bytes for a ${length}-byte read`));
            else this.sendRead(lo, hi, offset, data);
            this.end(length);
          },
          (e) => {
            this.failed(lo, hi, e);
            this.end(length);
          },
        );
        return;
      }
      case P.NBD_CMD_FLUSH:
        return this.run(lo, hi, 0, () => dev.flush());
      case P.NBD_CMD_CACHE: {
        // Nothing to prefetch into: the device has its own caches.
        const err = this.checkRange(offset, length, P.NBD_EINVAL);
        return this.done(lo, hi, err, err ? 'cache request beyond the end of the export or not aligned' : '');
      }
      case P.NBD_CMD_TRIM: {
        if (dev.readOnly) return this.done(lo, hi, P.NBD_EPERM, 'the export is read-only');
        const err = this.checkRange(offset, length, P.NBD_EINVAL);
        if (err) return this.done(lo, hi, err, 'trim beyond the end of the export or not aligned to the block size');
        if (length === 0) return this.done(lo, hi, 0);
        const fua = (flags & P.NBD_CMD_FLAG_FUA) !== 0;
        return this.run(lo, hi, 0, async () => {
          await dev.unmap([{ lba: offset / bs, blocks: length / bs }]);
          if (fua) await dev.flush();
        });
      }
      case P.NBD_CMD_WRITE_ZEROES: {
        if (dev.readOnly) return this.done(lo, hi, P.NBD_EPERM, 'the export is read-only');
        const err = this.checkRange(offset, length, P.NBD_ENOSPC);
        if (err) return this.done(lo, hi, err, err === P.NBD_ENOSPC ? 'write beyond the end of the export' : 'write not aligned to the block size');
        if (length === 0) return this.done(lo, hi, 0);
        const opts = { fua: (flags & P.NBD_CMD_FLAG_FUA) !== 0, noHole: (flags & P.NBD_CMD_FLAG_NO_HOLE) !== 0 };
        return this.run(lo, hi, 0, () => dev.writeZeroes(offset / bs, length / bs, opts));
      }
      case P.NBD_CMD_BLOCK_STATUS: {
        if (!this.metaAllocation) return this.done(lo, hi, P.NBD_EINVAL, 'no metadata context was negotiated');
        if (length === 0) return this.done(lo, hi, P.NBD_EINVAL, 'block status of zero length');
        const err = this.checkRange(offset, length, P.NBD_EINVAL);
        if (err) return this.done(lo, hi, err, 'block status beyond the end of the export or not aligned to the block size');
        this.begin(0);
        let p: Promise<AllocationExtent[]>;
        try {
          p = dev.allocation(offset / bs, length / bs);
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (extents) => {
            this.sendBlockStatus(lo, hi, extents, length, bs, (flags & P.NBD_CMD_FLAG_REQ_ONE) !== 0);
            this.end(0);
          },
          (e) => {
            this.failed(lo, hi, e);
            this.end(0);
          },
        );
        return;
      }
      default:
        return this.done(lo, hi, P.NBD_EINVAL, `command ${type} is not supported`);
    }
  }

  /** Runs a request that replies without data. */
  private run(lo: number, hi: number, bytes: number, fn: () => Promise<void>): void {
    this.begin(bytes);
    let p: Promise<void>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        this.done(lo, hi, 0);
        this.end(bytes);
      },
      (e) => {
        this.failed(lo, hi, e);
        this.end(bytes);
      },
    );
  }

  private failed(lo: number, hi: number, e: unknown): void {
    if (!(e instanceof KuraError)) this.opts.log?.(`nbd: ${this.peer}: unexpected device error: ${(e as Error)?.stack ?? String(e)}`);
    this.done(lo, hi, errno(e), e instanceof KuraError ? `${e.id} ${e.message}` : 'internal error');
  }

  /**
   * Replies completed in one turn of the event loop leave in one writev: a socket
   * write costs about as much as serving a cached 4 KiB read, so batching them
   * roughly halves the CPU per request at queue depth.
   */
  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.sock.cork();
    setImmediate(() => {
      this.corked = false;
      this.sock.uncork();
    });
  }

  private get writable(): boolean {
    return this.state !== 'closed' && this.sock.writable;
  }

  /** Completes a request without data: a simple reply, or a NONE/ERROR chunk. */
  private done(lo: number, hi: number, error: number, msg = ''): void {
    if (!this.writable) return;
    this.batch();
    if (this.structured) {
      if (error === 0) return this.chunk(lo, hi, P.NBD_REPLY_TYPE_NONE, 0);
      const m = Buffer.from(msg.slice(0, 1024));
      const h = this.chunk(lo, hi, P.NBD_REPLY_TYPE_ERROR, 6 + m.length, 6);
      h.writeUInt32BE(error, P.NBD_STRUCTURED_REPLY_SIZE);
      h.writeUInt16BE(m.length, P.NBD_STRUCTURED_REPLY_SIZE + 4);
      this.sock.write(h);
      if (m.length) this.sock.write(m);
      return;
    }
    const h = Buffer.allocUnsafe(P.NBD_SIMPLE_REPLY_SIZE);
    h.writeUInt32BE(P.NBD_SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(error, 4);
    h.writeUInt32BE(lo, 8);
    h.writeUInt32BE(hi, 12);
    this.sock.write(h);
  }

  /**
   * Builds a final (DONE) chunk header with `extra` bytes after it for the caller
   * to fill and write; with extra = 0 the header is written here.
   */
  private chunk(lo: number, hi: number, type: number, payloadLength: number): void;
  private chunk(lo: number, hi: number, type: number, payloadLength: number, extra: number): Buffer;
  private chunk(lo: number, hi: number, type: number, payloadLength: number, extra = 0): Buffer | void {
    const h = Buffer.allocUnsafe(P.NBD_STRUCTURED_REPLY_SIZE + extra);
    h.writeUInt32BE(P.NBD_STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(P.NBD_REPLY_FLAG_DONE, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(lo, 8);
    h.writeUInt32BE(hi, 12);
    h.writeUInt32BE(payloadLength, 16);
    if (extra === 0) {
      this.sock.write(h);
      return;
    }
    return h;
  }

  private sendRead(lo: number, hi: number, offset: number, data: Buffer): void {
    if (!this.writable) return;
    this.batch();
    if (this.structured) {
      // One OFFSET_DATA chunk, so NBD_CMD_FLAG_DF is always honoured.
      const h = this.chunk(lo, hi, P.NBD_REPLY_TYPE_OFFSET_DATA, 8 + data.length, 8);
      h.writeUInt32BE(Math.floor(offset / 0x100000000), P.NBD_STRUCTURED_REPLY_SIZE);
      h.writeUInt32BE(offset >>> 0, P.NBD_STRUCTURED_REPLY_SIZE + 4);
      this.sock.write(h);
    } else {
      const h = Buffer.allocUnsafe(P.NBD_SIMPLE_REPLY_SIZE);
      h.writeUInt32BE(P.NBD_SIMPLE_REPLY_MAGIC, 0);
      h.writeUInt32BE(0, 4);
      h.writeUInt32BE(lo, 8);
      h.writeUInt32BE(hi, 12);
      this.sock.write(h);
    }
    this.sock.write(data);
  }

  private sendBlockStatus(lo: number, hi: number, extents: AllocationExtent[], length: number, bs: number, reqOne: boolean): void {
    if (!this.writable) return;
    // Merge neighbours with equal status and drop empty runs: descriptors must be non-empty.
    const lens: number[] = [];
    const states: number[] = [];
    let total = 0;
    for (const x of extents) {
      if (!(x.blocks > 0)) continue;
      let bytes = x.blocks * bs;
      if (total + bytes > length) bytes = length - total; // never describe more than asked
      if (bytes <= 0) break;
      const st = (x.hole ? P.NBD_STATE_HOLE : 0) | (x.zero ? P.NBD_STATE_ZERO : 0);
      const last = lens.length - 1;
      // total <= length < 2^32, so a merged descriptor always fits its 32 bits.
      if (last >= 0 && states[last] === st) lens[last] = lens[last]! + bytes;
      else {
        if (lens.length === (reqOne ? 1 : MAX_EXTENTS)) break;
        lens.push(bytes);
        states.push(st);
      }
      total += bytes;
    }
    if (lens.length === 0) {
      // A device that described nothing: "allocated, contents unknown" is always safe.
      lens.push(length);
      states.push(0);
    }
    this.batch();
    const h = this.chunk(lo, hi, P.NBD_REPLY_TYPE_BLOCK_STATUS, 4 + 8 * lens.length, 4 + 8 * lens.length);
    let p = P.NBD_STRUCTURED_REPLY_SIZE;
    h.writeUInt32BE(P.BASE_ALLOCATION_ID, p);
    p += 4;
    for (let i = 0; i < lens.length; i++, p += 8) {
      h.writeUInt32BE(lens[i]!, p);
      h.writeUInt32BE(states[i]!, p + 4);
    }
    this.sock.write(h);
  }
}
