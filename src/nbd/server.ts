// NBD server (fixed newstyle). Negotiation runs synchronously over the receive
// queue; in transmission, requests are parsed as they arrive and dispatched
// without waiting for earlier ones (replies may come back out of order, as the
// protocol allows). A request is read only when its bytes fit the
// connection's share of the I/O budget (src/limits/io-budget.ts), which holds
// them until the write is done or the read's reply has been handed to the
// kernel: a client that does not read its replies stops being read.
//
// Access: NBD_OPT_STARTTLS upgrades the connection to TLS with a pre-shared
// key whose identity names the client; the export provider decides from that
// identity (or its absence) which exports a client may list and open.
import fs from 'node:fs';
import net from 'node:net';
import type { BlockDevice } from '../block/device.js';
import type { ExportPeer, ExportProvider } from '../block/exports.js';
import { KuraError } from '../errors.js';
import { ConnectionCap } from '../limits/conn-cap.js';
import { IoBudget } from '../limits/io-budget.js';
import type { IoAccount } from '../limits/io-budget.js';
import { ByteQueue } from './byte-queue.js';
import * as P from './protocol.js';
import { printableIdentity, upgradeToTls } from './tls.js';
import type { NbdTlsOptions } from './tls.js';
export type { NbdTlsMode, NbdTlsOptions } from './tls.js';

export interface NbdServerOptions {
  exports: ExportProvider;
  /** Export chosen by an empty name; otherwise the only export, if there is one. */
  defaultExport?: string;
  /** STARTTLS with pre-shared keys; without it the server operates without TLS. */
  tls?: NbdTlsOptions;
  log?: (msg: string) => void;
  /** I/O buffer budget, shared with the other front ends; a private one of the default size when absent. */
  ioBudget?: IoBudget;
  /** Bytes of requests and unsent read replies one connection may hold (default 64 MiB). */
  connectionIoLimit?: number;
  /** Connections kept open at once; more are closed on accept (default 256). */
  maxConnections?: number;
  /** A connection that has not reached transmission after this long is closed (default 10 s). */
  handshakeTimeoutMs?: number;
}

export const DEFAULT_NBD_MAX_CONNECTIONS = 256;
export const DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Bytes of reads and writes one connection holds at most (one request more when it holds none). */
export const DEFAULT_NBD_CONNECTION_IO = 64 * 1024 * 1024;
/** Reply bytes beyond those of read data (error and write replies) queued before reading stops. */
const REPLY_BACKLOG = 1024 * 1024;

/** What a connection takes from its server. */
interface ConnectionContext {
  opts: NbdServerOptions;
  budget: IoBudget;
  connectionIoLimit: number;
  handshakeTimeoutMs: number;
  log: (msg: string) => void;
}

export class NbdServer {
  private readonly opts: NbdServerOptions;
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<NbdConnection>();
  private tcp: net.Server | null = null;
  private readonly ctx: ConnectionContext;
  private readonly cap: ConnectionCap;

  constructor(opts: NbdServerOptions) {
    this.opts = opts;
    const log = opts.log ?? (() => undefined);
    this.ctx = {
      opts,
      budget: opts.ioBudget ?? new IoBudget({ log }),
      connectionIoLimit: opts.connectionIoLimit ?? DEFAULT_NBD_CONNECTION_IO,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS,
      log,
    };
    this.cap = new ConnectionCap('NBD listener', opts.maxConnections ?? DEFAULT_NBD_MAX_CONNECTIONS, log, 'KURA-W6200', '--nbd-max-connections');
  }

  /** Connections open now (negotiating or transmitting). */
  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Serves one accepted connection (within the cap). The listeners call it;
   * the parser fuzz test hands it in-memory sockets.
   */
  attach(sock: net.Socket): void {
    if (!this.cap.admit()) {
      sock.on('error', () => undefined);
      sock.destroy();
      return;
    }
    const c = new NbdConnection(sock, this.ctx, () => {
      if (this.conns.delete(c)) this.cap.release();
    });
    this.conns.add(c);
  }

  private makeServer(): net.Server {
    const srv = net.createServer((sock) => this.attach(sock));
    srv.on('error', (e) => this.opts.log?.(`nbd: listener error: ${e.message}`));
    this.servers.push(srv);
    return srv;
  }

