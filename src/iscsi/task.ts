// One SCSI task as the transport carries it: the command, the Data-Out it is
// still owed (immediate data, the unsolicited burst, then R2T-solicited bursts)
// and its lifecycle:
//
//   collecting ──(all Data-Out in)──► executing ──(SCSI layer answered)──► done
//        └────────────── aborted (no response is sent) ◄─────────┘
//
// Data-Out checks follow RFC 7143 10.7 with DataPDUInOrder=Yes and
// DataSequenceInOrder=Yes: in every sequence DataSN counts from 0 and the
// buffer offset continues where the previous PDU ended.

export type TaskState = 'collecting' | 'executing' | 'done';

/** One outstanding R2T: the burst the target asked for. */
export interface R2TSequence {
  ttt: number;
  r2tSN: number;
  offset: number;
  length: number;
  received: number;
  nextDataSN: number;
}

export interface DataOutFields {
  final: boolean;
  lunField: Buffer;
  itt: number;
  ttt: number;
  dataSN: number;
  bufferOffset: number;
  length: number;
}

export function parseDataOut(bhs: Buffer): DataOutFields {
  return {
    final: (bhs[1]! & 0x80) !== 0,
    lunField: bhs.subarray(8, 16),
    itt: bhs.readUInt32BE(16),
    ttt: bhs.readUInt32BE(20),
    dataSN: bhs.readUInt32BE(36),
    bufferOffset: bhs.readUInt32BE(40),
    length: (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!,
  };
}

export class Task {
  readonly itt: number;
  readonly lun: number;
  readonly cdb: Buffer;
  /** Expected Data Transfer Length (for bidirectional commands: the write part). */
  readonly edtl: number;
  /** Expected length of Data-In: EDTL for reads, the Bidirectional Read EDTL AHS for bidirectional commands, else 0. */
  readonly readLength: number;
  readonly cmdSN: number;
  readonly immediate: boolean;
  readonly read: boolean;
  readonly write: boolean;
  readonly attribute: number;
  state: TaskState = 'collecting';
  aborted = false;

  /** Data-Out as it arrives (allocated for the whole EDTL when it does not all come in the command). */
  buf: Buffer | undefined;
  /** Bytes of the connection's I/O budget this task's write buffer holds. */
  accounted = 0;
  /** Bytes of the I/O budget held for this task's Data-In until it is sent. */
  readHeld = 0;
  /** Bytes of Data-Out received so far, all contiguous from offset 0. */
  received = 0;
  /** The unsolicited Data-Out sequence is still open (F bit not yet seen). */
  unsolicitedOpen = false;
  /** Where the unsolicited sequence must end (FirstBurstLength or EDTL). */
  unsolicitedEnd = 0;
  unsolicitedDataSN = 0;
  /** Outstanding R2Ts by Target Transfer Tag. */
  readonly r2ts = new Map<number, R2TSequence>();
  /** Next offset to solicit with an R2T. */
  nextR2TOffset = 0;
  r2tSN = 0;
  /** Data-In PDUs sent (DataSN of the next one). */
  dataInSN = 0;

  private settle!: () => void;
  /** Resolves when the task has finished: responded, or aborted and its execution over. */
  readonly finished: Promise<void>;

  constructor(f: {
    itt: number;
    lun: number;
    cdb: Buffer;
    edtl: number;
    readLength: number;
    cmdSN: number;
    immediate: boolean;
    read: boolean;
    write: boolean;
    attribute: number;
  }) {
    this.itt = f.itt;
    this.lun = f.lun;
    this.cdb = f.cdb;
    this.edtl = f.edtl;
    this.readLength = f.readLength;
    this.cmdSN = f.cmdSN;
    this.immediate = f.immediate;
    this.read = f.read;
    this.write = f.write;
    this.attribute = f.attribute;
    this.finished = new Promise<void>((r) => (this.settle = r));
  }

  /** The Data-Out still to come. */
  get outstanding(): number {
    return this.write ? this.edtl - this.received : 0;
  }

  finish(): void {
    this.state = 'done';
    this.settle();
  }

  /**
   * Checks a Data-Out PDU against what the task expects next. Returns the
   * sequence it belongs to ('unsolicited' or an R2T), or why it is wrong.
   */
  expect(d: DataOutFields): { seq: 'unsolicited' | R2TSequence } | { error: string } {
    if (this.state !== 'collecting') return { error: 'the task is not waiting for data' };
    if (d.ttt === 0xffffffff) {
      if (!this.unsolicitedOpen) return { error: 'unsolicited Data-Out outside the unsolicited burst' };
      if (d.dataSN !== this.unsolicitedDataSN) return { error: `DataSN ${d.dataSN}, expected ${this.unsolicitedDataSN}` };
      if (d.bufferOffset !== this.received) return { error: `buffer offset ${d.bufferOffset}, expected ${this.received}` };
      if (d.bufferOffset + d.length > this.unsolicitedEnd) return { error: `unsolicited data beyond FirstBurstLength/EDTL (${this.unsolicitedEnd})` };
      return { seq: 'unsolicited' };
    }
    const r = this.r2ts.get(d.ttt);
    if (!r) return { error: `no R2T with Target Transfer Tag 0x${d.ttt.toString(16)}` };
    if (d.dataSN !== r.nextDataSN) return { error: `DataSN ${d.dataSN}, expected ${r.nextDataSN}` };
    // In-order PDUs and in-order sequences: every PDU continues where the last one ended.
    if (d.bufferOffset !== r.offset + r.received || d.bufferOffset !== this.received)
      return { error: `buffer offset ${d.bufferOffset}, expected ${r.offset + r.received}` };
    if (d.bufferOffset + d.length > r.offset + r.length) return { error: 'Data-Out beyond the R2T desired data transfer length' };
    if (this.unsolicitedOpen) return { error: 'solicited data while the unsolicited burst is open' };
    return { seq: r };
  }
}
