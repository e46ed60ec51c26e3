// SCSI Command and SCSI Response (RFC 7143 11.3, 11.4) on one target
// connection: a command becomes a Task (task.ts) that collects its write data
// (scsi-data.ts: immediate data, the unsolicited burst, R2T-solicited bursts),
// runs in the SCSI layer, and is answered with Data-In and a SCSI Response
// (status collapsed into the last Data-In when the command ended without an
// exception), residuals included. Write buffers and the Data-In a read will
// make are taken from the connection's share of the I/O budget first; a
// command whose bytes do not fit waits, or is refused with TASK SET FULL when
// its data is arriving unasked.
import { checkCondition } from '../scsi/sense.js';
import { INTERNAL_TARGET_FAILURE, INVALID_FIELD_IN_CDB, TASK_SET_FULL } from '../scsi/spec/index.js';
import type { ScsiCommand, ScsiResponse } from '../scsi/types.js';
import type { Connection } from './connection.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import { sendDataIn } from './scsi-data.js';
import { Task } from './task.js';
import type { IoCounters } from '../io/io-counters.js';

/** Largest write the transport buffers for one command (the SCSI layer allows 8 MiB per command). */
export const MAX_WRITE_BUFFER = 32 * 1024 * 1024;
/** Remembered ITTs of aborted tasks whose late Data-Out is dropped silently. */
const ABORTED_MEMORY = 1024;

/** The write residual needs the length the CDB asked for; the SCSI layer may report it. */
export type ScsiResult = ScsiResponse & { dataOutLength?: number };

