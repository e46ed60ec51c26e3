// EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (SPC-4 6.4, 6.21): the copy
// manager that VMware's "full copy" (VAAI XCOPY) and other hosts use to have the
// array copy blocks from one LU to another without the data crossing the wire.
// Supported: identification descriptor target descriptors (E4h) naming LUs by
// the NAA designator of VPD page 83h, and block-to-block segment descriptors
// (02h). Copies run synchronously: RECEIVE COPY RESULTS reports finished copies.
import { u32 } from './cdb.js';
import type { CommandContext, PrClass } from './command.js';
import type { LogicalUnit } from './logical-unit.js';
import { isZero } from './sbc-provisioning.js';
import { ScsiError, checkCondition, good, invalidCdbField, invalidParameterField, parameterListLengthError } from './sense.js';
import { ASSOC_LU, DESIGNATOR_NAA } from './spec/inquiry.js';
import { EXTENDED_COPY, RCR_COPY_STATUS, RCR_FAILED_SEGMENT_DETAILS, RCR_OPERATING_PARAMETERS, RECEIVE_COPY_RESULTS, XCOPY_LID1 } from './spec/opcodes.js';
import {
  COPY_ABORTED_INVALID_FIELD_IN_PARAMETER_LIST,
  COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION,
  COPY_ABORTED_SOFTWARE_WRITE_PROTECTED,
  COPY_TARGET_DEVICE_NOT_REACHABLE,
  TOO_MANY_SEGMENT_DESCRIPTORS,
  TOO_MANY_TARGET_DESCRIPTORS,
  UNREACHABLE_COPY_TARGET,
  UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE,
  UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
} from './spec/sense.js';
import type { SenseCode } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

/** The RECEIVE COPY RESULTS service actions implemented (LID1). */
export const RCR_SERVICE_ACTIONS = [RCR_COPY_STATUS, RCR_OPERATING_PARAMETERS, RCR_FAILED_SEGMENT_DETAILS] as const;

export const TARGET_DESCRIPTOR_IDENTIFICATION = 0xe4;
export const SEGMENT_DESCRIPTOR_BLOCK_TO_BLOCK = 0x02;

/** What RECEIVE COPY RESULTS OPERATING PARAMETERS promises and EXTENDED COPY enforces. */
export const MAX_TARGET_DESCRIPTORS = 8;
export const MAX_SEGMENT_DESCRIPTORS = 64;
const PARAMETER_HEADER = 16;
const TARGET_DESCRIPTOR_LENGTH = 32;
const B2B_SEGMENT_LENGTH = 28;
export const MAX_DESCRIPTOR_LIST_LENGTH = MAX_TARGET_DESCRIPTORS * TARGET_DESCRIPTOR_LENGTH + MAX_SEGMENT_DESCRIPTORS * B2B_SEGMENT_LENGTH;
/** Bytes one segment descriptor may copy: 65535 blocks is what the 16-bit field allows at 512 bytes. */
export const MAX_SEGMENT_BYTES = 0xffff * 512;
/** The copy moves data in pieces of this size, so a large segment does not need a large buffer. */
const PIECE_BYTES = 1 << 20;
/** Finished copies kept per LU for RECEIVE COPY RESULTS (oldest dropped first). */
const HELD_RESULTS = 64;

/** The result of one EXTENDED COPY, as COPY STATUS reports it. */
export interface CopyResult {
  ok: boolean;
  segmentsProcessed: number;
  bytesCopied: number;
  /** Status and sense data of a copy that failed while processing segments, until FAILED SEGMENT DETAILS delivers them. */
  failure?: { status: number; sense: Buffer };
}

/** Copy results per LU, keyed by I_T nexus and list identifier. */
export class CopyResults {
  private readonly held = new Map<string, CopyResult>();

  set(nexusKey: string, listId: number, r: CopyResult): void {
    const k = `${nexusKey}#${listId}`;
    this.held.delete(k);
    this.held.set(k, r);
    if (this.held.size > HELD_RESULTS) this.held.delete(this.held.keys().next().value!);
  }

  get(nexusKey: string, listId: number): CopyResult | undefined {
    return this.held.get(`${nexusKey}#${listId}`);
  }
}

interface Segment {
  offset: number;
  src: number;
  dst: number;
  /** Blocks, in the source's block size (DC = 0) or the destination's (DC = 1). */
  blocks: number;
  dc: boolean;
  srcLba: bigint;
  dstLba: bigint;
}

