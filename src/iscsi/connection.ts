// One iSCSI connection on the target: it receives PDUs, sends PDUs and
// dispatches each to the handler of its phase or PDU family (RFC 7143 11):
//
//   login-phase.ts       Login Request/Response (6.3, 11.12, 11.13), over the state machine in login.ts
//   scsi-command.ts      SCSI Command and SCSI Response (11.3, 11.4): tasks from arrival to answer
//   scsi-data.ts         SCSI Data-Out, R2T and Data-In (11.7, 11.8)
//   task-management.ts   Task Management Function Request/Response (11.5, 11.6)
//   text-request.ts      Text Request/Response (11.10, 11.11): SendTargets, keys in full feature phase
//   logout.ts            Logout Request/Response (11.14, 11.15)
//   here                 NOP-Out/NOP-In (11.18, 11.19), Reject (11.17), the CmdSN window's delivery
//
// The connection's states:
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
import type { ItNexus } from '../scsi/types.js';
import type { ChapConfig } from './chap.js';
import { crc32c, dataDigest } from './crc32c.js';
import { LoginPhase } from './login-phase.js';
import type { LoginRequestFields } from './login.js';
import { onLogout } from './logout.js';
import * as P from './pdu.js';
import type { Pdu, SeqNumbers } from './pdu.js';
import { PduReader, isReaderError } from './pdu-reader.js';
import type { NegotiatedParams, TargetOffers } from './params.js';
import { ScsiCommands } from './scsi-command.js';
import { DataOutReceiver } from './scsi-data.js';
import type { Session } from './session.js';
import type { Task } from './task.js';
import { onTaskManagement } from './task-management.js';
import { TextExchange } from './text-request.js';
import type { TextPair } from './text.js';
import type { PortalConfig, ScsiExecutor } from './types.js';

/**
 * Reply bytes beyond the Data-In the I/O budget counts (responses, R2Ts,
 * rejects) queued unread on the socket before the connection stops reading.
 */
const REPLY_BACKLOG = 1024 * 1024;
/** Bytes of I/O buffers (write data, Data-In not yet sent) one connection holds by default. */
export const DEFAULT_ISCSI_CONNECTION_IO = 64 * 1024 * 1024;

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

export class Connection {
  readonly sock: net.Socket;
  readonly portal: PortalConfig;
  readonly remote: string;
  readonly host: ConnectionHost;
  state: ConnectionState = 'login';
  session: Session | undefined;
  cid = 0;
  /** StatSN of the next response (RFC 7143 4.2.2.2); the login sets where it starts. */
  statSN = 0;
  /** Longest data segment this side may send (the initiator's MaxRecvDataSegmentLength). */
  sendSegment = 8192;
  /** This connection's share of the I/O budget. */
  readonly account: IoAccount;
  readonly commands: ScsiCommands;
  readonly dataOut: DataOutReceiver;
  private readonly reader = new PduReader();
  private readonly login: LoginPhase;
  private readonly text: TextExchange;
  private headerDigest = false;
  private dataDigest = false;
  private nextTag = 1;
  private loginTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastHeard = Date.now();
  private pingTtt: number | undefined;
  private pingSent = 0;
  private readPaused = false;
  /** The socket is corked until the end of this event-loop turn. */
  private turnCorked = false;
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
    this.login = new LoginPhase(this);
    this.commands = new ScsiCommands(this);
    this.dataOut = new DataOutReceiver(this);
    this.text = new TextExchange(this);
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
  endGracefully(): void {
    if (this.state === 'closed') return;
    this.sock.end();
    const t = setTimeout(() => this.destroy(), 5000);
    t.unref();
  }

  /** Aborts a task of this session: no response will be sent for it. */
  abortTask(task: Task): void {
    this.commands.abort(task);
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
        if (this.state === 'login') this.login.onPdu(r);
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

  /** Budget came back: waiting writes and reads are retried in a later turn (never inside a caller's loop). */
  private scheduleWake(): void {
    if (this.wakeScheduled || this.state === 'closed') return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.state === 'closed') return;
      try {
        this.dataOut.retryWaiters();
        this.commands.retryWaiters();
      } catch (e) {
        this.host.log(`iscsi: ${this.remote}: internal error, closing connection: ${(e as Error).stack ?? String(e)}`);
        this.destroy();
      }
    });
  }

  // ---- sending ----

  /** Sequence numbers for a response; `advanceStatSN` for one that carries status. */
  seq(advanceStatSN: boolean): SeqNumbers {
    const s = this.session;
    const out: SeqNumbers = {
      statSN: this.statSN,
      expCmdSN: s ? s.expCmdSN : 0,
      maxCmdSN: s ? s.maxCmdSN : 0,
    };
    if (advanceStatSN) this.statSN = P.snAdd(this.statSN, 1);
    return out;
  }

  /** Writes one PDU: BHS (+ header digest), data, pad (+ data digest). `sent` runs once the kernel has the data. */
  send(bhs: Buffer, data?: Buffer, sent?: () => void): void {
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
  batch(fn: () => void): void {
    this.sock.cork();
    try {
      fn();
    } finally {
      this.sock.uncork();
    }
  }

  /** A Reject (RFC 7143 11.17) carrying the offending header. */
  reject(reason: number, bhs: Buffer): void {
    this.send(P.reject({ reason, seq: this.seq(true) }), bhs.subarray(0, P.BHS_LENGTH));
  }

  /** A Target Transfer Tag (R2T, NOP-In, continued Text) not in use. */
  allocTag(): number {
    const t = this.nextTag;
    this.nextTag = this.nextTag >= 0xfffffffe ? 1 : this.nextTag + 1;
    return t;
  }

  // ---- full feature phase ----

  /** The login is over: the negotiated digests and segment lengths apply from the next PDU on. */
  enterFullFeature(p: NegotiatedParams): void {
    this.state = 'full-feature';
    clearTimeout(this.loginTimer);
    this.headerDigest = p.headerDigest;
    this.dataDigest = p.dataDigest;
    this.reader.headerDigest = p.headerDigest;
    this.reader.dataDigest = p.dataDigest;
    this.reader.maxDataSegment = p.targetMaxRecvDataSegmentLength;
    this.sendSegment = p.initiatorMaxRecvDataSegmentLength;
    this.reader.sink = (bhs) => this.dataOut.sink(bhs);
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
        this.dataOut.onDataOut(pdu);
        return;
      case P.OP_NOP_OUT:
        this.onNopOut(pdu, cmdSN, immediate);
        return;
      case P.OP_SCSI_COMMAND:
        if (this.state !== 'full-feature') return;
        if (!s.deliver(cmdSN, immediate, () => this.commands.onCommand(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_TASK_MGMT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => void onTaskManagement(this, pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_TEXT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => this.text.onText(pdu))) this.dropped(bhs, cmdSN);
        return;
      case P.OP_LOGOUT_REQUEST:
        if (!s.deliver(cmdSN, immediate, () => void onLogout(this, pdu))) this.dropped(bhs, cmdSN);
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
}

export type { ItNexus };
