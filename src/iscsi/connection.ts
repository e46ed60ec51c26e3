// One iSCSI connection on the target: the login phase, then the full feature
// phase with its PDU families (RFC 7143 11): SCSI Command / Data-Out / R2T /
// Data-In / SCSI Response, Task Management, Text (SendTargets), NOP, Logout and
// Reject. A connection state table:
//
//   login ──(final Login Response, T=1 NSG=3)──► full-feature ──(Logout Request)──► logging-out
//     │                                                  (tasks in flight finish) ──► logged-out
//     └──────────── (login reject, timeout, socket error) ──────────────────────────► closed
//
// Nothing a peer sends may throw out of here: malformed PDUs are rejected, and
// a stream that cannot be trusted any more (header digest error, an absurd
// length, a broken Data-Out sequence at ErrorRecoveryLevel 0) closes the
// connection.
import type net from 'node:net';
import type { IoBudget } from '../limits/io-budget.js';
import type { IoAccount } from '../limits/io-budget.js';
import { checkCondition } from '../scsi/sense.js';
import { DATA_PHASE_ERROR, INTERNAL_TARGET_FAILURE, INVALID_FIELD_IN_CDB, PROTOCOL_SERVICE_CRC_ERROR, TASK_SET_FULL } from '../scsi/spec/index.js';
import type { ItNexus, ScsiCommand, ScsiResponse } from '../scsi/types.js';
import type { ChapConfig } from './chap.js';
import { crc32c, dataDigest } from './crc32c.js';
import { LoginNegotiation, parseLoginRequest } from './login.js';
import type { LoginRequestFields } from './login.js';
import * as P from './pdu.js';
import type { Pdu, SeqNumbers } from './pdu.js';
import { PduReader, isReaderError } from './pdu-reader.js';
import { negotiate } from './params.js';
import type { NegotiatedParams, TargetOffers } from './params.js';
import { QUEUE_DEPTH } from './session.js';
import type { Session } from './session.js';
import { Task, parseDataOut } from './task.js';
import type { DataOutFields } from './task.js';
import { encodeText, parseText } from './text.js';
import type { TextPair } from './text.js';
import type { PortalConfig, ScsiExecutor } from './types.js';

/** Largest write the transport buffers for one command (the SCSI layer allows 8 MiB per command). */
export const MAX_WRITE_BUFFER = 32 * 1024 * 1024;
/**
 * Reply bytes beyond the Data-In the I/O budget counts (responses, R2Ts,
 * rejects) queued unread on the socket before the connection stops reading.
 */
const REPLY_BACKLOG = 1024 * 1024;
/** Bytes of I/O buffers (write data, Data-In not yet sent) one connection holds by default. */
export const DEFAULT_ISCSI_CONNECTION_IO = 64 * 1024 * 1024;
/** How long a logout waits for the Data-Out of tasks in flight. */
const LOGOUT_GRACE_MS = 10_000;
/** Remembered ITTs of aborted tasks whose late Data-Out is dropped silently. */
const ABORTED_MEMORY = 1024;

export type ConnectionState = 'login' | 'full-feature' | 'logging-out' | 'logged-out' | 'closed';

/** What a connection needs from the server it belongs to. */
export interface ConnectionHost {
  readonly targetName: string;
  readonly alias: string | undefined;
  readonly chap: ChapConfig | undefined;
  readonly offers: TargetOffers;
  readonly scsi: ScsiExecutor;
  readonly loginTimeoutMs: number;
  readonly keepaliveMs: number;
  /**
   * The process's I/O buffer budget: write buffers and Data-In not yet handed
   * to the kernel are taken from it, at most connectionIoLimit per connection.
   * Unsolicited data is counted but never refused (it is in memory already; the
   * CmdSN window and FirstBurstLength bound it).
   */
  readonly ioBudget: IoBudget;
  readonly connectionIoLimit: number;
  log(msg: string): void;
  /** Binds a finished login to a session (new, reinstated or continued), or says why not. */
  bindSession(conn: Connection, params: NegotiatedParams, req: LoginRequestFields): { session: Session } | { status: number; reason: string };
  /** The connection is gone: its session (ErrorRecoveryLevel 0) ends with it. */
  connectionClosed(conn: Connection): void;
  sendTargets(value: string, conn: Connection): TextPair[] | 'reject';
  /** TARGET COLD RESET: every connection of the target is dropped once the response is out. */
  coldReset(from: Connection): void;
}

/** The write residual needs the length the CDB asked for; the SCSI layer may report it. */
type ScsiResult = ScsiResponse & { dataOutLength?: number };

export class Connection {
  readonly sock: net.Socket;
  readonly portal: PortalConfig;
  readonly remote: string;
  state: ConnectionState = 'login';
  session: Session | undefined;
  cid = 0;
  private readonly host: ConnectionHost;
  private readonly reader = new PduReader();
  private readonly login: LoginNegotiation;
  private statSN = 0;
  private loginStarted = false;
  private headerDigest = false;
  private dataDigest = false;
  /** Longest data segment this side may send (the initiator's MaxRecvDataSegmentLength). */
  private sendSegment = 8192;
  private nextTag = 1;
  private readonly abortedItts = new Set<number>();
  private textIn: { itt: number; parts: Buffer[]; length: number } | undefined;
  private textOut: { itt: number; ttt: number; rest: Buffer } | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  private pingTtt: number | undefined;
  private pingSent = 0;
  private readPaused = false;
  /** The socket is corked until the end of this event-loop turn. */
  private turnCorked = false;
  /** This connection's share of the I/O budget. */
  private readonly account: IoAccount;
  /** Writes waiting for budget before their R2Ts go out. */
  private readonly bufferWaiters: Task[] = [];
  /** Reads (and bidirectional commands) waiting for budget before they run. */
  private readonly readWaiters: Task[] = [];
  private wakeScheduled = false;
  /** When the queued replies last made progress (the budget closes long-stalled holders under pressure). */
  private lastProgress = Date.now();
  private settleClosed!: () => void;
  readonly closed: Promise<void>;