function copyAborted(code: SenseCode = COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION, byte?: number): ScsiError {
  return checkCondition(code, byte === undefined ? {} : { field: { cdb: false, byte } });
}

/** The LU a target descriptor names: its designator must be the NAA designator of an LU this nexus can reach. */
function resolveTarget(d: Buffer, at: number, peers: LogicalUnit[]): LogicalUnit {
  const peripheralType = d[1]! & 0x1f;
  if (peripheralType !== 0) throw invalidParameterField(at + 1);
  const designatorType = d[5]! & 0x0f;
  const association = (d[5]! >> 4) & 0x03;
  const length = d[7]!;
  if (length > 20) throw invalidParameterField(at + 7);
  // Only logical-unit NAA designators identify a copy target here.
  if (designatorType !== DESIGNATOR_NAA || association !== ASSOC_LU) throw copyAborted(UNREACHABLE_COPY_TARGET, at);
  const naa = d.subarray(8, 8 + length).toString('hex');
  const lu = peers.find((p) => p.source.naa.toLowerCase() === naa);
  if (!lu) throw copyAborted(UNREACHABLE_COPY_TARGET, at);
  const blockLength = d.readUIntBE(29, 3);
  if (blockLength !== 0 && blockLength !== lu.device.blockSize) throw invalidParameterField(at + 29);
  return lu;
}

/** Whether a persistent reservation or a RESERVE(6) of another nexus keeps this nexus from reading or writing the LU. */
function excluded(lu: LogicalUnit, key: string, cls: PrClass): boolean {
  if (lu.spc2.holder !== undefined && lu.spc2.holder !== key) return true;
  return lu.pr.conflicts(key, cls);
}

export function extendedCopy(ctx: CommandContext): Promise<ScsiResponse> | ScsiResponse {
  const cdb = ctx.cdb;
  if ((cdb[1]! & 0x1f) !== XCOPY_LID1) throw invalidCdbField(1, 4);
  const listLength = u32(cdb, 10);
  // A parameter list length of zero asks for nothing (SPC-4 6.4.1).
  if (listLength === 0) return good();
  const p = ctx.cmd.dataOut ?? Buffer.alloc(0);
  if (listLength < PARAMETER_HEADER || p.length < listLength) throw parameterListLengthError();
  const listId = p[0]!;
  const listIdUsage = (p[1]! >> 3) & 0x03;
  if (listIdUsage === 0x01) throw invalidParameterField(1, 4);
  if (listIdUsage === 0x03 && listId !== 0) throw invalidParameterField(0);
  const targetsLength = p.readUInt16BE(2);
  const segmentsLength = p.readUInt32BE(8);
  const inlineLength = p.readUInt32BE(12);
  if (PARAMETER_HEADER + targetsLength + segmentsLength + inlineLength > listLength) throw parameterListLengthError();
  if (targetsLength + segmentsLength > MAX_DESCRIPTOR_LIST_LENGTH) throw parameterListLengthError();
  if (inlineLength !== 0) throw invalidParameterField(12);
  if (targetsLength % TARGET_DESCRIPTOR_LENGTH !== 0) throw parameterListLengthError();
  const targetCount = targetsLength / TARGET_DESCRIPTOR_LENGTH;
  if (targetCount > MAX_TARGET_DESCRIPTORS) throw checkCondition(TOO_MANY_TARGET_DESCRIPTORS);

  // Segment descriptors: each says its own length.
  const segments: Segment[] = [];
  let off = PARAMETER_HEADER + targetsLength;
  const segEnd = off + segmentsLength;
  while (off < segEnd) {
    if (off + 4 > segEnd) throw parameterListLengthError();
    const len = p.readUInt16BE(off + 2) + 4;
    if (off + len > segEnd) throw parameterListLengthError();
    segments.push({ offset: off, src: 0, dst: 0, blocks: 0, dc: false, srcLba: 0n, dstLba: 0n });
    off += len;
  }
  if (segments.length > MAX_SEGMENT_DESCRIPTORS) throw checkCondition(TOO_MANY_SEGMENT_DESCRIPTORS);

  for (let i = 0; i < targetCount; i++) {
    const at = PARAMETER_HEADER + i * TARGET_DESCRIPTOR_LENGTH;
    if (p[at] !== TARGET_DESCRIPTOR_IDENTIFICATION) throw invalidParameterField(at, undefined, UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE);
  }
  for (const s of segments) {
    const at = s.offset;
    if (p[at] !== SEGMENT_DESCRIPTOR_BLOCK_TO_BLOCK) throw invalidParameterField(at, undefined, UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE);
    if (p.readUInt16BE(at + 2) + 4 !== B2B_SEGMENT_LENGTH) throw invalidParameterField(at + 2);
    s.dc = (p[at + 1]! & 0x02) !== 0;
    s.src = p.readUInt16BE(at + 4);
    s.dst = p.readUInt16BE(at + 6);
    s.blocks = p.readUInt16BE(at + 10);
    s.srcLba = p.readBigUInt64BE(at + 12);
    s.dstLba = p.readBigUInt64BE(at + 20);
  }

  // Only now name the LUs: a descriptor that cannot be reached aborts the copy.
  const peers = ctx.peers?.() ?? [ctx.lu];
  const targets: LogicalUnit[] = [];
  for (let i = 0; i < targetCount; i++) {
    const at = PARAMETER_HEADER + i * TARGET_DESCRIPTOR_LENGTH;
    targets.push(resolveTarget(p.subarray(at, at + TARGET_DESCRIPTOR_LENGTH), at, peers));
  }
  for (const s of segments) {
    if (s.src >= targets.length) throw copyAborted(COPY_TARGET_DEVICE_NOT_REACHABLE, s.offset + 4);
    if (s.dst >= targets.length) throw copyAborted(COPY_TARGET_DEVICE_NOT_REACHABLE, s.offset + 6);
    // The copy reads and writes on behalf of the nexus that sent it: a reservation
    // that would refuse this nexus a READ of the source or a WRITE of the destination
    // refuses the copy too (else a host fenced off by another cluster node could
    // still write the LU through a copy sent to another LU).
    if (excluded(targets[s.src]!, ctx.key, 'read')) throw copyAborted(COPY_TARGET_DEVICE_NOT_REACHABLE, PARAMETER_HEADER + s.src * TARGET_DESCRIPTOR_LENGTH);
    if (excluded(targets[s.dst]!, ctx.key, 'write')) throw copyAborted(COPY_TARGET_DEVICE_NOT_REACHABLE, PARAMETER_HEADER + s.dst * TARGET_DESCRIPTOR_LENGTH);
  }
  return runCopy(ctx, listId, listIdUsage, segments, targets);
}

