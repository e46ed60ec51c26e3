// A small iSCSI initiator (RFC 7143, ErrorRecoveryLevel 0, one connection per
// session): login with key negotiation and optional (mutual) CHAP (in
// initiator-login.ts), SCSI commands with immediate data, unsolicited Data-Out
// and R2T-solicited data, Data-In reassembly, task management, Text
// (SendTargets), NOP and Logout.
// The tests drive the target with it, and multipath code can build on it.
// It also offers raw PDU access for protocol-level tests.
import net from 'node:net';
import { crc32c, dataDigest } from './crc32c.js';
import { login as runLogin } from './initiator-login.js';
import type { FullFeatureParams, LoginOptions, LoginResult } from './initiator-login.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import { PduReader, isReaderError } from './pdu-reader.js';
import { encodeText, parseText } from './text.js';
import type { TextPair } from './text.js';

export type { LoginOptions, LoginResult } from './initiator-login.js';

export interface CommandOptions {
  /** A LUN number (src/scsi/spec/luns.ts): conglomerateLun(pe, slu) addresses a subsidiary LU with the two-level LUN. */
  lun?: number;
  cdb: Buffer | number[];
  /** Data-Out (its length is the EDTL of a write unless edtl is given). */
  dataOut?: Buffer;
  /** Expected Data-In length (a read). */
  readLength?: number;
  /** Override the EDTL field (residual tests). */
  edtl?: number;
  /** Send at most this much as immediate data (default: what the session allows). */
  immediate?: number;
  attribute?: number;
  immediateDelivery?: boolean;
}

export interface CommandResult {
  status: number;
  sense?: Buffer;
  dataIn: Buffer;
  /** RSP_OVERFLOW / RSP_UNDERFLOW flags of the SCSI Response or final Data-In. */
  residualFlags: number;
  residual: number;
  /** Data-In PDUs received and their lengths (for segmentation tests). */
  dataInLengths: number[];
  r2ts: number;
  /** Status came in the final Data-In (S bit) rather than a SCSI Response. */
  statusInDataIn: boolean;
}

interface Pending {
  resolve(pdu: Pdu): void;
  reject(e: Error): void;
}

interface CommandState {
  opts: CommandOptions;
  itt: number;
  edtl: number;
  data: Buffer;
  /** End of the Data-In received so far. */
  got: number;
  dataLengths: number[];
  r2ts: number;
  resolve(r: CommandResult): void;
  reject(e: Error): void;
}

