// The NBD handshake (the protocol document's "Newstyle negotiation", fixed
// newstyle only): the server's greeting, the client's flags, then options
// haggled one at a time until the client chooses an export (NBD_OPT_GO,
// NBD_OPT_EXPORT_NAME) or leaves (NBD_OPT_ABORT). NBD_OPT_STARTTLS turns the
// connection into TLS with a pre-shared key whose identity names the client;
// what was negotiated before it is forgotten. Every step runs synchronously
// over the bytes received; the export chosen, and what was negotiated for
// transmission, are handed to the connection.
//
//   client-flags ──► options ◄──(TLS handshake done)── tls-handshake
//                       │ └──(NBD_OPT_STARTTLS)──────────────┘
//                       └──(NBD_OPT_GO / NBD_OPT_EXPORT_NAME)──► done
import type { BlockDevice } from '../block/device.js';
import * as P from './protocol.js';
import type { ExportPeer } from '../block/exports.js';
import type { NbdConnection, NbdServerOptions } from './server.js';
import { printableIdentity, upgradeToTls } from './tls.js';

type HandshakeState = 'client-flags' | 'options' | 'tls-handshake' | 'done';

/** What transmission needs from the handshake. */
export interface Negotiated {
  dev: BlockDevice;
  peer: ExportPeer;
  /** NBD_OPT_STRUCTURED_REPLY was negotiated. */
  structured: boolean;
  /** NBD_OPT_SET_META_CONTEXT selected base:allocation. */
  metaAllocation: boolean;
}

/** Length of an option request's header: IHAVEOPT, option, data length. */
const OPTION_HEADER = 16;

export class NbdHandshake {
  private readonly conn: NbdConnection;
  private readonly opts: NbdServerOptions;
  private state: HandshakeState = 'client-flags';
  private noZeroes = false;
  private structured = false;
  private metaAllocation = false;
  /** Plain until a TLS handshake proves a PSK identity. */
  private peer: ExportPeer = { identity: null };
  private tls = false;
  private readonly optionHeader = Buffer.alloc(OPTION_HEADER);

  constructor(conn: NbdConnection) {
    this.conn = conn;
    this.opts = conn.opts;
    const hello = Buffer.alloc(18);
    hello.writeBigUInt64BE(P.NBDMAGIC, 0);
    hello.writeBigUInt64BE(P.IHAVEOPT, 8);
    hello.writeUInt16BE(P.NBD_FLAG_FIXED_NEWSTYLE | P.NBD_FLAG_NO_ZEROES, 16);
    conn.sock.write(hello);
  }

  /** Handles the client's flags or one option; false when more bytes are needed (or TLS is being set up). */
  step(): boolean {
    const q = this.conn.q;
    if (this.state === 'client-flags') {
      const b = q.take(4);
      if (!b) return false;
      const flags = b.readUInt32BE(0);
      if ((flags & P.NBD_FLAG_C_FIXED_NEWSTYLE) === 0 || (flags & ~(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES)) !== 0) {
        // Unknown client flags: the protocol says to close.
        this.conn.destroy();
        return false;
      }
      this.noZeroes = (flags & P.NBD_FLAG_C_NO_ZEROES) !== 0;
      this.state = 'options';
      return true;
    }
    if (this.state !== 'options') return false;
    if (q.length < OPTION_HEADER) return false;
    // The header stays queued until the whole option has arrived.
    const h = this.optionHeader;
    q.peekInto(h, OPTION_HEADER);
    if (h.readBigUInt64BE(0) !== P.IHAVEOPT) {
      this.conn.destroy();
      return false;
    }
    const opt = h.readUInt32BE(8);
    const len = h.readUInt32BE(12);
    if (len > P.NBD_MAX_OPTION) {
      this.conn.destroy();
      return false;
    }
    if (q.length < OPTION_HEADER + len) return false;
    q.skip(OPTION_HEADER);
    this.option(opt, q.take(len)!);
    return true;
  }