async function runCopy(ctx: CommandContext, listId: number, listIdUsage: number, segments: Segment[], targets: LogicalUnit[]): Promise<ScsiResponse> {
  const result: CopyResult = { ok: false, segmentsProcessed: 0, bytesCopied: 0 };
  try {
    for (const s of segments) {
      const src = targets[s.src]!;
      const dst = targets[s.dst]!;
      if (dst.mode.swp || dst.device.readOnly) throw checkCondition(COPY_ABORTED_SOFTWARE_WRITE_PROTECTED);
      const bs = s.dc ? dst.device.blockSize : src.device.blockSize;
      const bytes = s.blocks * bs;
      if (bytes % src.device.blockSize !== 0 || bytes % dst.device.blockSize !== 0)
        throw copyAborted(COPY_ABORTED_INVALID_FIELD_IN_PARAMETER_LIST, s.offset + 10);
      const srcBlocks = bytes / src.device.blockSize;
      const dstBlocks = bytes / dst.device.blockSize;
      if (s.srcLba + BigInt(srcBlocks) > BigInt(src.device.blockCount)) throw copyAborted(COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION, s.offset + 12);
      if (s.dstLba + BigInt(dstBlocks) > BigInt(dst.device.blockCount)) throw copyAborted(COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION, s.offset + 20);
      let srcLba = Number(s.srcLba);
      let dstLba = Number(s.dstLba);
      let left = bytes;
      while (left > 0) {
        const n = Math.min(left, PIECE_BYTES);
        const data = await src.device.read(srcLba, n / src.device.blockSize);
        const at = dstLba;
        // Zeros (holes of a thin source, mostly) stay holes on the destination.
        const zero = isZero(data);
        // Overlapping writes to the destination wait, as they would for a WRITE.
        await dst.lbaLock.run(at, n / dst.device.blockSize, () => (zero ? dst.device.writeZeroes(at, n / dst.device.blockSize) : dst.device.write(at, data)));
        srcLba += n / src.device.blockSize;
        dstLba += n / dst.device.blockSize;
        left -= n;
        result.bytesCopied += n;
      }
      result.segmentsProcessed++;
    }
    result.ok = true;
    return good();
  } catch (e) {
    const err = e instanceof ScsiError ? e : copyAborted();
    const res = err.response();
    if (res.sense) result.failure = { status: res.status, sense: res.sense };
    throw err;
  } finally {
    // LIST ID USAGE 00b asks the copy manager to hold the results for RECEIVE COPY RESULTS.
    if (listIdUsage === 0x00) ctx.lu.copyResults.set(ctx.key, listId, result);
  }
}