  listen(host: string, port: number): Promise<void> {
    const srv = this.makeServer();
    this.tcp = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  }

  listenUnix(path: string): Promise<void> {
    fs.rmSync(path, { force: true });
    const srv = this.makeServer();
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(path, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.tcp?.address() as net.AddressInfo | null;
    if (!a) throw new Error('NBD server is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  /**
   * Access changed (mappings, keys, plain LDs): connections in transmission on
   * an export their client may no longer open are cut, as iSCSI answers an
   * unmapped LUN from the next command on.
   */
  revalidate(): void {
    for (const c of this.conns) c.revalidate();
  }

  /** Devices clients hold in transmission, and who holds them (an LD's deletion asks). */
  openDevices(): Array<{ device: BlockDevice; peer: string; identity: string | null }> {
    const out: Array<{ device: BlockDevice; peer: string; identity: string | null }> = [];
    for (const c of this.conns) {
      const h = c.held();
      if (h) out.push(h);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const c of this.conns) c.destroy();
  }
}

type State = 'client-flags' | 'options' | 'tls-handshake' | 'transmission' | 'closed';

function errno(e: unknown): number {
  if (e instanceof KuraError) {
    switch (e.code) {
      case 'ENOSPC':
        return P.NBD_ENOSPC;
      case 'EROFS':
      case 'EPERM':
      case 'ENOTREADY':
        return P.NBD_EPERM;
      case 'EINVAL':
      case 'ERANGE':
        return P.NBD_EINVAL;
      case 'ENOENT':
        return P.NBD_ESHUTDOWN;
      default:
        return P.NBD_EIO;
    }
  }
  return P.NBD_EIO;
}

class NbdConnection {
  /** The client's socket: the TCP (or Unix) socket, after STARTTLS the TLS socket over it. */
  private sock: net.Socket;
  private readonly opts: NbdServerOptions;
  private readonly onGone: () => void;
  private readonly ctx: ConnectionContext;
  private readonly account: IoAccount;
  private readonly remote: string;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly q = new ByteQueue();
  private state: State = 'client-flags';
  private noZeroes = false;
  private structured = false;
  private metaAllocation = false;
  private dev: BlockDevice | null = null;
  /** Plain until a TLS handshake proves a PSK identity. */
  private peer: ExportPeer = { identity: null };
  private tls = false;
  /** Requests running (for a disconnect that waits for them). */
  private inflight = 0;
  /** Reading is paused: the next request's bytes do not fit the budget, or replies are not drained. */
  private paused = false;
  /** A request header read but not run: its bytes did not fit the budget yet. */
  private waitingHeader: Buffer | null = null;
  /** Replies other than read data are piling up unread: wait for 'drain'. */
  private backlogged = false;
  /** When the queued replies last made progress (for the budget's choice of a stalled connection). */
  private lastProgress = Date.now();
  private pumpScheduled = false;
  private disconnecting = false;
  private corked = false;
  /** A write header whose payload has not fully arrived yet (its bytes are taken from the budget). */
  private pendingWrite: { flags: number; lo: number; hi: number; offset: number; length: number } | null = null;

  constructor(sock: net.Socket, ctx: ConnectionContext, onGone: () => void) {
    this.sock = sock;
    this.ctx = ctx;
    this.opts = ctx.opts;
    this.remote = `${sock.remoteAddress ?? 'local'}:${sock.remotePort ?? ''}`;
    this.account = ctx.budget.account(
      ctx.connectionIoLimit,
      {
        stalledSince: () => (this.sock.writableLength > 0 ? this.lastProgress : undefined),
        evict: () => this.destroy(),
        describe: () => `NBD connection from ${this.remote}`,
      },
      () => this.schedulePump(),
    );
    // Every way out (destroy, NBD_OPT_ABORT, NBD_CMD_DISC) passes here once.
    this.onGone = () => {
      clearTimeout(this.handshakeTimer);
      this.account.close();
      onGone();
    };
    sock.setNoDelay(true);
    sock.on('data', this.onData);
    sock.on('error', () => this.destroy());
    sock.on('close', () => this.destroy());
    this.handshakeTimer = setTimeout(() => {
      if (this.state === 'transmission' || this.state === 'closed') return;
      ctx.log(`KURA-W6201 nbd: ${this.remote}: no export chosen within ${ctx.handshakeTimeoutMs} ms of connecting; closing (kura serve --nbd-handshake-timeout)`);
      this.destroy();
    }, ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    const hello = Buffer.alloc(18);
    hello.writeBigUInt64BE(P.NBDMAGIC, 0);
    hello.writeBigUInt64BE(P.IHAVEOPT, 8);
    hello.writeUInt16BE(P.NBD_FLAG_FIXED_NEWSTYLE | P.NBD_FLAG_NO_ZEROES, 16);
    sock.write(hello);
  }

  revalidate(): void {
    if (this.state !== 'transmission' || !this.dev) return;
    if (this.opts.exports.open(this.dev.name, this.peer)) return;
    this.opts.log?.(`nbd: closing a connection on export "${this.dev.name}" (${this.peer.identity === null ? 'plain client' : `host ${printableIdentity(this.peer.identity)}`}): its access was withdrawn`);
    this.destroy();
  }

  private readonly onData = (d: Buffer): void => {
    this.q.push(d);
    this.safePump();
  };

  /** The device this connection serves, once in transmission. */
  held(): { device: BlockDevice; peer: string; identity: string | null } | undefined {
    if (this.state !== 'transmission' || !this.dev) return undefined;
    const a = this.sock.remoteAddress;
    return { device: this.dev, peer: a === undefined ? 'a local socket' : `${a}:${this.sock.remotePort}`, identity: this.peer.identity };
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.q.clear();
    this.sock.destroy();
    this.onGone();
  }

  private safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.opts.log?.(`nbd: closing connection after internal error: ${(e as Error).message}`);
      this.destroy();
    }
  }

  /** Runs the parser again later (bytes came back to the budget, or the replies drained). */
  private schedulePump(): void {
    if (this.pumpScheduled || this.state === 'closed') return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.state !== 'closed') this.safePump();
    });
  }

  /**
   * Reading stops while the next request waits for budget or while replies
   * pile up unread beyond the read data the budget already counts.
   */
  private flow(): void {
    const stop = this.waitingHeader !== null || this.backlogged;
    if (stop && !this.paused) {
      this.paused = true;
      this.sock.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.sock.resume();
    }
  }

  private checkBacklog(): boolean {
    if (this.backlogged) return true;
    if (this.sock.writableLength <= this.account.held + REPLY_BACKLOG) return false;
    this.backlogged = true;
    this.sock.once('drain', () => {
      this.backlogged = false;
      this.lastProgress = Date.now();
      this.flow();
      this.schedulePump();
    });
    return true;
  }

  private pump(): void {
    try {
      this.parse();
    } finally {
      if (this.state !== 'closed') this.flow();
    }
  }

  private parse(): void {
    for (;;) {
      if (this.state === 'closed' || this.checkBacklog()) return;
      if (this.state === 'client-flags') {
        const b = this.q.take(4);
        if (!b) return;
        const flags = b.readUInt32BE(0);
        if ((flags & P.NBD_FLAG_C_FIXED_NEWSTYLE) === 0 || (flags & ~(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES)) !== 0) {
          // Unknown client flags: the protocol says to close.
          return this.destroy();
        }
        this.noZeroes = (flags & P.NBD_FLAG_C_NO_ZEROES) !== 0;
        this.state = 'options';
      } else if (this.state === 'options') {
        if (this.q.length < 16) return;
        const h = this.q.take(16)!;
        if (h.readBigUInt64BE(0) !== P.IHAVEOPT) return this.destroy();
        const opt = h.readUInt32BE(8);
        const len = h.readUInt32BE(12);
        if (len > P.NBD_MAX_OPTION) return this.destroy();
        // Put the header back until the whole option has arrived.
        if (this.q.length < len) {
          this.unshift(h);
          return;
        }
        const data = this.q.take(len)!;
        this.option(opt, data);
      } else if (this.state === 'transmission') {
        if (!this.transmissionStep()) return;
      } else {
        return;
      }
    }
  }

  /** Returns a taken header to the front of the queue (only during negotiation). */
  private unshift(h: Buffer): void {
    const rest = this.q.take(this.q.length)!;
    this.q.clear();
    this.q.push(Buffer.concat([h, rest]));
  }

  // ---- negotiation ----

  private reply(opt: number, type: number, data?: Buffer): void {
    const h = Buffer.allocUnsafe(20);
    h.writeBigUInt64BE(P.NBD_REP_MAGIC, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(type >>> 0, 12);
    h.writeUInt32BE(data ? data.length : 0, 16);
    this.sock.write(data ? Buffer.concat([h, data]) : h);
  }

  private replyError(opt: number, type: number, msg: string): void {
    this.reply(opt, type, Buffer.from(msg));
  }

  private resolveExport(name: string): BlockDevice | undefined {
    const x = this.opts.exports;
    if (name === '') {
      if (this.opts.defaultExport) return x.open(this.opts.defaultExport, this.peer);
      const all = x.list(this.peer);
      return all.length === 1 ? x.open(all[0]!.name, this.peer) : undefined;
    }
    return x.open(name, this.peer);
  }

  /**
   * The refusal for an export this client cannot open: a plain client that TLS
   * could help is told so (whether or not the name exists, so names do not
   * leak); the protocol forbids that answer once TLS is up.
   */
  private replyNoExport(opt: number, name: string): void {
    const mode = this.opts.tls?.mode ?? 'off';
    if (!this.tls && mode !== 'off' && this.opts.exports.plainRestricted?.()) {
      return this.replyError(opt, P.NBD_REP_ERR_TLS_REQD, `export "${name}" needs TLS: connect with TLS-PSK as a host it is mapped to`);
    }
    return this.replyError(opt, P.NBD_REP_ERR_UNKNOWN, `no export named "${name}"${this.peer.identity === null ? '' : ` for host ${this.peer.identity}`}`);
  }

  private transmissionFlags(dev: BlockDevice): number {
    let f = P.NBD_FLAG_HAS_FLAGS | P.NBD_FLAG_SEND_FLUSH | P.NBD_FLAG_SEND_FUA | P.NBD_FLAG_SEND_DF | P.NBD_FLAG_CAN_MULTI_CONN | P.NBD_FLAG_SEND_CACHE;
    if (dev.readOnly) f |= P.NBD_FLAG_READ_ONLY;
    else f |= P.NBD_FLAG_SEND_TRIM | P.NBD_FLAG_SEND_WRITE_ZEROES | P.NBD_FLAG_SEND_FAST_ZERO;
    return f;
  }

  private option(opt: number, data: Buffer): void {
    // FORCEDTLS: before TLS, nothing but STARTTLS and ABORT.
    if (this.opts.tls?.mode === 'required' && !this.tls && opt !== P.NBD_OPT_STARTTLS && opt !== P.NBD_OPT_ABORT) {
      if (opt === P.NBD_OPT_EXPORT_NAME) return this.destroy();
      return this.replyError(opt, P.NBD_REP_ERR_TLS_REQD, 'this server requires TLS: connect with TLS-PSK (nbds://)');
    }
    switch (opt) {
      case P.NBD_OPT_STARTTLS:
        return this.startTls(opt, data);
      case P.NBD_OPT_EXPORT_NAME: {
        const dev = this.resolveExport(data.toString('utf8'));
        // No way to report an error for this option: the protocol closes.
        if (!dev) return this.destroy();
        const b = Buffer.alloc(this.noZeroes ? 10 : 134);
        b.writeBigUInt64BE(BigInt(dev.blockCount * dev.blockSize), 0);
        b.writeUInt16BE(this.transmissionFlags(dev), 8);
        this.sock.write(b);
        this.dev = dev;
        this.state = 'transmission';
        return;
      }
      case P.NBD_OPT_ABORT:
        this.reply(opt, P.NBD_REP_ACK);
        this.sock.end();
        this.state = 'closed';
        this.onGone();
        return;
      case P.NBD_OPT_LIST: {
        if (data.length !== 0) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'NBD_OPT_LIST takes no data');
        for (const e of this.opts.exports.list(this.peer)) {
          const name = Buffer.from(e.name);
          const b = Buffer.alloc(4 + name.length);
          b.writeUInt32BE(name.length, 0);
          name.copy(b, 4);
          this.reply(opt, P.NBD_REP_SERVER, e.description ? Buffer.concat([b, Buffer.from(e.description)]) : b);
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
        return this.replyError(opt, P.NBD_REP_ERR_UNSUP, `option ${opt} is not supported`);
    }
  }

  private infoOrGo(opt: number, data: Buffer): void {
    if (data.length < 6) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'option too short');
    const nameLen = data.readUInt32BE(0);
    if (4 + nameLen + 2 > data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'export name length exceeds the option');
    const name = data.subarray(4, 4 + nameLen).toString('utf8');
    const nReq = data.readUInt16BE(4 + nameLen);
    if (4 + nameLen + 2 + nReq * 2 !== data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'information request count does not match the option length');
    const dev = this.resolveExport(name);
    if (!dev) return this.replyNoExport(opt, name);
    const wanted = new Set<number>();
    for (let i = 0; i < nReq; i++) wanted.add(data.readUInt16BE(4 + nameLen + 2 + i * 2));
    const exp = Buffer.alloc(12);
    exp.writeUInt16BE(P.NBD_INFO_EXPORT, 0);
    exp.writeBigUInt64BE(BigInt(dev.blockCount * dev.blockSize), 2);
    exp.writeUInt16BE(this.transmissionFlags(dev), 10);
    this.reply(opt, P.NBD_REP_INFO, exp);
    if (wanted.has(P.NBD_INFO_NAME)) {
      const n = Buffer.from(dev.name);
      const b = Buffer.alloc(2 + n.length);
      b.writeUInt16BE(P.NBD_INFO_NAME, 0);
      n.copy(b, 2);
      this.reply(opt, P.NBD_REP_INFO, b);
    }
    if (wanted.has(P.NBD_INFO_DESCRIPTION)) {
      const d = this.opts.exports.list(this.peer).find((e) => e.name === dev.name)?.description;
      if (d) {
        const n = Buffer.from(d);
        const b = Buffer.alloc(2 + n.length);
        b.writeUInt16BE(P.NBD_INFO_DESCRIPTION, 0);
        n.copy(b, 2);
        this.reply(opt, P.NBD_REP_INFO, b);
      }
    }
    // Always sent: clients that honour it align their requests to our blocks.
    const bs = Buffer.alloc(14);
    bs.writeUInt16BE(P.NBD_INFO_BLOCK_SIZE, 0);
    bs.writeUInt32BE(dev.blockSize, 2);
    bs.writeUInt32BE(Math.max(4096, dev.blockSize), 6);
    bs.writeUInt32BE(P.NBD_MAX_PAYLOAD, 10);
    this.reply(opt, P.NBD_REP_INFO, bs);
    this.reply(opt, P.NBD_REP_ACK);
    if (opt === P.NBD_OPT_GO) {
      this.dev = dev;
      this.state = 'transmission';
    }
  }

  private startTls(opt: number, data: Buffer): void {
    const tls = this.opts.tls;
    if (!tls || tls.mode === 'off') return this.replyError(opt, P.NBD_REP_ERR_POLICY, 'TLS is switched off on this server');
    if (this.tls) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'TLS is already negotiated');
    if (data.length !== 0) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'NBD_OPT_STARTTLS takes no data');
    // Bytes sent before our reply would be plaintext slipped into the TLS session.
    if (this.q.length !== 0) return this.destroy();
    this.reply(opt, P.NBD_REP_ACK);
    this.state = 'tls-handshake';
    const raw = this.sock;
    raw.off('data', this.onData);
    const up = upgradeToTls(raw, tls);
    const who = () => `${raw.remoteAddress ?? 'local'}${raw.remotePort ? `:${raw.remotePort}` : ''}`;
    up.socket.on('error', (e) => {
      if (this.state === 'tls-handshake') this.opts.log?.(`nbd: TLS handshake with ${who()} (PSK identity ${printableIdentity(up.identity())}) failed: ${e.message.split('\n')[0]}`);
      this.destroy();
    });
    up.socket.on('close', () => this.destroy());
    up.socket.once('secure', () => {
      if (this.state !== 'tls-handshake') return;
      // The spec: state negotiated before TLS is forgotten.
      this.structured = false;
      this.metaAllocation = false;
      this.tls = true;
      this.peer = { identity: up.identity() ?? null };
      this.state = 'options';
      this.opts.log?.(`nbd: ${who()} identified as ${printableIdentity(this.peer.identity ?? undefined)} over ${up.socket.getProtocol() ?? 'TLS'}`);
      up.socket.on('data', this.onData);
    });
    this.sock = up.socket;
  }

  private metaContext(opt: number, data: Buffer): void {
    if (opt === P.NBD_OPT_SET_META_CONTEXT && !this.structured) {
      return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'structured replies must be negotiated first');
    }
    if (data.length < 8) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'option too short');
    const nameLen = data.readUInt32BE(0);
    if (4 + nameLen + 4 > data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'export name length exceeds the option');
    const name = data.subarray(4, 4 + nameLen).toString('utf8');
    if (!this.resolveExport(name)) return this.replyNoExport(opt, name);
    const n = data.readUInt32BE(4 + nameLen);
    let pos = 4 + nameLen + 4;
    const queries: string[] = [];
    for (let i = 0; i < n; i++) {
      if (pos + 4 > data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'query length exceeds the option');
      const ql = data.readUInt32BE(pos);
      pos += 4;
      if (pos + ql > data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'query exceeds the option');
      queries.push(data.subarray(pos, pos + ql).toString('utf8'));
      pos += ql;
    }
    if (pos !== data.length) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'trailing bytes in the option');
    const matches = (q: string) => q === P.BASE_ALLOCATION || q === 'base:' || (opt === P.NBD_OPT_LIST_META_CONTEXT && q === '');
    const selected = opt === P.NBD_OPT_LIST_META_CONTEXT && queries.length === 0 ? true : queries.some(matches);
    if (opt === P.NBD_OPT_SET_META_CONTEXT) this.metaAllocation = queries.some((q) => q === P.BASE_ALLOCATION);
    if (selected && (opt === P.NBD_OPT_LIST_META_CONTEXT || this.metaAllocation)) {
      const ctx = Buffer.from(P.BASE_ALLOCATION);
      const b = Buffer.alloc(4 + ctx.length);
      b.writeUInt32BE(P.BASE_ALLOCATION_ID, 0);
      ctx.copy(b, 4);
      this.reply(opt, P.NBD_REP_META_CONTEXT, b);
    }
    this.reply(opt, P.NBD_REP_ACK);
  }

  // ---- transmission ----

  /** Parses and dispatches one request; false when more bytes are needed. */
  private transmissionStep(): boolean {
    if (this.pendingWrite) {
      const w = this.pendingWrite;
      const payload = this.q.take(w.length);
      if (!payload) return false;
      this.pendingWrite = null;
      this.dispatchWrite(w.flags, w.lo, w.hi, w.offset, payload);
      return true;
    }
    const h = this.waitingHeader ?? this.q.take(28);
    if (!h) return false;
    this.waitingHeader = null;
    if (h.readUInt32BE(0) !== P.NBD_REQUEST_MAGIC) {
      this.destroy();
      return false;
    }
    const flags = h.readUInt16BE(4);
    const type = h.readUInt16BE(6);
    const lo = h.readUInt32BE(8);
    const hi = h.readUInt32BE(12);
    const offHi = h.readUInt32BE(16);
    const offset = offHi * 0x100000000 + h.readUInt32BE(20);
    const length = h.readUInt32BE(24);
    if (type === P.NBD_CMD_WRITE && length > P.NBD_MAX_PAYLOAD) {
      // We cannot answer without reading the payload, and will not buffer it.
      this.destroy();
      return false;
    }
    // The bytes a READ will allocate or a WRITE's payload will fill are taken
    // before anything is read or run; until they fit, the header waits.
    const need = (type === P.NBD_CMD_READ || type === P.NBD_CMD_WRITE) && length <= P.NBD_MAX_PAYLOAD ? length : 0;
    if (!this.account.tryTake(need)) {
      this.waitingHeader = Buffer.from(h);
      return false;
    }
    if (type === P.NBD_CMD_WRITE) {
      this.pendingWrite = { flags, lo, hi, offset: offHi >= 0x200000 ? -1 : offset, length };
      return true;
    }
    this.dispatch(type, flags, lo, hi, offHi >= 0x200000 ? -1 : offset, length);
    return true;
  }

  /** Checks alignment and range; returns an NBD error or 0. */
  private checkRange(offset: number, length: number, write: boolean): number {
    const dev = this.dev!;
    const bs = dev.blockSize;
    if (offset < 0 || offset % bs !== 0 || length % bs !== 0) return P.NBD_EINVAL;
    if (offset + length > dev.blockCount * bs) return write ? P.NBD_ENOSPC : P.NBD_EINVAL;
    return 0;
  }

  private begin(): void {
    this.inflight++;
  }

  /** A request is over; `bytes` of its budget go back (read replies give theirs back once sent). */
  private end(bytes: number): void {
    this.inflight--;
    this.account.give(bytes);
    if (this.disconnecting && this.inflight === 0) this.sock.end();
  }

  private dispatchWrite(flags: number, lo: number, hi: number, offset: number, payload: Buffer): void {
    const dev = this.dev!;
    const n = payload.length;
    if (dev.readOnly) {
      this.account.give(n);
      return this.done(lo, hi, P.NBD_EPERM, 'export is read-only');
    }
    const err = this.checkRange(offset, payload.length, true);
    if (err) {
      this.account.give(n);
      return this.done(lo, hi, err, 'request out of range or unaligned');
    }
    if (payload.length === 0) return this.done(lo, hi, 0);
    this.run(lo, hi, payload.length, () => dev.write(offset / dev.blockSize, payload, { fua: (flags & P.NBD_CMD_FLAG_FUA) !== 0 }));
  }

  private dispatch(type: number, flags: number, lo: number, hi: number, offset: number, length: number): void {
    const dev = this.dev!;
    const bs = dev.blockSize;
    switch (type) {
      case P.NBD_CMD_READ: {
        if (length > P.NBD_MAX_PAYLOAD) return this.done(lo, hi, P.NBD_EINVAL, 'read too large');
        const err = this.checkRange(offset, length, false);
        if (err) {
          this.account.give(length);
          return this.done(lo, hi, err, 'request out of range or unaligned');
        }
        if (length === 0) return this.done(lo, hi, 0);
        this.begin();
        dev.read(offset / bs, length / bs).then(
          (data) => {
            // The budget is given back when the kernel has the data, not before.
            this.end(0);
            this.sendRead(lo, hi, offset, data, () => this.account.give(length));
          },
          (e) => {
            this.end(length);
            this.done(lo, hi, errno(e), (e as Error).message);
          },
        );
        return;
      }
      case P.NBD_CMD_DISC:
        this.disconnecting = true;
        if (this.inflight === 0) this.sock.end();
        this.state = 'closed';
        this.onGone();
        return;
      case P.NBD_CMD_FLUSH:
        return this.run(lo, hi, 0, () => dev.flush());
      case P.NBD_CMD_CACHE: {
        const err = this.checkRange(offset, length, false);
        return this.done(lo, hi, err);
      }
      case P.NBD_CMD_TRIM:
      case P.NBD_CMD_WRITE_ZEROES: {
        if (dev.readOnly) return this.done(lo, hi, P.NBD_EPERM, 'export is read-only');
        const err = this.checkRange(offset, length, true);
        if (err) return this.done(lo, hi, err, 'request out of range or unaligned');
        if (length === 0) return this.done(lo, hi, 0);
        const fua = (flags & P.NBD_CMD_FLAG_FUA) !== 0;
        if (type === P.NBD_CMD_TRIM) {
          return this.run(lo, hi, 0, async () => {
            await dev.unmap([{ lba: offset / bs, blocks: length / bs }]);
            if (fua) await dev.flush();
          });
        }
        return this.run(lo, hi, 0, () => dev.writeZeroes(offset / bs, length / bs, { fua, noHole: (flags & P.NBD_CMD_FLAG_NO_HOLE) !== 0 }));
      }
      case P.NBD_CMD_BLOCK_STATUS: {
        if (!this.structured || !this.metaAllocation) return this.done(lo, hi, P.NBD_EINVAL, 'no metadata context negotiated');
        if (length === 0) return this.done(lo, hi, P.NBD_EINVAL, 'zero length');
        const err = this.checkRange(offset, length, false);
        if (err) return this.done(lo, hi, err, 'request out of range or unaligned');
        this.begin();
        dev.allocation(offset / bs, length / bs).then(
          (extents) => {
            this.end(0);
            const list = (flags & P.NBD_CMD_FLAG_REQ_ONE) !== 0 ? extents.slice(0, 1) : extents;
            const b = Buffer.allocUnsafe(4 + 8 * list.length);
            b.writeUInt32BE(P.BASE_ALLOCATION_ID, 0);
            list.forEach((x, i) => {
              b.writeUInt32BE(x.blocks * bs, 4 + i * 8);
              b.writeUInt32BE((x.hole ? P.NBD_STATE_HOLE : 0) | (x.zero ? P.NBD_STATE_ZERO : 0), 8 + i * 8);
            });
            this.chunk(lo, hi, P.NBD_REPLY_FLAG_DONE, P.NBD_REPLY_TYPE_BLOCK_STATUS, b);
          },
          (e) => {
            this.end(0);
            this.done(lo, hi, errno(e), (e as Error).message);
          },
        );
        return;
      }
      default:
        return this.done(lo, hi, P.NBD_EINVAL, `command ${type} is not supported`);
    }
  }

  private run(lo: number, hi: number, bytes: number, fn: () => Promise<void>): void {
    this.begin();
    let p: Promise<void>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        this.end(bytes);
        this.done(lo, hi, 0);
      },
      (e) => {
        this.end(bytes);
        this.done(lo, hi, errno(e), (e as Error).message);
      },
    );
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
    return !this.sock.destroyed && this.sock.writable;
  }

  /** Completes a request without data: a simple reply, or a NONE/ERROR chunk. */
  private done(lo: number, hi: number, error: number, msg = ''): void {
    if (!this.writable) return;
    if (this.structured) {
      if (error === 0) return this.chunk(lo, hi, P.NBD_REPLY_FLAG_DONE, P.NBD_REPLY_TYPE_NONE);
      const m = Buffer.from(msg.slice(0, 200));
      const b = Buffer.allocUnsafe(6 + m.length);
      b.writeUInt32BE(error, 0);
      b.writeUInt16BE(m.length, 4);
      m.copy(b, 6);
      return this.chunk(lo, hi, P.NBD_REPLY_FLAG_DONE, P.NBD_REPLY_TYPE_ERROR, b);
    }
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32BE(P.NBD_SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(error, 4);
    h.writeUInt32BE(lo, 8);
    h.writeUInt32BE(hi, 12);
    this.batch();
    this.sock.write(h);
  }

  private chunk(lo: number, hi: number, flags: number, type: number, payload?: Buffer, data?: Buffer, sent?: () => void): void {
    if (!this.writable) return sent?.();
    const h = Buffer.allocUnsafe(20);
    h.writeUInt32BE(P.NBD_STRUCTURED_REPLY_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeUInt32BE(lo, 8);
    h.writeUInt32BE(hi, 12);
    h.writeUInt32BE((payload?.length ?? 0) + (data?.length ?? 0), 16);
    this.batch();
    this.sock.write(h);
    if (payload) this.sock.write(payload);
    if (data) this.sock.write(data, sent);
    else sent?.();
  }

  /** Sends a read's data; `sent` runs once the kernel has it (or the connection is gone). */
  private sendRead(lo: number, hi: number, offset: number, data: Buffer, sent: () => void): void {
    if (!this.writable) return sent();
    if (this.sock.writableLength === 0) this.lastProgress = Date.now();
    const cb = (): void => {
      this.lastProgress = Date.now();
      sent();
    };
    if (this.structured) {
      const off = Buffer.allocUnsafe(8);
      off.writeUInt32BE(Math.floor(offset / 0x100000000), 0);
      off.writeUInt32BE(offset >>> 0, 4);
      return this.chunk(lo, hi, P.NBD_REPLY_FLAG_DONE, P.NBD_REPLY_TYPE_OFFSET_DATA, off, data, cb);
    }
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32BE(P.NBD_SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(0, 4);
    h.writeUInt32BE(lo, 8);
    h.writeUInt32BE(hi, 12);
    this.batch();
    this.sock.write(h);
    this.sock.write(data, cb);
  }
}