export class IscsiInitiator {
  readonly sock: net.Socket;
  private readonly reader = new PduReader();
  private readonly pending = new Map<number, Pending>();
  private readonly commands = new Map<number, CommandState>();
  private readonly unsolicited: Pdu[] = [];
  private waiters: Array<(p: Pdu | Error) => void> = [];
  private itt = 1;
  cmdSN = 1;
  expStatSN = 0;
  maxCmdSN = 1;
  isid: Buffer = Buffer.alloc(6);
  tsih = 0;
  cid = 0;
  headerDigest = false;
  dataDigest = false;
  /** The target's MaxRecvDataSegmentLength: the longest data segment we may send. */
  targetMaxRecv = 8192;
  maxRecv = 262144;
  firstBurstLength = 65536;
  maxBurstLength = 262144;
  immediateData = true;
  initialR2T = true;
  /** Set when the connection closed. */
  closedError: Error | undefined;
  /** Every PDU the target sent that no request claimed (NOP-In pings, Async, Reject...). */
  readonly stray: Pdu[] = [];
  /** Initiator Task Tag of the last command sent. */
  lastItt = 0;
  /** When set, NOP-In pings from the target are not answered. */
  ignorePings = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(host: string, port: number): Promise<IscsiInitiator> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, host);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new IscsiInitiator(sock));
      });
      sock.once('error', reject);
    });
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const c of this.commands.values()) c.reject(e);
    this.commands.clear();
    for (const w of this.waiters) w(e);
    this.waiters = [];
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    for (;;) {
      const r = this.reader.next();
      if (r === null) return;
      if (isReaderError(r)) {
        this.fail(new Error(`bad PDU from target: ${r.kind}`));
        this.sock.destroy();
        return;
      }
      this.dispatch(r);
    }
  }

  private dispatch(pdu: Pdu): void {
    const op = P.opcodeOf(pdu.bhs);
    const itt = P.ittOf(pdu.bhs);
    if (op !== P.OP_SCSI_DATA_IN && op !== P.OP_R2T) {
      const statSN = pdu.bhs.readUInt32BE(24);
      if (op !== P.OP_LOGIN_RESPONSE || pdu.bhs[36] === 0) this.expStatSN = P.snAdd(statSN, 1);
    } else if (op === P.OP_SCSI_DATA_IN && pdu.bhs[1]! & P.DATA_IN_STATUS) this.expStatSN = P.snAdd(pdu.bhs.readUInt32BE(24), 1);
    if (op !== P.OP_LOGIN_RESPONSE && op !== P.OP_REJECT) {
      const max = pdu.bhs.readUInt32BE(32);
      if (P.snLe(this.maxCmdSN, max)) this.maxCmdSN = max;
    }
    if (op === P.OP_NOP_IN && itt === P.RESERVED_TAG) {
      // A ping from the target: answer with its TTT.
      const ttt = pdu.bhs.readUInt32BE(20);
      if (ttt !== P.RESERVED_TAG && !this.ignorePings) {
        const h = P.initiatorHeader(P.OP_NOP_OUT, P.FLAG_FINAL, 0, true);
        h.writeUInt32BE(P.RESERVED_TAG, 16);
        h.writeUInt32BE(ttt, 20);
        h.writeUInt32BE(this.cmdSN, 24);
        h.writeUInt32BE(this.expStatSN, 28);
        this.sendPdu(h);
      }
      this.stray.push(pdu);
      return;
    }
    const cmd = this.commands.get(itt);
    if (cmd && (op === P.OP_SCSI_DATA_IN || op === P.OP_R2T || op === P.OP_SCSI_RESPONSE)) {
      this.onCommandPdu(cmd, pdu);
      return;
    }
    const p = this.pending.get(itt);
    if (p && op !== P.OP_REJECT) {
      this.pending.delete(itt);
      p.resolve(pdu);
      return;
    }
    if (op === P.OP_REJECT && pdu.data.length >= 48) {
      const rittt = P.ittOf(pdu.data);
      const rc = this.commands.get(rittt);
      const rp = this.pending.get(rittt);
      const err = new IscsiRejectError(pdu.bhs[2]!);
      if (rc) {
        this.commands.delete(rittt);
        rc.reject(err);
      } else if (rp) {
        this.pending.delete(rittt);
        rp.reject(err);
      }
    }
    this.stray.push(pdu);
    const w = this.waiters.shift();
    if (w) w(pdu);
  }

  /** Waits for the next PDU that no request claimed (raw tests). */
  nextStray(timeoutMs = 5000): Promise<Pdu> {
    const have = this.stray.shift();
    if (have) return Promise.resolve(have);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error('timed out waiting for a PDU'));
      }, timeoutMs);
      const done = (p: Pdu | Error): void => {
        clearTimeout(t);
        if (p instanceof Error) reject(p);
        else {
          this.stray.splice(this.stray.indexOf(p), 1);
          resolve(p);
        }
      };
      this.waiters.push(done);
    });
  }

  /** Writes a PDU with the negotiated digests. */
  sendPdu(bhs: Buffer, data?: Buffer, ahs?: Buffer): void {
    const parts: Buffer[] = [bhs];
    if (ahs) parts.push(ahs);
    if (this.headerDigest) {
      const d = Buffer.allocUnsafe(4);
      d.writeUInt32LE(crc32c(ahs ?? Buffer.alloc(0), crc32c(bhs)), 0);
      parts.push(d);
    }
    if (data && data.length > 0) {
      parts.push(data);
      const pad = P.padOf(data.length);
      if (pad) parts.push(Buffer.alloc(pad));
      if (this.dataDigest) {
        const d = Buffer.allocUnsafe(4);
        d.writeUInt32LE(dataDigest(data), 0);
        parts.push(d);
      }
    }
    this.sock.write(Buffer.concat(parts));
  }

  /** Raw bytes onto the wire (fuzz tests). */
  sendRaw(b: Buffer): void {
    this.sock.write(b);
  }

  nextItt(): number {
    const i = this.itt;
    this.itt = this.itt >= 0xfffffffe ? 1 : this.itt + 1;
    return i;
  }

  /** Sends a request and resolves with the target's PDU of the same ITT. */
  request(itt: number, bhs: Buffer, data?: Buffer): Promise<Pdu> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.pending.set(itt, { resolve, reject });
      this.sendPdu(bhs, data);
    });
  }

  // ---- login ----

  /** Logs in (initiator-login.ts); on success the negotiated digests and lengths apply from the next PDU on. */
  async login(o: LoginOptions): Promise<LoginResult> {
    const { result, params } = await runLogin(this, o);
    if (params) this.enterFullFeature(params);
    return result;
  }

  private enterFullFeature(p: FullFeatureParams): void {
    this.tsih = p.tsih;
    this.maxCmdSN = p.maxCmdSN;
    this.cmdSN = p.cmdSN;
    this.headerDigest = p.headerDigest;
    this.dataDigest = p.dataDigest;
    this.reader.headerDigest = this.headerDigest;
    this.reader.dataDigest = this.dataDigest;
    this.reader.maxDataSegment = this.maxRecv;
    this.targetMaxRecv = p.targetMaxRecv;
    this.firstBurstLength = p.firstBurstLength;
    this.maxBurstLength = p.maxBurstLength;
    this.immediateData = p.immediateData;
    this.initialR2T = p.initialR2T;
  }

  // ---- SCSI commands ----

  command(o: CommandOptions): Promise<CommandResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const cdb = Buffer.isBuffer(o.cdb) ? o.cdb : Buffer.from(o.cdb);
    const dataOut = o.dataOut ?? Buffer.alloc(0);
    const readLength = o.readLength ?? 0;
    const write = dataOut.length > 0 || (o.edtl !== undefined && !o.readLength);
    const edtl = o.edtl ?? (write ? dataOut.length : readLength);
    const itt = this.nextItt();
    this.lastItt = itt;
    const immediateLimit = this.immediateData ? Math.min(o.immediate ?? Infinity, this.firstBurstLength, this.targetMaxRecv, dataOut.length, edtl) : 0;
    const imm = dataOut.subarray(0, immediateLimit);
    const unsolicitedEnd = this.initialR2T ? imm.length : Math.min(this.firstBurstLength, edtl, dataOut.length);
    const final = unsolicitedEnd <= imm.length;
    let flags = (final ? P.FLAG_FINAL : 0) | ((o.attribute ?? 1) & P.CMD_ATTR_MASK);
    if (readLength > 0) flags |= P.CMD_READ;
    if (write) flags |= P.CMD_WRITE;
    const h = P.initiatorHeader(P.OP_SCSI_COMMAND, flags, imm.length, o.immediateDelivery);
    P.encodeLun(o.lun ?? 0, h);
    h.writeUInt32BE(itt, 16);
    h.writeUInt32BE(edtl >>> 0, 20);
    h.writeUInt32BE(this.cmdSN, 24);
    if (!o.immediateDelivery) this.cmdSN = P.snAdd(this.cmdSN, 1);
    h.writeUInt32BE(this.expStatSN, 28);
    let ahs: Buffer | undefined;
    cdb.copy(h, 32, 0, Math.min(16, cdb.length));
    if (cdb.length > 16) {
      const extra = cdb.subarray(16);
      const len = extra.length + 1;
      ahs = Buffer.alloc((3 + len + 3) & ~3);
      ahs.writeUInt16BE(len, 0);
      ahs[2] = P.AHS_EXTENDED_CDB;
      extra.copy(ahs, 4);
      h[4] = ahs.length / 4;
    }
    return new Promise((resolve, reject) => {
      const st: CommandState = { opts: { ...o, dataOut }, itt, edtl, data: Buffer.alloc(readLength), got: 0, dataLengths: [], r2ts: 0, resolve, reject };
      this.commands.set(itt, st);
      this.sock.cork();
      this.sendPdu(h, imm, ahs);
      if (!final) this.sendDataOut(st, P.RESERVED_TAG, imm.length, unsolicitedEnd - imm.length);
      this.sock.uncork();
    });
  }

  private sendDataOut(st: CommandState, ttt: number, offset: number, length: number): void {
    const data = st.opts.dataOut!;
    let sn = 0;
    let off = offset;
    const end = offset + length;
    while (off < end) {
      const n = Math.min(this.targetMaxRecv, end - off);
      const h = P.initiatorHeader(P.OP_SCSI_DATA_OUT, off + n === end ? P.FLAG_FINAL : 0, n);
      P.encodeLun(st.opts.lun ?? 0, h);
      h.writeUInt32BE(st.itt, 16);
      h.writeUInt32BE(ttt, 20);
      h.writeUInt32BE(this.expStatSN, 28);
      h.writeUInt32BE(sn++, 36);
      h.writeUInt32BE(off, 40);
      this.sendPdu(h, data.subarray(off, off + n));
      off += n;
    }
  }

  private onCommandPdu(st: CommandState, pdu: Pdu): void {
    const bhs = pdu.bhs;
    const op = P.opcodeOf(bhs);
    if (op === P.OP_R2T) {
      st.r2ts++;
      const ttt = bhs.readUInt32BE(20);
      const offset = bhs.readUInt32BE(40);
      const length = bhs.readUInt32BE(44);
      this.sock.cork();
      this.sendDataOut(st, ttt, offset, length);
      this.sock.uncork();
      return;
    }
    if (op === P.OP_SCSI_DATA_IN) {
      const off = bhs.readUInt32BE(40);
      st.dataLengths.push(pdu.data.length);
      if (off + pdu.data.length > st.data.length) {
        const bigger = Buffer.alloc(off + pdu.data.length);
        st.data.copy(bigger);
        st.data = bigger;
      }
      pdu.data.copy(st.data, off);
      st.got = Math.max(st.got, off + pdu.data.length);
      if (bhs[1]! & P.DATA_IN_STATUS) {
        this.commands.delete(st.itt);
        st.resolve({
          status: bhs[3]!,
          dataIn: st.data.subarray(0, st.got),
          residualFlags: bhs[1]! & (P.RSP_OVERFLOW | P.RSP_UNDERFLOW),
          residual: bhs.readUInt32BE(44),
          dataInLengths: st.dataLengths,
          r2ts: st.r2ts,
          statusInDataIn: true,
        });
      }
      return;
    }
    // SCSI Response.
    this.commands.delete(st.itt);
    let sense: Buffer | undefined;
    if (pdu.data.length >= 2) {
      const n = pdu.data.readUInt16BE(0);
      sense = Buffer.from(pdu.data.subarray(2, 2 + n));
    }
    const residual = bhs.readUInt32BE(44);
    const flags = bhs[1]! & (P.RSP_OVERFLOW | P.RSP_UNDERFLOW | P.RSP_BIDI_OVERFLOW | P.RSP_BIDI_UNDERFLOW);
    st.resolve({
      status: bhs[3]!,
      sense,
      dataIn: st.data.subarray(0, st.got),
      residualFlags: flags,
      residual,
      dataInLengths: st.dataLengths,
      r2ts: st.r2ts,
      statusInDataIn: false,
    });
  }

  // ---- other requests ----

  async nop(data?: Buffer): Promise<Buffer> {
    const itt = this.nextItt();
    const h = P.initiatorHeader(P.OP_NOP_OUT, P.FLAG_FINAL, data?.length ?? 0, true);
    h.writeUInt32BE(itt, 16);
    h.writeUInt32BE(P.RESERVED_TAG, 20);
    h.writeUInt32BE(this.cmdSN, 24);
    h.writeUInt32BE(this.expStatSN, 28);
    const r = await this.request(itt, h, data);
    return Buffer.from(r.data);
  }

  /** Task management; returns the TMF response code. */
  async taskManagement(fn: number, o: { lun?: number; referencedTaskTag?: number; refCmdSN?: number; immediate?: boolean } = {}): Promise<number> {
    const itt = this.nextItt();
    const immediate = o.immediate ?? true;
    const h = P.initiatorHeader(P.OP_TASK_MGMT_REQUEST, P.FLAG_FINAL | fn, 0, immediate);
    P.encodeLun(o.lun ?? 0, h);
    h.writeUInt32BE(itt, 16);
    h.writeUInt32BE(o.referencedTaskTag ?? P.RESERVED_TAG, 20);
    h.writeUInt32BE(this.cmdSN, 24);
    if (!immediate) this.cmdSN = P.snAdd(this.cmdSN, 1);
    h.writeUInt32BE(this.expStatSN, 28);
    h.writeUInt32BE(o.refCmdSN ?? 0, 32);
    const r = await this.request(itt, h);
    return r.bhs[2]!;
  }

  /** A Text exchange; follows continuations. Returns the answer's pairs. */
  async text(pairs: TextPair[]): Promise<TextPair[]> {
    const itt = this.nextItt();
    let data = encodeText(pairs);
    let ttt = P.RESERVED_TAG;
    const parts: Buffer[] = [];
    for (let round = 0; round < 64; round++) {
      const h = P.initiatorHeader(P.OP_TEXT_REQUEST, P.FLAG_FINAL, data.length, true);
      h.writeUInt32BE(itt, 16);
      h.writeUInt32BE(ttt, 20);
      h.writeUInt32BE(this.cmdSN, 24);
      h.writeUInt32BE(this.expStatSN, 28);
      const r = await this.request(itt, h, data);
      parts.push(Buffer.from(r.data));
      if (!(r.bhs[1]! & P.TEXT_CONTINUE)) {
        const parsed = parseText(Buffer.concat(parts));
        if (!parsed.ok) throw new Error(`bad text response: ${parsed.error}`);
        return parsed.pairs;
      }
      ttt = r.bhs.readUInt32BE(20);
      data = Buffer.alloc(0);
    }
    throw new Error('text response never ended');
  }

  /** Logout; returns the Logout Response code. */
  async logout(reason = P.LOGOUT_CLOSE_SESSION): Promise<number> {
    const itt = this.nextItt();
    const h = P.initiatorHeader(P.OP_LOGOUT_REQUEST, P.FLAG_FINAL | reason, 0, true);
    h.writeUInt32BE(itt, 16);
    h.writeUInt16BE(this.cid, 20);
    h.writeUInt32BE(this.cmdSN, 24);
    h.writeUInt32BE(this.expStatSN, 28);
    const r = await this.request(itt, h);
    return r.bhs[2]!;
  }

  close(): void {
    this.sock.destroy();
  }

  /** Resolves when the target has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closedError) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the target did not close the connection')), timeoutMs);
      this.sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

export class IscsiRejectError extends Error {
  constructor(readonly reason: number) {
    super(`the target rejected the PDU (reason 0x${reason.toString(16)})`);
    this.name = 'IscsiRejectError';
  }
}