export class ScsiCommands {
  private readonly conn: Connection;
  /** ITTs of tasks ended early (aborted, refused, failed): their late Data-Out is dropped. */
  private readonly abortedItts = new Set<number>();
  /** Reads (and bidirectional commands) waiting for budget before they run. */
  private readonly readWaiters: Task[] = [];

  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** A SCSI Command PDU, delivered in CmdSN order. */
  onCommand(pdu: Pdu): void {
    const c = this.conn;
    const s = c.session!;
    const bhs = pdu.bhs;
    const flags = bhs[1]!;
    const final = (flags & P.FLAG_FINAL) !== 0;
    const read = (flags & P.CMD_READ) !== 0;
    const write = (flags & P.CMD_WRITE) !== 0;
    const itt = P.ittOf(bhs);
    const edtl = bhs.readUInt32BE(20);
    const data = pdu.data;
    const p = s.params;
    if (itt === P.RESERVED_TAG) return c.reject(P.REJECT_INVALID_PDU_FIELD, bhs);
    if (s.tasks.has(itt)) return c.reject(P.REJECT_TASK_IN_PROGRESS, bhs);
    if (pdu.dataDigestError) return c.reject(P.REJECT_DATA_DIGEST_ERROR, bhs);
    if (data.length > 0 && (!write || !p.immediateData || data.length > edtl || data.length > p.firstBurstLength))
      return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    if (write && !final && p.initialR2T) return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    const ahs = parseAhs(pdu.ahs);
    if (!ahs) return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    const cdb = ahs.extendedCdb ? Buffer.concat([bhs.subarray(32, 48), ahs.extendedCdb]) : Buffer.from(bhs.subarray(32, 48));
    const readLength = read ? (write ? (ahs.bidiReadLength ?? 0) : edtl) : 0;
    const task = new Task({
      itt,
      lun: P.decodeLun(bhs),
      cdb,
      edtl: write ? edtl : 0,
      readLength,
      cmdSN: bhs.readUInt32BE(24),
      immediate: P.isImmediate(bhs),
      read,
      write,
      attribute: flags & P.CMD_ATTR_MASK,
    });
    s.tasks.set(itt, task);
    s.active++;
    if (!write || edtl === 0) {
      void this.execute(task);
      return;
    }
    if (edtl > MAX_WRITE_BUFFER) {
      // More than any command may write: answer at once; late Data-Out for it is dropped.
      this.end(task, checkCondition(INVALID_FIELD_IN_CDB).response());
      return;
    }
    // Write data that came with the command or is on its way unsolicited is in
    // memory whether we like it or not: it is counted, and beyond the budget's
    // slack the command is refused with TASK SET FULL (initiators retry later)
    // and its data dropped, so many sessions of big WRITEs stay bounded too.
    const account = c.account;
    if (data.length === edtl) {
      if (!account.tryTake(edtl) && !account.forceWithin(edtl)) return this.taskSetFull(task);
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
    if (account.tryTake(edtl)) {
      task.buf = Buffer.allocUnsafe(edtl);
      task.accounted = edtl;
    } else {
      const n = open ? unsolicitedEnd : data.length;
      if (!account.forceWithin(n)) return this.taskSetFull(task);
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
    c.dataOut.solicit(task);
  }

  /** Refuses a write the budget cannot hold; Data-Out that follows it is dropped. */
  private taskSetFull(task: Task): void {
    this.end(task, { status: TASK_SET_FULL });
  }

  /** Ends a task before (or instead of) running it: `res` is its answer, and its late Data-Out is dropped. */
  end(task: Task, res: ScsiResult): void {
    this.rememberAborted(task.itt);
    this.complete(task, res);
  }

  /** The task ended early (aborted, refused, failed): Data-Out still on its way for it is dropped silently. */
  endedEarly(itt: number): boolean {
    return this.abortedItts.has(itt);
  }

  /** Gives back a task's write buffer to the budget (waiting tasks are woken by the account). */
  private release(task: Task): void {
    if (task.accounted === 0) return;
    const n = task.accounted;
    task.accounted = 0;
    this.conn.account.give(n);
  }

  /** Reads waiting for budget run when it has come back (the connection calls this in a later turn). */
  retryWaiters(): void {
    const account = this.conn.account;
    while (this.readWaiters.length > 0) {
      const t = this.readWaiters[0]!;
      if (t.state !== 'collecting' || t.aborted) {
        this.readWaiters.shift();
        continue;
      }
      const n = readReserve(t, account.limit);
      if (!account.tryTake(n)) break;
      this.readWaiters.shift();
      t.readHeld = n;
      void this.execute(t);
    }
  }

  /** Runs the task in the SCSI layer (its write data is complete) and answers it. */
  async execute(task: Task): Promise<void> {
    const c = this.conn;
    const s = c.session!;
    if (task.readLength > 0 && task.readHeld === 0) {
      // The Data-In a read makes is taken from the budget before it runs, and
      // given back once the kernel has it; until it fits, the read waits.
      const n = readReserve(task, c.account.limit);
      if (!c.account.tryTake(n)) {
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
    const counters = c.portal.counters;
    const t0 = counters ? counters.start() : 0;
    try {
      res = await c.host.scsi.execute(cmd);
    } catch (e) {
      c.host.log(`iscsi: SCSI layer threw for opcode 0x${task.cdb[0]!.toString(16)}: ${(e as Error).message}`);
      res = checkCondition(INTERNAL_TARGET_FAILURE).response();
    }
    if (counters) countCommand(counters, t0, task, res);
    this.complete(task, res);
  }

  /** The task is over: account for it and send its result unless it was aborted. */
  private complete(task: Task, res: ScsiResult): void {
    const c = this.conn;
    const s = c.session!;
    if (task.state === 'done') return;
    if (s.tasks.get(task.itt) === task) s.tasks.delete(task.itt);
    s.active--;
    task.finish();
    this.release(task);
    if (task.aborted || c.state === 'closed' || s.state !== 'active') {
      this.releaseRead(task);
      return;
    }
    this.respond(task, res);
  }

  private releaseRead(task: Task): void {
    const n = task.readHeld;
    task.readHeld = 0;
    this.conn.account.give(n);
  }

  /** Data-In and SCSI Response for a finished task, with residuals (RFC 7143 11.4.5). */
  private respond(task: Task, res: ScsiResult): void {
    const c = this.conn;
    const account = c.account;
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
      const wanted = res.dataOutLength ?? writeLengthFromCdb(task.cdb, c.session!.blockSize(task.lun));
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
    c.session!.learnBlockSize(task.lun, task.cdb, res);
    const status = res.status;
    // Status rides on the last Data-In only for a command that ended without an exception (RFC 7143 11.7.4).
    const collapse = data !== undefined && data.length > 0 && !res.sense && (status === 0x00 || status === 0x04);
    // The budget held for the Data-In now covers what is really sent.
    if (data && data.length > task.readHeld) account.force(data.length - task.readHeld);
    else if (data && data.length < task.readHeld) account.give(task.readHeld - data.length);
    else if (!data) account.give(task.readHeld);
    task.readHeld = data?.length ?? 0;
    c.batch(() => {
      if (data && data.length > 0) sendDataIn(c, task, data, collapse ? { status, flags, residual } : undefined, () => this.releaseRead(task));
      else this.releaseRead(task);
      if (!collapse) {
        let body: Buffer | undefined;
        if (res.sense && res.sense.length > 0) {
          body = Buffer.allocUnsafe(2 + res.sense.length);
          body.writeUInt16BE(res.sense.length, 0);
          res.sense.copy(body, 2);
        }
        c.send(
          P.scsiResponse({
            itt: task.itt,
            status,
            response: 0,
            flags,
            residual,
            bidiResidual,
            expDataSN: task.dataInSN + task.r2tSN,
            seq: c.seq(true),
            dataLength: body?.length ?? 0,
          }),
          body,
        );
      }
    });
  }

  private rememberAborted(itt: number): void {
    this.abortedItts.add(itt);
    if (this.abortedItts.size > ABORTED_MEMORY) this.abortedItts.delete(this.abortedItts.values().next().value!);
  }

  /** Aborts a task of this session: no response will be sent for it. */
  abort(task: Task): void {
    if (task.aborted || task.state === 'done') return;
    task.aborted = true;
    this.rememberAborted(task.itt);
    if (task.state === 'collecting') {
      const s = this.conn.session!;
      if (s.tasks.get(task.itt) === task) s.tasks.delete(task.itt);
      s.active--;
      task.finish();
      this.release(task);
    }
    // An executing task finishes when the SCSI layer answers; its answer is dropped.
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

/** What a CDB's opcode moves, for the port's counters: 1 reads blocks, 2 writes them, 0 neither. */
const IO_KIND = new Uint8Array(256);
for (const op of [0x08, 0x28, 0xa8, 0x88]) IO_KIND[op] = 1; // READ (6), (10), (12), (16)
for (const op of [0x0a, 0x2a, 0xaa, 0x8a, 0x2e, 0xae, 0x8e, 0x9c]) IO_KIND[op] = 2; // WRITE (6/10/12/16), WRITE AND VERIFY (10/12/16), WRITE ATOMIC (16)

/** Counts a finished command on its port: READs by the data they returned, WRITEs by the data they carried. */
function countCommand(c: IoCounters, t0: number, task: Task, res: ScsiResult): void {
  if (res.status !== 0) return c.failed();
  const kind = IO_KIND[task.cdb[0]!]!;
  if (kind === 1) c.readDone(t0, Math.min(res.dataIn?.length ?? 0, task.readLength));
  else if (kind === 2) c.writeDone(t0, task.edtl);
  else c.otherDone();
}
