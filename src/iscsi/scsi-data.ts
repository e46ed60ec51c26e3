// SCSI Data-Out, R2T and SCSI Data-In (RFC 7143 11.7, 11.8) on one target
// connection. Write data arrives as immediate data (with the command), as the
// unsolicited burst (up to FirstBurstLength), then in bursts the target asks
// for with R2Ts (MaxBurstLength each, MaxOutstandingR2T at once); each
// Data-Out is checked against its task's sequence (task.ts) and, when it is
// the one expected next, lands straight in the task's buffer. Read data
// leaves as Data-In PDUs no longer than the initiator's
// MaxRecvDataSegmentLength, in sequences of MaxBurstLength.
import { checkCondition } from '../scsi/sense.js';
import { DATA_PHASE_ERROR, PROTOCOL_SERVICE_CRC_ERROR } from '../scsi/spec/index.js';
import type { Connection } from './connection.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import { parseDataOut } from './task.js';
import type { DataOutFields, Task } from './task.js';

/** Data-Out in, R2Ts out: the write data of the connection's tasks. */
export class DataOutReceiver {
  private readonly conn: Connection;
  /** Writes waiting for budget before their R2Ts go out. */
  private readonly bufferWaiters: Task[] = [];

  constructor(conn: Connection) {
    this.conn = conn;
  }

  /** Where a Data-Out's data segment goes: straight into its task's buffer when the PDU is the one expected next. */
  sink(bhs: Buffer): { buf: Buffer; offset: number } | null {
    if (P.opcodeOf(bhs) !== P.OP_SCSI_DATA_OUT) return null;
    const d = parseDataOut(bhs);
    const task = this.conn.session?.tasks.get(d.itt);
    if (!task || !task.buf || task.aborted) return null;
    const e = task.expect(d);
    if ('error' in e) return null;
    return { buf: task.buf, offset: d.bufferOffset };
  }

  onDataOut(pdu: Pdu): void {
    const c = this.conn;
    const s = c.session!;
    const d: DataOutFields = parseDataOut(pdu.bhs);
    const task = s.tasks.get(d.itt);
    if (!task) {
      if (c.commands.endedEarly(d.itt)) return; // in flight when its task was aborted or answered
      c.reject(P.REJECT_INVALID_PDU_FIELD, pdu.bhs);
      return;
    }
    if (task.aborted || task.state !== 'collecting') return;
    if (pdu.dataDigestError) {
      // ErrorRecoveryLevel 0 cannot ask for the data again: the command ends here (RFC 7143 7.8).
      c.reject(P.REJECT_DATA_DIGEST_ERROR, pdu.bhs);
      c.commands.end(task, checkCondition(PROTOCOL_SERVICE_CRC_ERROR).response());
      return;
    }
    const e = task.expect(d);
    if ('error' in e) {
      this.failed(task, `Data-Out for ITT 0x${d.itt.toString(16)}: ${e.error}`);
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
      this.failed(task, `Data-Out sequence for R2T ${r.r2tSN} of ITT 0x${d.itt.toString(16)} ended after ${r.received} of ${r.length} bytes`);
    }
  }

  /**
   * A Data-Out sequence error. ErrorRecoveryLevel 0 cannot recover within the
   * command, so the command ends with ABORTED COMMAND, DATA PHASE ERROR; the
   * connection, whose PDU stream is intact, stays up (RFC 7143 7.12.1: a task
   * is ended by its response, not by a Reject). Its late Data-Out is dropped.
   */
  private failed(task: Task, why: string): void {
    const c = this.conn;
    c.host.log(`iscsi: ${c.remote}: ${why}; the command ends with DATA PHASE ERROR`);
    c.commands.end(task, checkCondition(DATA_PHASE_ERROR).response());
  }

  /**
   * Executes the task when its data is complete, else asks for more with R2Ts
   * (up to MaxOutstandingR2T). `taken`: the whole buffer's bytes are already
   * taken from the budget.
   */
  solicit(task: Task, taken = false): void {
    const c = this.conn;
    if (task.received >= task.edtl) {
      void c.commands.execute(task);
      return;
    }
    const p = c.session!.params;
    if (task.buf!.length < task.edtl) {
      // Solicited data needs the whole buffer. Writes wait while others that
      // hold theirs fill the budget (they are sure to finish: their R2Ts are out).
      if (!taken && !c.account.tryTake(task.edtl)) {
        if (!this.bufferWaiters.includes(task)) this.bufferWaiters.push(task);
        return;
      }
      const full = Buffer.allocUnsafe(task.edtl);
      task.buf!.copy(full, 0, 0, task.received);
      task.buf = full;
      c.account.give(task.accounted);
      task.accounted = task.edtl;
    }
    if (task.nextR2TOffset < task.received) task.nextR2TOffset = task.received;
    c.batch(() => {
      while (task.r2ts.size < p.maxOutstandingR2T && task.nextR2TOffset < task.edtl) {
        const offset = task.nextR2TOffset;
        const length = Math.min(p.maxBurstLength, task.edtl - offset);
        const ttt = c.allocTag();
        const r2tSN = task.r2tSN++;
        task.r2ts.set(ttt, { ttt, r2tSN, offset, length, received: 0, nextDataSN: 0 });
        task.nextR2TOffset += length;
        c.send(P.r2t({ lun: task.lun, itt: task.itt, ttt, r2tSN, bufferOffset: offset, desiredLength: length, seq: c.seq(false) }));
      }
    });
  }

  /** Writes waiting for budget solicit their data when it has come back (the connection calls this in a later turn). */
  retryWaiters(): void {
    const account = this.conn.account;
    while (this.bufferWaiters.length > 0) {
      const t = this.bufferWaiters[0]!;
      if (t.state !== 'collecting' || t.aborted) {
        this.bufferWaiters.shift();
        continue;
      }
      if (!account.tryTake(t.edtl)) break;
      this.bufferWaiters.shift();
      this.solicit(t, true);
    }
  }
}

/** Status that rides on the last Data-In (RFC 7143 11.7.4). */
export interface DataInStatus {
  status: number;
  flags: number;
  residual: number;
}

/**
 * Sends a task's read data as Data-In PDUs no longer than the initiator's
 * MaxRecvDataSegmentLength, in sequences of MaxBurstLength (F bit at each
 * sequence's end). `sent` runs once the kernel has the last byte.
 */
export function sendDataIn(c: Connection, task: Task, data: Buffer, status: DataInStatus | undefined, sent: () => void): void {
  const seg = c.sendSegment;
  const burst = c.session!.params.maxBurstLength;
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
      seq: c.seq(withStatus),
      dataLength: n,
    });
    c.send(h, data.subarray(off, off + n), off + n === total ? sent : undefined);
    off += n;
  }
}