  constructor(sock: net.Socket, portal: PortalConfig, host: ConnectionHost) {
    this.sock = sock;
    this.portal = portal;
    this.host = host;
    this.remote = `${sock.remoteAddress}:${sock.remotePort}`;
    this.closed = new Promise<void>((r) => (this.settleClosed = r));
    this.login = new LoginNegotiation({ targetName: host.targetName, alias: host.alias, portalGroupTag: portal.portalGroupTag, chap: host.chap, offers: host.offers });
    sock.setNoDelay(true);
    this.account = host.ioBudget.account(
      host.connectionIoLimit,
      {
        stalledSince: () => (this.sock.writableLength > 0 ? this.lastProgress : undefined),
        evict: () => this.destroy(),
        describe: () => `iSCSI connection from ${this.remote}`,
      },
      () => this.scheduleWake(),
    );
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.host.log(`iscsi: ${this.remote}: socket error: ${e.message}`));
    sock.on('close', () => this.onClose());
    sock.on('drain', () => {
      this.lastProgress = Date.now();
      if (this.readPaused && this.state !== 'closed') {
        this.readPaused = false;
        this.sock.resume();
        // PDUs already received wait in the reader.
        this.pump();
      }
    });
    this.loginTimer = setTimeout(() => {
      this.host.log(`iscsi: ${this.remote}: login not finished within ${host.loginTimeoutMs} ms; closing`);
      this.destroy();
    }, host.loginTimeoutMs);
    this.loginTimer.unref();
  }

  /** Drops the connection at once. */
  destroy(): void {
    if (this.state === 'closed') return;
    this.sock.destroy();
    this.onClose();
  }

  /** Sends what is queued, then closes. */
  private endGracefully(): void {
    if (this.state === 'closed') return;
    this.sock.end();
    const t = setTimeout(() => this.destroy(), 5000);
    t.unref();
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.loginTimer);
    clearInterval(this.keepaliveTimer);
    this.reader.clear();
    this.account.close();
    this.host.connectionClosed(this);
    this.settleClosed();
  }

  // ---- receiving ----

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastHeard = Date.now();
    this.reader.push(chunk);
    this.pump();
  }

  /** Handles the PDUs received so far, unless reading is paused (replies are not drained). */
  private pump(): void {
    try {
      for (;;) {
        if (this.stopped() || this.readPaused) return;
        const r = this.reader.next();
        if (r === null) return;
        if (isReaderError(r)) {
          if (r.kind === 'header-digest') this.fatal('header digest error');
          else {
            this.reject(P.REJECT_PROTOCOL_ERROR, r.bhs);
            this.fatal(`data segment of ${r.length} bytes exceeds ${r.limit}`);
          }
          return;
        }
        if (this.state === 'login') this.onLoginPdu(r);
        else this.onPdu(r);
      }
    } catch (e) {
      // A bug must cost this connection, never the process.
      this.host.log(`iscsi: ${this.remote}: internal error, closing connection: ${(e as Error).stack ?? String(e)}`);
      this.destroy();
    }
  }

  /** No more requests are read: closed, logged out, or the stream is broken. */
  private stopped(): boolean {
    return this.state === 'closed' || this.state === 'logged-out';
  }

  private fatal(why: string): void {
    this.host.log(`iscsi: ${this.remote}: ${why}; closing connection`);
    this.endGracefully();
    // Nothing more is read from a stream that can no longer be trusted.
    this.reader.clear();
    if ((this.state as ConnectionState) !== 'closed') this.state = 'logged-out';
  }

  // ---- sending ----

  private seq(advanceStatSN: boolean): SeqNumbers {
    const s = this.session;
    const out: SeqNumbers = {
      statSN: this.statSN,
      expCmdSN: s ? s.expCmdSN : 0,
      maxCmdSN: s ? s.maxCmdSN : 0,
    };
    if (advanceStatSN) this.statSN = P.snAdd(this.statSN, 1);
    return out;
  }

  /** Writes one PDU: BHS (+ header digest), data, pad (+ data digest). */
  private send(bhs: Buffer, data?: Buffer, sent?: () => void): void {
    if (this.state === 'closed' || this.sock.writableEnded) return sent?.();
    const sock = this.sock;
    if (sock.writableLength === 0) this.lastProgress = Date.now();
    if (!this.turnCorked) {
      // Everything sent in this event-loop turn leaves in one writev: commands
      // that arrive together complete together, and one system call (one
      // wakeup of the peer) then carries all their PDUs.
      this.turnCorked = true;
      sock.cork();
      setImmediate(() => {
        this.turnCorked = false;
        sock.uncork();
      });
    }
    if (this.headerDigest) {
      const h = Buffer.allocUnsafe(P.BHS_LENGTH + 4);
      bhs.copy(h, 0, 0, P.BHS_LENGTH);
      h.writeUInt32LE(crc32c(bhs, 0, 0, P.BHS_LENGTH), P.BHS_LENGTH);
      sock.write(h);
    } else sock.write(bhs);
    const cb = sent
      ? (): void => {
          this.lastProgress = Date.now();
          sent();
        }
      : undefined;
    if (data && data.length > 0) {
      const pad = P.padOf(data.length);
      const trailer = pad || this.dataDigest;
      sock.write(data, trailer ? undefined : cb);
      if (trailer) {
        const t = Buffer.alloc(pad + (this.dataDigest ? 4 : 0));
        if (this.dataDigest) t.writeUInt32LE(dataDigest(data), pad);
        sock.write(t, cb);
      }
    } else if (sent) sent();
    // Data-In the budget counts may queue up; anything more means the peer does not read.
    if (!this.readPaused && sock.writableLength > this.account.held + REPLY_BACKLOG) {
      this.readPaused = true;
      sock.pause();
    }
  }

  /** Writes several PDUs as one batch (one TCP segment train, not one per write). */
  private batch(fn: () => void): void {
    this.sock.cork();
    try {
      fn();
    } finally {
      this.sock.uncork();
    }
  }

  private reject(reason: number, bhs: Buffer): void {
    this.send(P.reject({ reason, seq: this.seq(true) }), bhs.subarray(0, P.BHS_LENGTH));
  }

  // ---- login phase ----

  private onLoginPdu(pdu: Pdu): void {
    if (P.opcodeOf(pdu.bhs) !== P.OP_LOGIN_REQUEST) {
      // Anything but a Login Request before full feature phase ends the login (RFC 7143 6.3).
      this.loginFail(pdu.bhs, P.LOGIN_INVALID_DURING_LOGIN, `${P.OPCODE_NAMES[P.opcodeOf(pdu.bhs)] ?? `opcode 0x${P.opcodeOf(pdu.bhs).toString(16)}`} during login`);
      return;
    }
    const req = parseLoginRequest(pdu.bhs);
    if (!this.loginStarted) {
      this.loginStarted = true;
      this.statSN = req.expStatSN;
      this.cid = req.cid;
    }
    const step = this.login.step(req, pdu.data);
    switch (step.kind) {
      case 'fail':
        this.loginFail(pdu.bhs, step.status, step.reason);
        return;
      case 'more':
        this.sendLogin(req, { transit: false, csg: step.csg, nsg: 0, tsih: 0, status: 0, text: Buffer.alloc(0) });
        return;
      case 'respond': {
        let tsih = 0;
        if (step.fullFeature) {
          const bound = this.host.bindSession(this, this.login.params, req);
          if ('status' in bound) {
            this.loginFail(pdu.bhs, bound.status, bound.reason);
            return;
          }
          this.session = bound.session;
          tsih = bound.session.tsih;
        }
        const text = encodeText(step.pairs);
        if (text.length > this.login.params.initiatorMaxRecvDataSegmentLength) {
          this.loginFail(pdu.bhs, P.LOGIN_TARGET_ERROR, 'login response longer than the initiator can receive');
          return;
        }
        this.sendLogin(req, { transit: step.transit, csg: step.csg, nsg: step.nsg, tsih, status: 0, text });
        if (step.fullFeature) this.enterFullFeature();
        return;
      }
    }
  }

  private sendLogin(req: LoginRequestFields, r: { transit: boolean; csg: number; nsg: number; tsih: number; status: number; text: Buffer }): void {
    const s = this.session;
    const seq: SeqNumbers = {
      statSN: this.statSN,
      expCmdSN: s ? s.expCmdSN : req.cmdSN,
      maxCmdSN: s ? s.maxCmdSN : P.snAdd(req.cmdSN, QUEUE_DEPTH - 1),
    };
    this.statSN = P.snAdd(this.statSN, 1);
    const h = P.loginResponse({
      transit: r.transit,
      csg: r.csg,
      nsg: r.nsg,
      isid: req.isid,
      tsih: r.tsih,
      itt: req.itt,
      statusClass: r.status >> 8,
      statusDetail: r.status & 0xff,
      seq,
      dataLength: r.text.length,
    });
    this.send(h, r.text);
  }

  private loginFail(bhs: Buffer, status: number, reason: string): void {
    this.host.log(`iscsi: ${this.remote}: login rejected (${(status >> 8).toString(16).padStart(2, '0')}/${(status & 0xff).toString(16).padStart(2, '0')}): ${reason}`);
    const isLogin = P.opcodeOf(bhs) === P.OP_LOGIN_REQUEST;
    const req = isLogin ? parseLoginRequest(bhs) : undefined;
    const h = P.loginResponse({
      transit: false,
      csg: 0,
      nsg: 0,
      isid: req?.isid ?? Buffer.alloc(6),
      tsih: 0,
      itt: P.ittOf(bhs),
      statusClass: status >> 8,
      statusDetail: status & 0xff,
      seq: { statSN: this.statSN, expCmdSN: req?.cmdSN ?? 0, maxCmdSN: req?.cmdSN ?? 0 },
      dataLength: 0,
    });
    this.send(h);
    this.state = 'logged-out';
    this.endGracefully();
  }

  private enterFullFeature(): void {
    const p = this.login.params;
    this.state = 'full-feature';
    clearTimeout(this.loginTimer);
    this.headerDigest = p.headerDigest;
    this.dataDigest = p.dataDigest;
    this.reader.headerDigest = p.headerDigest;
    this.reader.dataDigest = p.dataDigest;
    this.reader.maxDataSegment = p.targetMaxRecvDataSegmentLength;
    this.sendSegment = p.initiatorMaxRecvDataSegmentLength;
    this.reader.sink = (bhs) => this.dataOutSink(bhs);
    if (this.host.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(() => this.keepalive(), Math.max(250, this.host.keepaliveMs / 2));
      this.keepaliveTimer.unref();
    }
  }

  /** Target NOP-In pings on an idle connection; no answer within the interval drops it. */
  private keepalive(): void {
    const now = Date.now();
    const ka = this.host.keepaliveMs;
    if (this.pingTtt !== undefined) {
      if (now - this.pingSent > ka) {
        this.host.log(`iscsi: ${this.remote}: no answer to NOP-In within ${ka} ms; closing`);
        this.destroy();
      }
      return;
    }
    if (now - this.lastHeard < ka) return;
    this.pingTtt = this.allocTag();
    this.pingSent = now;
    this.send(P.nopIn({ itt: P.RESERVED_TAG, ttt: this.pingTtt, seq: this.seq(false), dataLength: 0 }));
  }

  private allocTag(): number {
    const t = this.nextTag;
    this.nextTag = this.nextTag >= 0xfffffffe ? 1 : this.nextTag + 1;
    return t;
  }

  // ---- full feature phase ----

  private onPdu(pdu: Pdu): void {
    const s = this.session!;
    const bhs = pdu.bhs;
    const op = P.opcodeOf(bhs);
    const immediate = P.isImmediate(bhs);
    const cmdSN = bhs.readUInt32BE(24);
    if (s.type === 'Discovery' && op !== P.OP_TEXT_REQUEST && op !== P.OP_NOP_OUT && op !== P.OP_LOGOUT_REQUEST) {
      this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      return;
    }
    if (this.state === 'logging-out' && op !== P.OP_SCSI_DATA_OUT && op !== P.OP_NOP_OUT) {
      // Only the data of tasks already in flight is still taken (RFC 7143 11.14).
      this.reject(P.REJECT_WAITING_FOR_LOGOUT, bhs);
      return;
    }
    switch (op) {
      case P.OP_SCSI_DATA_OUT:
        this.onDataOut(pdu);
        return;
      case P.OP_NOP_OUT:
        this.onNopOut(pdu, cmdSN, immediate);
        return;
      case P.OP_SCSI_COMMAND:
        if (this.state !== 'full-feature') return;
        if (!s.deliver(cmdSN, immediate, () => this.onScsiCommand(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_TASK_MGMT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => void this.onTaskManagement(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_TEXT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => this.onText(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_LOGOUT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => void this.onLogout(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_SNACK_REQUEST:
        // ErrorRecoveryLevel 0: nothing can be retransmitted.
        this.reject(P.REJECT_SNACK_REJECT, bhs);
        return;
      case P.OP_LOGIN_REQUEST:
        this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
        return;
      default:
        this.reject(P.REJECT_COMMAND_NOT_SUPPORTED, bhs);
        return;
    }
  }

  private dropped(bhs: Buffer, cmdSN: number): void {
    const s = this.session!;
    this.host.log(`iscsi: ${this.remote}: ${P.OPCODE_NAMES[P.opcodeOf(bhs)]} with CmdSN ${cmdSN} outside the window ${s.expCmdSN}..${s.maxCmdSN}: ignored`);
  }

  // NOP-Out (RFC 7143 11.18): a ping with a real ITT is answered with its data echoed.
  private onNopOut(pdu: Pdu, cmdSN: number, immediate: boolean): void {
    const bhs = pdu.bhs;
    const itt = P.ittOf(bhs);
    const ttt = bhs.readUInt32BE(20);
    if (ttt !== P.RESERVED_TAG) {
      // The answer to our NOP-In.
      if (ttt === this.pingTtt) this.pingTtt = undefined;
      return;
    }
    if (itt === P.RESERVED_TAG) {
      if (!immediate) this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      return;
    }
    const answer = (): void => {
      const data = pdu.data.length > this.sendSegment ? pdu.data.subarray(0, this.sendSegment) : pdu.data;
      this.send(P.nopIn({ lunField: bhs.subarray(8, 16), itt, ttt: P.RESERVED_TAG, seq: this.seq(true), dataLength: data.length }), data);
    };
    if (!this.session!.deliver(cmdSN, immediate, answer)) this.dropped(bhs, cmdSN);
  }

  // ---- SCSI commands and their data ----

  private onScsiCommand(pdu: Pdu): void {
    const s = this.session!;
    const bhs = pdu.bhs;
    const flags = bhs[1]!;
    const final = (flags & P.FLAG_FINAL) !== 0;
    const read = (flags & P.CMD_READ) !== 0;
    const write = (flags & P.CMD_WRITE) !== 0;
    const itt = P.ittOf(bhs);
    const edtl = bhs.readUInt32BE(20);
    const data = pdu.data;
    const p = s.params;
    if (itt === P.RESERVED_TAG) return this.reject(P.REJECT_INVALID_PDU_FIELD, bhs);
    if (s.tasks.has(itt)) return this.reject(P.REJECT_TASK_IN_PROGRESS, bhs);
    if (pdu.dataDigestError) return this.reject(P.REJECT_DATA_DIGEST_ERROR, bhs);
    if (data.length > 0 && (!write || !p.immediateData || data.length > edtl || data.length > p.firstBurstLength)) return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    if (write && !final && p.initialR2T) return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    const ahs = parseAhs(pdu.ahs);
    if (!ahs) return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    const cdb = ahs.extendedCdb ? Buffer.concat([bhs.subarray(32, 48), ahs.extendedCdb]) : Buffer.from(bhs.subarray(32, 48));
    const readLength = read ? (write ? (ahs.bidiReadLength ?? 0) : edtl) : 0;
    const task = new Task({ itt, lun: P.decodeLun(bhs), cdb, edtl: write ? edtl : 0, readLength, cmdSN: bhs.readUInt32BE(24), immediate: P.isImmediate(bhs), read, write, attribute: flags & P.CMD_ATTR_MASK });
    s.tasks.set(itt, task);
    s.active++;
    if (!write || edtl === 0) {
      void this.execute(task);
      return;
    }
    if (edtl > MAX_WRITE_BUFFER) {
      // More than any command may write: answer at once; late Data-Out for it is dropped.
      this.rememberAborted(itt);
      this.complete(task, checkCondition(INVALID_FIELD_IN_CDB).response());
      return;
    }
    // Write data that came with the command or is on its way unsolicited is in
    // memory whether we like it or not: it is counted, and beyond the budget's
    // slack the command is refused with TASK SET FULL (initiators retry later)
    // and its data dropped, so many sessions of big WRITEs stay bounded too.
    if (data.length === edtl) {
      if (!this.account.tryTake(edtl) && !this.account.forceWithin(edtl)) return this.taskSetFull(task);
      task.accounted = edtl;
      // All the data came with the command: hand the received bytes on without a copy.
      task.buf = data;
      task.received = edtl;
      void this.execute(task);
      return;
    }
    const unsolicitedEnd = Math.min(p.firstBurstLength, edtl);
    const open = !final && data.length < unsolicitedEnd;
    // The whole buffer now when the budget allows; else only what arrives unsolicited (solicit() grows it).
    if (this.account.tryTake(edtl)) {
      task.buf = Buffer.allocUnsafe(edtl);
      task.accounted = edtl;
    } else {
      const n = open ? unsolicitedEnd : data.length;
      if (!this.account.forceWithin(n)) return this.taskSetFull(task);
      task.buf = Buffer.allocUnsafe(n);
      task.accounted = n;
    }
    data.copy(task.buf, 0);
    task.received = data.length;
    if (open) {
      task.unsolicitedOpen = true;
      task.unsolicitedEnd = unsolicitedEnd;
      return;
    }
    this.solicit(task);
  }

  /** Refuses a write the budget cannot hold; Data-Out that follows it is dropped. */
  private taskSetFull(task: Task): void {
    this.rememberAborted(task.itt);
    this.complete(task, { status: TASK_SET_FULL });
  }

  /** Gives back a task's write buffer to the budget (waiting tasks are woken by the account). */
  private release(task: Task): void {
    if (task.accounted === 0) return;
    const n = task.accounted;
    task.accounted = 0;
    this.account.give(n);
  }

  /** Budget came back: waiting writes and reads are retried in a later turn (never inside a caller's loop). */
  private scheduleWake(): void {
    if (this.wakeScheduled || this.state === 'closed') return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.state === 'closed') return;
      try {
        this.retryWaiters();
      } catch (e) {
        this.host.log(`iscsi: ${this.remote}: internal error, closing connection: ${(e as Error).stack ?? String(e)}`);
        this.destroy();
      }
    });
  }

  private retryWaiters(): void {
    while (this.bufferWaiters.length > 0) {
      const t = this.bufferWaiters[0]!;
      if (t.state !== 'collecting' || t.aborted) {
        this.bufferWaiters.shift();
        continue;
      }
      if (!this.account.tryTake(t.edtl)) break;
      this.bufferWaiters.shift();
      this.solicit(t, true);
    }
    while (this.readWaiters.length > 0) {
      const t = this.readWaiters[0]!;
      if (t.state !== 'collecting' || t.aborted) {
        this.readWaiters.shift();
        continue;
      }
      const n = readReserve(t, this.account.limit);
      if (!this.account.tryTake(n)) break;
      this.readWaiters.shift();
      t.readHeld = n;
      void this.execute(t);
    }
  }

  /** Where a Data-Out's data segment goes: straight into its task's buffer when the PDU is the one expected next. */
  private dataOutSink(bhs: Buffer): { buf: Buffer; offset: number } | null {
    if (P.opcodeOf(bhs) !== P.OP_SCSI_DATA_OUT) return null;
    const d = parseDataOut(bhs);
    const task = this.session?.tasks.get(d.itt);
    if (!task || !task.buf || task.aborted) return null;
    const e = task.expect(d);
    if ('error' in e) return null;
    return { buf: task.buf, offset: d.bufferOffset };
  }

  private onDataOut(pdu: Pdu): void {
    const s = this.session!;
    const d: DataOutFields = parseDataOut(pdu.bhs);
    const task = s.tasks.get(d.itt);
    if (!task) {
      if (this.abortedItts.has(d.itt)) return; // in flight when its task was aborted or answered
      this.reject(P.REJECT_INVALID_PDU_FIELD, pdu.bhs);
      return;
    }
    if (task.aborted || task.state !== 'collecting') return;
    if (pdu.dataDigestError) {
      // ErrorRecoveryLevel 0 cannot ask for the data again: the command ends here (RFC 7143 7.8).
      this.reject(P.REJECT_DATA_DIGEST_ERROR, pdu.bhs);
      this.rememberAborted(task.itt);
      this.complete(task, checkCondition(PROTOCOL_SERVICE_CRC_ERROR).response());
      return;
    }
    const e = task.expect(d);
    if ('error' in e) {
      this.dataOutFailed(task, `Data-Out for ITT 0x${d.itt.toString(16)}: ${e.error}`);
      return;
    }
    const buf = task.buf!;
    const landed = pdu.data.buffer === buf.buffer && pdu.data.byteOffset === buf.byteOffset + d.bufferOffset;
    if (!landed) pdu.data.copy(buf, d.bufferOffset);
    task.received += d.length;
    if (e.seq === 'unsolicited') {
      task.unsolicitedDataSN++;
      if (d.final || task.received >= task.unsolicitedEnd) task.unsolicitedOpen = false;
      if (!task.unsolicitedOpen) this.solicit(task);
      return;
    }
    const r = e.seq;
    r.received += d.length;
    r.nextDataSN++;
    if (r.received === r.length) {
      task.r2ts.delete(r.ttt);
      this.solicit(task);
    } else if (d.final) {
      this.dataOutFailed(task, `Data-Out sequence for R2T ${r.r2tSN} of ITT 0x${d.itt.toString(16)} ended after ${r.received} of ${r.length} bytes`);
    }
  }

  /**
   * A Data-Out sequence error. ErrorRecoveryLevel 0 cannot recover within the
   * command, so the command ends with ABORTED COMMAND, DATA PHASE ERROR; the
   * connection, whose PDU stream is intact, stays up (RFC 7143 7.12.1: a task
   * is ended by its response, not by a Reject). Its late Data-Out is dropped.
   */
  private dataOutFailed(task: Task, why: string): void {
    this.host.log(`iscsi: ${this.remote}: ${why}; the command ends with DATA PHASE ERROR`);
    this.rememberAborted(task.itt);
    this.complete(task, checkCondition(DATA_PHASE_ERROR).response());
  }

  /**
   * Executes the task when its data is complete, else asks for more with R2Ts
   * (up to MaxOutstandingR2T). `taken`: the whole buffer's bytes are already
   * taken from the budget.
   */
  private solicit(task: Task, taken = false): void {
    if (task.received >= task.edtl) {
      void this.execute(task);
      return;
    }
    const p = this.session!.params;
    if (task.buf!.length < task.edtl) {
      // Solicited data needs the whole buffer. Writes wait while others that
      // hold theirs fill the budget (they are sure to finish: their R2Ts are out).
      if (!taken && !this.account.tryTake(task.edtl)) {
        if (!this.bufferWaiters.includes(task)) this.bufferWaiters.push(task);
        return;
      }
      const full = Buffer.allocUnsafe(task.edtl);
      task.buf!.copy(full, 0, 0, task.received);
      task.buf = full;
      this.account.give(task.accounted);
      task.accounted = task.edtl;
    }
    if (task.nextR2TOffset < task.received) task.nextR2TOffset = task.received;
    this.batch(() => {
      while (task.r2ts.size < p.maxOutstandingR2T && task.nextR2TOffset < task.edtl) {
        const offset = task.nextR2TOffset;
        const length = Math.min(p.maxBurstLength, task.edtl - offset);
        const ttt = this.allocTag();
        const r2tSN = task.r2tSN++;
        task.r2ts.set(ttt, { ttt, r2tSN, offset, length, received: 0, nextDataSN: 0 });
        task.nextR2TOffset += length;
        this.send(P.r2t({ lun: task.lun, itt: task.itt, ttt, r2tSN, bufferOffset: offset, desiredLength: length, seq: this.seq(false) }));
      }
    });
  }

  private async execute(task: Task): Promise<void> {
    const s = this.session!;
    if (task.readLength > 0 && task.readHeld === 0) {
      // The Data-In a read makes is taken from the budget before it runs, and
      // given back once the kernel has it; until it fits, the read waits.
      const n = readReserve(task, this.account.limit);
      if (!this.account.tryTake(n)) {
        this.readWaiters.push(task);
        return;
      }
      task.readHeld = n;
    }
    task.state = 'executing';
    const cmd: ScsiCommand = {
      nexus: s.nexus,
      lun: task.lun,
      cdb: task.cdb,
      expectedDataLength: task.write ? task.edtl : task.readLength,
      taskAttribute: task.attribute,
    };
    if (task.write && task.buf) cmd.dataOut = task.buf.length === task.edtl ? task.buf : task.buf.subarray(0, task.edtl);
    let res: ScsiResult;
    try {
      res = await this.host.scsi.execute(cmd);
    } catch (e) {
      this.host.log(`iscsi: SCSI layer threw for opcode 0x${task.cdb[0]!.toString(16)}: ${(e as Error).message}`);
      res = checkCondition(INTERNAL_TARGET_FAILURE).response();
    }
    this.complete(task, res);
  }

  /** The task is over: account for it and send its result unless it was aborted. */
  private complete(task: Task, res: ScsiResult): void {
    const s = this.session!;
    if (task.state === 'done') return;
    if (s.tasks.get(task.itt) === task) s.tasks.delete(task.itt);
    s.active--;
    task.finish();
    this.release(task);
    if (task.aborted || this.state === 'closed' || s.state !== 'active') {
      this.releaseRead(task);
      return;
    }
    this.respond(task, res);
  }

  private releaseRead(task: Task): void {
    const n = task.readHeld;
    task.readHeld = 0;
    this.account.give(n);
  }

  private respond(task: Task, res: ScsiResult): void {
    let flags = 0;
    let residual = 0;
    let bidiResidual = 0;
    let data: Buffer | undefined;
    const dataIn = res.dataIn;
    const dl = dataIn?.length ?? 0;
    const readLength = task.readLength;
    if (task.read) {
      let f = 0;
      let r = 0;
      if (dl > readLength) {
        f = P.RSP_OVERFLOW;
        r = dl - readLength;
        data = dataIn!.subarray(0, readLength);
      } else {
        data = dataIn;
        if (dl < readLength) {
          f = P.RSP_UNDERFLOW;
          r = readLength - dl;
        }
      }
      if (task.write) {
        // Bidirectional: the read residual has its own flags (o/u) and count.
        flags |= f === P.RSP_OVERFLOW ? P.RSP_BIDI_OVERFLOW : f === P.RSP_UNDERFLOW ? P.RSP_BIDI_UNDERFLOW : 0;
        bidiResidual = r;
      } else {
        flags |= f;
        residual = r;
      }
    } else if (!task.write && dl > 0) {
      // Data-In for a command the initiator sent without the R bit: none of it can be delivered.
      flags |= P.RSP_OVERFLOW;
      residual = dl;
    }
    if (task.write) {
      const wanted = res.dataOutLength ?? writeLengthFromCdb(task.cdb, this.session!.blockSize(task.lun));
      if (wanted !== undefined) {
        if (wanted < task.edtl) {
          flags |= P.RSP_UNDERFLOW;
          residual = task.edtl - wanted;
        } else if (wanted > task.edtl) {
          flags |= P.RSP_OVERFLOW;
          residual = wanted - task.edtl;
        }
      }
    }
    this.session!.learnBlockSize(task.lun, task.cdb, res);
    const status = res.status;
    // Status rides on the last Data-In only for a command that ended without an exception (RFC 7143 11.7.4).
    const collapse = data !== undefined && data.length > 0 && !res.sense && (status === 0x00 || status === 0x04);
    // The budget held for the Data-In now covers what is really sent.
    if (data && data.length > task.readHeld) this.account.force(data.length - task.readHeld);
    else if (data && data.length < task.readHeld) this.account.give(task.readHeld - data.length);
    else if (!data) this.account.give(task.readHeld);
    task.readHeld = data?.length ?? 0;
    this.batch(() => {
      if (data && data.length > 0) this.sendDataIn(task, data, collapse ? { status, flags, residual } : undefined, () => this.releaseRead(task));
      else this.releaseRead(task);
      if (!collapse) {
        let body: Buffer | undefined;
        if (res.sense && res.sense.length > 0) {
          body = Buffer.allocUnsafe(2 + res.sense.length);
          body.writeUInt16BE(res.sense.length, 0);
          res.sense.copy(body, 2);
        }
        this.send(
          P.scsiResponse({ itt: task.itt, status, response: 0, flags, residual, bidiResidual, expDataSN: task.dataInSN + task.r2tSN, seq: this.seq(true), dataLength: body?.length ?? 0 }),
          body,
        );
      }
    });
  }

  /** Data-In PDUs no longer than the initiator's MaxRecvDataSegmentLength, in sequences of MaxBurstLength. */
  private sendDataIn(task: Task, data: Buffer, status: { status: number; flags: number; residual: number } | undefined, sent: () => void): void {
    const seg = this.sendSegment;
    const burst = this.session!.params.maxBurstLength;
    const total = data.length;
    let off = 0;
    while (off < total) {
      const burstEnd = Math.min(total, (Math.floor(off / burst) + 1) * burst);
      const n = Math.min(seg, burstEnd - off);
      const last = off + n === total;
      const withStatus = last && status !== undefined;
      const h = P.dataIn({
        final: off + n === burstEnd,
        statusPresent: withStatus,
        status: status?.status ?? 0,
        residualFlags: status?.flags ?? 0,
        residual: status?.residual ?? 0,
        lun: task.lun,
        itt: task.itt,
        dataSN: task.dataInSN++,
        bufferOffset: off,
        seq: this.seq(withStatus),
        dataLength: n,
      });
      this.send(h, data.subarray(off, off + n), off + n === total ? sent : undefined);
      off += n;
    }
  }

  private rememberAborted(itt: number): void {
    this.abortedItts.add(itt);
    if (this.abortedItts.size > ABORTED_MEMORY) this.abortedItts.delete(this.abortedItts.values().next().value!);
  }

  /** Aborts a task of this session: no response will be sent for it. */
  abortTask(task: Task): void {
    if (task.aborted || task.state === 'done') return;
    task.aborted = true;
    this.rememberAborted(task.itt);
    if (task.state === 'collecting') {
      const s = this.session!;
      if (s.tasks.get(task.itt) === task) s.tasks.delete(task.itt);
      s.active--;
      task.finish();
      this.release(task);
    }
    // An executing task finishes when the SCSI layer answers; its answer is dropped.
  }

  // ---- task management ----

  private async onTaskManagement(pdu: Pdu): Promise<void> {
    const s = this.session!;
    const bhs = pdu.bhs;
    const fn = bhs[1]! & 0x7f;
    const itt = P.ittOf(bhs);
    const lun = P.decodeLun(bhs);
    const rtt = bhs.readUInt32BE(20);
    const refCmdSN = bhs.readUInt32BE(32);
    const nexus = s.nexus;
    let response: number;
    const abortWhere = async (pred: (t: Task) => boolean): Promise<void> => {
      const victims = [...s.tasks.values()].filter(pred);
      for (const t of victims) this.abortTask(t);
      await Promise.all(victims.map((t) => t.finished));
    };
    try {
      switch (fn) {
        case P.TMF_ABORT_TASK: {
          const t = s.tasks.get(rtt);
          if (t && t.lun === lun && t.state !== 'done') {
            this.abortTask(t);
            await t.finished;
            response = P.TMF_RSP_COMPLETE;
          } else if (!t && s.skipCmdSN(refCmdSN)) {
            // Not arrived yet: it is consumed without running when it does.
            response = P.TMF_RSP_COMPLETE;
          } else response = P.TMF_RSP_TASK_DOES_NOT_EXIST;
          break;
        }
        case P.TMF_ABORT_TASK_SET:
        case P.TMF_CLEAR_TASK_SET:
          await abortWhere((t) => t.lun === lun);
          response = this.host.scsi.taskManagement(nexus, fn === P.TMF_ABORT_TASK_SET ? 'abort-task-set' : 'clear-task-set', lun);
          break;
        case P.TMF_LOGICAL_UNIT_RESET:
          await abortWhere((t) => t.lun === lun);
          response = this.host.scsi.taskManagement(nexus, 'lun-reset', lun);
          break;
        case P.TMF_TARGET_WARM_RESET:
        case P.TMF_TARGET_COLD_RESET:
          await abortWhere(() => true);
          response = this.host.scsi.taskManagement(nexus, fn === P.TMF_TARGET_WARM_RESET ? 'target-warm-reset' : 'target-cold-reset');
          break;
        case P.TMF_TASK_REASSIGN:
          // Task reassignment needs ErrorRecoveryLevel 2.
          response = P.TMF_RSP_REASSIGNMENT_NOT_SUPPORTED;
          break;
        case P.TMF_CLEAR_ACA:
        default:
          response = P.TMF_RSP_NOT_SUPPORTED;
          break;
      }
    } catch (e) {
      this.host.log(`iscsi: task management function ${fn} failed: ${(e as Error).message}`);
      response = P.TMF_RSP_REJECTED;
    }
    if (this.state === 'closed') return;
    this.send(P.taskMgmtResponse({ itt, response, seq: this.seq(true) }));
    if (fn === P.TMF_TARGET_COLD_RESET && response === P.TMF_RSP_COMPLETE) this.host.coldReset(this);
  }

  // ---- text requests (SendTargets, MaxRecvDataSegmentLength) ----

  private onText(pdu: Pdu): void {
    const s = this.session!;
    const bhs = pdu.bhs;
    const flags = bhs[1]!;
    const cont = (flags & P.TEXT_CONTINUE) !== 0;
    const itt = P.ittOf(bhs);
    const ttt = bhs.readUInt32BE(20);
    const lunField = bhs.subarray(8, 16);
    if (ttt !== P.RESERVED_TAG) {
      // The initiator asks for the rest of a long response.
      const out = this.textOut;
      if (!out || out.ttt !== ttt) return this.reject(P.REJECT_INVALID_PDU_FIELD, bhs);
      this.textOut = undefined;
      this.sendText(itt, lunField, out.rest);
      return;
    }
    this.textOut = undefined;
    if (pdu.dataDigestError) return this.reject(P.REJECT_DATA_DIGEST_ERROR, bhs);
    if (!this.textIn || this.textIn.itt !== itt) this.textIn = { itt, parts: [], length: 0 };
    const tin = this.textIn;
    tin.parts.push(Buffer.from(pdu.data));
    tin.length += pdu.data.length;
    if (tin.length > 64 * 1024) {
      this.textIn = undefined;
      return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    }
    if (cont) {
      // More text follows: an empty answer keeps the exchange going.
      this.send(P.textResponse({ final: false, cont: false, lunField, itt, ttt: this.allocTag(), seq: this.seq(true), dataLength: 0 }));
      return;
    }
    this.textIn = undefined;
    const parsed = parseText(Buffer.concat(tin.parts));
    if (!parsed.ok) {
      this.host.log(`iscsi: ${this.remote}: malformed text request: ${parsed.error}`);
      return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    }
    const answer: TextPair[] = [];
    const rest: TextPair[] = [];
    const seen = new Set<string>();
    for (const pair of parsed.pairs) {
      if (seen.has(pair[0])) return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      seen.add(pair[0]);
      if (pair[0] === 'SendTargets') {
        const r = this.host.sendTargets(pair[1], this);
        if (r === 'reject') answer.push(['SendTargets', 'Reject']);
        else answer.push(...r);
      } else rest.push(pair);
    }
    if (rest.length > 0) {
      const out = negotiate(rest, s.params, { phase: 'ffp', sessionType: s.type, leading: true, offers: this.host.offers });
      if (out.error) {
        this.host.log(`iscsi: ${this.remote}: text request: ${out.error}`);
        return this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      }
      answer.push(...out.responses);
      // MaxRecvDataSegmentLength may be declared anew in full feature phase.
      this.sendSegment = s.params.initiatorMaxRecvDataSegmentLength;
    }
    this.sendText(itt, lunField, encodeText(answer));
  }

  private sendText(itt: number, lunField: Buffer, text: Buffer): void {
    if (text.length <= this.sendSegment) {
      this.send(P.textResponse({ final: true, cont: false, lunField, itt, ttt: P.RESERVED_TAG, seq: this.seq(true), dataLength: text.length }), text);
      return;
    }
    const ttt = this.allocTag();
    this.textOut = { itt, ttt, rest: text.subarray(this.sendSegment) };
    const first = text.subarray(0, this.sendSegment);
    this.send(P.textResponse({ final: false, cont: true, lunField, itt, ttt, seq: this.seq(true), dataLength: first.length }), first);
  }

  // ---- logout ----

  private async onLogout(pdu: Pdu): Promise<void> {
    const s = this.session!;
    const bhs = pdu.bhs;
    const reason = bhs[1]! & 0x7f;
    const itt = P.ittOf(bhs);
    const cid = bhs.readUInt16BE(20);
    let response = P.LOGOUT_RSP_SUCCESS;
    if (reason === P.LOGOUT_REMOVE_FOR_RECOVERY) response = P.LOGOUT_RSP_RECOVERY_NOT_SUPPORTED;
    else if (reason === P.LOGOUT_CLOSE_CONNECTION && cid !== this.cid) response = P.LOGOUT_RSP_CID_NOT_FOUND;
    else if (reason !== P.LOGOUT_CLOSE_SESSION && reason !== P.LOGOUT_CLOSE_CONNECTION) {
      this.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      return;
    }
    if (response === P.LOGOUT_RSP_SUCCESS) {
      // No new commands; the tasks in flight finish (and are answered) first. A
      // task whose Data-Out does not come within LOGOUT_GRACE_MS is dropped.
      this.state = 'logging-out';
      const tasks = [...s.tasks.values()];
      const all = Promise.all(tasks.map((t) => t.finished));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), LOGOUT_GRACE_MS)));
      if ((await Promise.race([all, late])) === 'late') {
        for (const t of tasks) if (t.state === 'collecting') this.abortTask(t);
        await all;
      }
      clearTimeout(timer);
      if ((this.state as ConnectionState) === 'closed') return;
      this.state = 'logged-out';
    }
    this.send(P.logoutResponse({ itt, response, time2Wait: s.params.defaultTime2Wait, time2Retain: 0, seq: this.seq(true) }));
    if (response === P.LOGOUT_RSP_SUCCESS) {
      this.endGracefully();
      // The session is over now, not when the peer gets round to closing its end.
      this.host.connectionClosed(this);
    }
  }
}