  /** An export is chosen: the connection moves to transmission. */
  private transmit(dev: BlockDevice): void {
    this.state = 'done';
    this.conn.transmit({ dev, peer: this.peer, structured: this.structured, metaAllocation: this.metaAllocation });
  }

  private reply(opt: number, type: number, data?: Buffer): void {
    const h = Buffer.allocUnsafe(20);
    h.writeBigUInt64BE(P.NBD_REP_MAGIC, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(type >>> 0, 12);
    h.writeUInt32BE(data ? data.length : 0, 16);
    this.conn.sock.write(data ? Buffer.concat([h, data]) : h);
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
      if (opt === P.NBD_OPT_EXPORT_NAME) return this.conn.destroy();
      return this.replyError(opt, P.NBD_REP_ERR_TLS_REQD, 'this server requires TLS: connect with TLS-PSK (nbds://)');
    }
    switch (opt) {
      case P.NBD_OPT_STARTTLS:
        return this.startTls(opt, data);
      case P.NBD_OPT_EXPORT_NAME: {
        const dev = this.resolveExport(data.toString('utf8'));
        // No way to report an error for this option: the protocol closes.
        if (!dev) return this.conn.destroy();
        const b = Buffer.alloc(this.noZeroes ? 10 : 134);
        b.writeBigUInt64BE(BigInt(dev.blockCount * dev.blockSize), 0);
        b.writeUInt16BE(this.transmissionFlags(dev), 8);
        this.conn.sock.write(b);
        return this.transmit(dev);
      }
      case P.NBD_OPT_ABORT:
        this.reply(opt, P.NBD_REP_ACK);
        this.conn.sock.end();
        this.conn.leave();
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
    if (4 + nameLen + 2 + nReq * 2 !== data.length)
      return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'information request count does not match the option length');
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
    if (opt === P.NBD_OPT_GO) this.transmit(dev);
  }

  private startTls(opt: number, data: Buffer): void {
    const tls = this.opts.tls;
    if (!tls || tls.mode === 'off') return this.replyError(opt, P.NBD_REP_ERR_POLICY, 'TLS is switched off on this server');
    if (this.tls) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'TLS is already negotiated');
    if (data.length !== 0) return this.replyError(opt, P.NBD_REP_ERR_INVALID, 'NBD_OPT_STARTTLS takes no data');
    // Bytes sent before our reply would be plaintext slipped into the TLS session.
    const c = this.conn;
    if (c.q.length !== 0) return c.destroy();
    this.reply(opt, P.NBD_REP_ACK);
    this.state = 'tls-handshake';
    const raw = c.sock;
    raw.off('data', c.onData);
    const up = upgradeToTls(raw, tls);
    const who = () => `${raw.remoteAddress ?? 'local'}${raw.remotePort ? `:${raw.remotePort}` : ''}`;
    up.socket.on('error', (e) => {
      if (this.inTlsHandshake())
        this.opts.log?.(`nbd: TLS handshake with ${who()} (PSK identity ${printableIdentity(up.identity())}) failed: ${e.message.split('\n')[0]}`);
      c.destroy();
    });
    up.socket.on('close', () => c.destroy());
    up.socket.once('secure', () => {
      if (!this.inTlsHandshake()) return;
      // The spec: state negotiated before TLS is forgotten.
      this.structured = false;
      this.metaAllocation = false;
      this.tls = true;
      this.peer = { identity: up.identity() ?? null };
      this.state = 'options';
      this.opts.log?.(`nbd: ${who()} identified as ${printableIdentity(this.peer.identity ?? undefined)} over ${up.socket.getProtocol() ?? 'TLS'}`);
      up.socket.on('data', c.onData);
    });
    c.sock = up.socket;
  }

  /** The TLS handshake is under way on a connection still open. */
  private inTlsHandshake(): boolean {
    return this.state === 'tls-handshake' && !this.conn.closed;
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
}
