// Cuts PDUs out of a TCP receive stream. Socket chunks are queued as they
// arrive, never concatenated (src/io/chunk-queue.ts): a data segment that lies
// inside one chunk is handed on as a view of it, and a data segment whose
// destination is known from its header (Data-Out into a command's buffer) is
// copied straight from the chunks into that buffer. Digests are checked here.
import { ChunkQueue } from '../io/chunk-queue.js';
import { crc32c, dataDigest } from './crc32c.js';
import { BHS_LENGTH, dataSegmentLength, padOf, totalAhsLength } from './pdu.js';
import type { Pdu } from './pdu.js';

export type ReaderError = { kind: 'header-digest'; bhs: Buffer } | { kind: 'too-long'; bhs: Buffer; length: number; limit: number };

/** Where the data segment of a PDU should land, decided from its BHS. */
export type DataSink = (bhs: Buffer) => { buf: Buffer; offset: number } | null;

export class PduReader {
  private readonly q = new ChunkQueue();
  private bhs: Buffer | null = null;
  private ahsLen = 0;
  private dsl = 0;
  headerDigest = false;
  dataDigest = false;
  /** Longest data segment accepted (our MaxRecvDataSegmentLength, or 8192 during login). */
  maxDataSegment = 8192;
  /** Asked once per PDU header whether its data goes straight into a buffer. */
  sink: DataSink | null = null;

  push(chunk: Buffer): void {
    this.q.push(chunk);
  }

  get buffered(): number {
    return this.q.length;
  }

  /** The next complete PDU, an error (after which the stream cannot be trusted), or null when more bytes are needed. */
  next(): Pdu | ReaderError | null {
    if (!this.bhs) {
      const hlen = BHS_LENGTH + (this.headerDigest ? 4 : 0);
      if (this.q.length < BHS_LENGTH) return null;
      // The AHS length is in the BHS; peek it to know the whole header's size.
      const bhs = Buffer.allocUnsafe(BHS_LENGTH);
      this.q.peekInto(bhs, BHS_LENGTH);
      const ahsLen = totalAhsLength(bhs);
      if (this.q.length < hlen + ahsLen) return null;
      this.q.skip(BHS_LENGTH);
      const dsl = dataSegmentLength(bhs);
      this.ahsLen = ahsLen;
      this.dsl = dsl;
      this.bhs = bhs;
      if (this.headerDigest) {
        // The header digest covers BHS and AHS; it follows the AHS.
        const ahs = ahsLen ? this.q.take(ahsLen)! : Buffer.alloc(0);
        const want = crc32c(ahs, crc32c(bhs));
        const got = this.q.take(4)!.readUInt32LE(0);
        this.pendingAhs = Buffer.from(ahs);
        if (want !== got) {
          this.bhs = null;
          return { kind: 'header-digest', bhs };
        }
      } else {
        this.pendingAhs = ahsLen ? Buffer.from(this.q.take(ahsLen)!) : EMPTY;
      }
      if (dsl > this.maxDataSegment) {
        this.bhs = null;
        return { kind: 'too-long', bhs, length: dsl, limit: this.maxDataSegment };
      }
    }
    const bhs = this.bhs;
    const dsl = this.dsl;
    const pad = padOf(dsl);
    const ddl = dsl > 0 && this.dataDigest ? 4 : 0;
    if (this.q.length < dsl + pad + ddl) return null;
    this.bhs = null;
    let data: Buffer;
    if (dsl === 0) data = EMPTY;
    else {
      const dest = this.sink?.(bhs) ?? null;
      if (dest && dest.offset + dsl <= dest.buf.length) {
        this.q.copyOut(dest.buf, dest.offset, dsl);
        data = dest.buf.subarray(dest.offset, dest.offset + dsl);
      } else data = this.q.take(dsl)!;
    }
    let padBytes: Buffer | null = null;
    if (pad) padBytes = this.q.take(pad)!;
    let dataDigestError = false;
    if (ddl) {
      const got = this.q.take(4)!.readUInt32LE(0);
      // Pad bytes are covered by the digest as sent, whatever their value.
      let want = crc32c(data);
      if (padBytes) want = crc32c(padBytes, want);
      if (want !== got) dataDigestError = true;
    }
    const pdu: Pdu = { bhs, ahs: this.pendingAhs, data };
    if (dataDigestError) pdu.dataDigestError = true;
    this.pendingAhs = EMPTY;
    return pdu;
  }

  private pendingAhs: Buffer = EMPTY;

  clear(): void {
    this.q.clear();
    this.bhs = null;
  }
}

const EMPTY = Buffer.alloc(0);

export function isReaderError(x: Pdu | ReaderError): x is ReaderError {
  return 'kind' in x;
}

/** Writes a digest the way the wire carries it (least significant byte first). */
export function digestBytes(crc: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(crc >>> 0, 0);
  return b;
}

export { dataDigest };