/** Bytes of Data-In budget a command is given before it runs (adjusted to the real length after). */
function readReserve(task: Task, limit: number): number {
  return Math.min(task.readLength, limit);
}

interface ParsedAhs {
  extendedCdb?: Buffer;
  bidiReadLength?: number;
}

/**
 * Reads the AHS list (RFC 7143 11.2.2): Extended CDB and Bidirectional Read
 * Expected Data Transfer Length. AHSLength counts the bytes after the type byte
 * (the reserved byte included); each AHS is padded to four bytes.
 */
function parseAhs(ahs: Buffer): ParsedAhs | undefined {
  const out: ParsedAhs = {};
  let off = 0;
  while (off < ahs.length) {
    if (off + 4 > ahs.length) return undefined;
    const len = ahs.readUInt16BE(off);
    const type = ahs[off + 2]!;
    if (len < 1 || off + 3 + len > ahs.length) return undefined;
    const body = ahs.subarray(off + 4, off + 3 + len);
    if (type === P.AHS_EXTENDED_CDB) {
      if (body.length === 0) return undefined;
      out.extendedCdb = Buffer.from(body);
    } else if (type === P.AHS_BIDI_READ_LENGTH) {
      if (body.length !== 4) return undefined;
      out.bidiReadLength = body.readUInt32BE(0);
    }
    off += (3 + len + 3) & ~3;
  }
  return out;
}

/**
 * The transfer length, in bytes, of a WRITE/WRITE AND VERIFY CDB, for the write
 * residual when the SCSI layer does not report dataOutLength. The block size
 * comes from the last READ CAPACITY this session saw for the LUN.
 */
function writeLengthFromCdb(cdb: Buffer, blockSize: number | undefined): number | undefined {
  if (blockSize === undefined) return undefined;
  let blocks: number;
  switch (cdb[0]) {
    case 0x0a: // WRITE(6): 0 means 256 blocks
      blocks = cdb[4]! || 256;
      break;
    case 0x2a: // WRITE(10)
    case 0x2e: // WRITE AND VERIFY(10)
      blocks = cdb.readUInt16BE(7);
      break;
    case 0xaa: // WRITE(12)
    case 0xae: // WRITE AND VERIFY(12)
      blocks = cdb.readUInt32BE(6);
      break;
    case 0x8a: // WRITE(16)
    case 0x8e: // WRITE AND VERIFY(16)
      blocks = cdb.readUInt32BE(10);
      break;
    default:
      return undefined;
  }
  return blocks * blockSize;
}

export type { ItNexus };