export function receiveCopyResults(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  const sa = cdb[1]! & 0x1f;
  const alloc = u32(cdb, 10);
  let data: Buffer;
  if (sa === RCR_OPERATING_PARAMETERS) {
    const codes = [SEGMENT_DESCRIPTOR_BLOCK_TO_BLOCK, TARGET_DESCRIPTOR_IDENTIFICATION];
    data = Buffer.alloc(44 + codes.length);
    data.writeUInt32BE(data.length - 4, 0);
    data[4] = 0x00; // SNLID 0: every copy needs a list identifier
    data.writeUInt16BE(MAX_TARGET_DESCRIPTORS, 8);
    data.writeUInt16BE(MAX_SEGMENT_DESCRIPTORS, 10);
    data.writeUInt32BE(MAX_DESCRIPTOR_LIST_LENGTH, 12);
    data.writeUInt32BE(MAX_SEGMENT_BYTES, 16);
    data.writeUInt32BE(0, 20); // MAXIMUM INLINE DATA LENGTH: no inline data
    data.writeUInt32BE(0, 24); // HELD DATA LIMIT: no data held for RECEIVE DATA
    data.writeUInt16BE(1, 34); // TOTAL CONCURRENT COPIES
    data[36] = 1; // MAXIMUM CONCURRENT COPIES
    data[37] = 9; // DATA SEGMENT GRANULARITY: 2^9 bytes
    data[43] = codes.length;
    codes.forEach((c, i) => (data[44 + i] = c));
  } else if (sa === RCR_COPY_STATUS) {
    const r = ctx.lu.copyResults.get(ctx.key, cdb[2]!);
    if (!r) throw invalidCdbField(2);
    data = Buffer.alloc(12);
    data.writeUInt32BE(8, 0);
    data[4] = r.ok ? 0x01 : 0x02; // COPY MANAGER STATUS: completed without / with errors
    data.writeUInt16BE(r.segmentsProcessed, 5);
    data[7] = 0x00; // TRANSFER COUNT UNITS: bytes
    data.writeUInt32BE(Math.min(r.bytesCopied, 0xffffffff), 8);
  } else if (sa === RCR_FAILED_SEGMENT_DETAILS) {
    data = failedSegmentDetails(ctx, cdb[2]!, alloc);
  } else {
    throw invalidCdbField(1, 4);
  }
  return good(data.subarray(0, Math.min(alloc, data.length)));
}

/**
 * FAILED SEGMENT DETAILS (SPC-4 6.18.4, LID1): the status and sense data of a copy
 * that failed while processing its segments; AVAILABLE DATA 0 when there are none.
 * The details are discarded once delivered whole, or on an allocation length of 0.
 */
function failedSegmentDetails(ctx: CommandContext, listId: number, alloc: number): Buffer {
  const r = ctx.lu.copyResults.get(ctx.key, listId);
  const f = r?.failure;
  if (!r || !f) return Buffer.alloc(4);
  const d = Buffer.alloc(60 + f.sense.length);
  d.writeUInt32BE(d.length - 4, 0);
  d[56] = f.status; // COPY COMMAND STATUS
  d.writeUInt16BE(f.sense.length, 58);
  f.sense.copy(d, 60);
  if (alloc === 0 || alloc >= d.length) r.failure = undefined;
  return d;
}

/** The Third-party Copy VPD page (8Fh) body: the supported commands descriptor. */
export function thirdPartyCopyDescriptors(): Buffer {
  const commands = Buffer.from([EXTENDED_COPY, 1, XCOPY_LID1, RECEIVE_COPY_RESULTS, RCR_SERVICE_ACTIONS.length, ...RCR_SERVICE_ACTIONS]);
  // Descriptor length is a multiple of 4 (SPC-4 7.8.17.1).
  const bodyLength = Math.ceil((1 + commands.length) / 4) * 4;
  const d = Buffer.alloc(4 + bodyLength);
  d.writeUInt16BE(0x0001, 0); // SUPPORTED COMMANDS
  d.writeUInt16BE(bodyLength, 2);
  d[4] = commands.length;
  commands.copy(d, 5);
  return d;
}
