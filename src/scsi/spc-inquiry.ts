// INQUIRY (SPC-4 6.6): standard data and the vital product data pages an SBC
// device with ALUA and thin provisioning is expected to offer (SPC-4 7.8, SBC-3 6.6).
import { allocate, asciiField, u16 } from './cdb.js';
import type { CommandContext } from './command.js';
import { MAX_COMPARE_AND_WRITE_BLOCKS, MAX_TRANSFER_BLOCKS, MAX_UNMAP_DESCRIPTORS, MAX_UNMAP_LBA_COUNT, MAX_WRITE_SAME_BLOCKS } from './limits.js';
import type { LogicalUnit } from './logical-unit.js';
import { good, invalidCdbField } from './sense.js';
import { thirdPartyCopyDescriptors } from './spc-xcopy.js';
import { MAX_ATOMIC_TRANSFER_BLOCKS } from './sbc-atomic.js';
import {
  ASSOC_LU,
  ASSOC_TARGET_DEVICE,
  ASSOC_TARGET_PORT,
  CODE_SET_ASCII,
  CODE_SET_BINARY,
  CODE_SET_UTF8,
  DESIGNATOR_EUI64,
  DESIGNATOR_NAA,
  DESIGNATOR_RELATIVE_TARGET_PORT,
  DESIGNATOR_SCSI_NAME_STRING,
  DESIGNATOR_T10_VENDOR_ID,
  DESIGNATOR_TARGET_PORT_GROUP,
  INQUIRY_LU_CONG,
  PQ_NOT_CAPABLE,
  PROTOCOL_ISCSI,
  TYPE_DISK,
  VERSION_SPC4,
  VPD_BLOCK_DEVICE_CHARACTERISTICS,
  VPD_BLOCK_LIMITS,
  VPD_DEVICE_IDENTIFICATION,
  VPD_LOGICAL_BLOCK_PROVISIONING,
  VPD_SUPPORTED_PAGES,
  VPD_THIRD_PARTY_COPY,
  VPD_UNIT_SERIAL_NUMBER,
} from './spec/inquiry.js';
import type { ItNexus, ScsiResponse } from './types.js';

// Version descriptors (SPC-4 table 148): SAM-5, SPC-4, SBC-3, iSCSI, all "no version claimed".
const VERSION_DESCRIPTORS = [0x00a0, 0x0460, 0x04c0, 0x0960];
const SUPPORTED_VPD = [
  VPD_SUPPORTED_PAGES,
  VPD_UNIT_SERIAL_NUMBER,
  VPD_DEVICE_IDENTIFICATION,
  VPD_THIRD_PARTY_COPY,
  VPD_BLOCK_LIMITS,
  VPD_BLOCK_DEVICE_CHARACTERISTICS,
  VPD_LOGICAL_BLOCK_PROVISIONING,
];

interface StandardFields {
  byte0: number;
  vendor: string;
  product: string;
  revision: string;
  multiPort: boolean;
  thirdPartyCopy: boolean;
  luCong?: boolean;
}

function standardData(f: StandardFields): Buffer {
  const b = Buffer.alloc(58 + 2 * 8);
  b[0] = f.byte0;
  b[1] = f.luCong ? INQUIRY_LU_CONG : 0x00; // RMB = 0: not removable; LU_CONG: part of a LUN conglomerate
  b[2] = VERSION_SPC4;
  b[3] = 0x10 | 0x02; // HISUP, RESPONSE DATA FORMAT 2
  b[4] = b.length - 5;
  b[5] = 0x10 | (f.thirdPartyCopy ? 0x08 : 0); // TPGS 01b: implicit ALUA only; 3PC: EXTENDED COPY
  b[6] = f.multiPort ? 0x10 : 0x00; // MULTIP
  b[7] = 0x02; // CMDQUE
  asciiField(f.vendor, 8).copy(b, 8);
  asciiField(f.product, 16).copy(b, 16);
  asciiField(f.revision, 4).copy(b, 32);
  VERSION_DESCRIPTORS.forEach((v, i) => b.writeUInt16BE(v, 58 + 2 * i));
  return b;
}

/** One designation descriptor with its 4-byte header. */
function designator(protocolId: number, codeSet: number, piv: boolean, assoc: number, type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = ((protocolId & 0xf) << 4) | (codeSet & 0xf);
  h[1] = (piv ? 0x80 : 0) | ((assoc & 3) << 4) | (type & 0xf);
  h[3] = value.length;
  return Buffer.concat([h, value]);
}

/** A SCSI name string: UTF-8, null-terminated, padded with nulls to a multiple of four bytes. */
function scsiNameString(s: string): Buffer {
  const raw = Buffer.from(s, 'utf8');
  const len = Math.min(252, (raw.length + 4) & ~3);
  const b = Buffer.alloc(len);
  raw.copy(b, 0, 0, Math.min(raw.length, len - 1));
  return b;
}

function vpdPage(byte0: number, page: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = byte0;
  h[1] = page;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function deviceIdentification(lu: LogicalUnit, nexus: ItNexus): Buffer {
  const parts: Buffer[] = [];
  const cong = lu.source.conglomerate?.();
  // A subsidiary LU (a bound VVOL) is known by the VVOL's NAA id; a PE adds its EUI-64 id.
  const naaHex = cong?.role === 'subsidiary' ? cong.naa : lu.source.naa;
  const naa = Buffer.from(naaHex.padEnd(32, '0').slice(0, 32), 'hex');
  parts.push(designator(0, CODE_SET_BINARY, false, ASSOC_LU, DESIGNATOR_NAA, naa));
  if (cong?.role === 'administrative')
    parts.push(designator(0, CODE_SET_BINARY, false, ASSOC_LU, DESIGNATOR_EUI64, Buffer.from(cong.eui.padEnd(16, '0').slice(0, 16), 'hex')));
  parts.push(
    designator(
      0,
      CODE_SET_ASCII,
      false,
      ASSOC_LU,
      DESIGNATOR_T10_VENDOR_ID,
      Buffer.concat([asciiField(lu.source.vendor, 8), Buffer.from(lu.source.serial.replace(/[^\x21-\x7e]/g, '_'), 'ascii')]),
    ),
  );
  const rtp = Buffer.alloc(4);
  rtp.writeUInt16BE(nexus.relativeTargetPortId & 0xffff, 2);
  parts.push(designator(PROTOCOL_ISCSI, CODE_SET_BINARY, true, ASSOC_TARGET_PORT, DESIGNATOR_RELATIVE_TARGET_PORT, rtp));
  const tpg = Buffer.alloc(4);
  tpg.writeUInt16BE(nexus.targetPortGroup & 0xffff, 2);
  parts.push(designator(PROTOCOL_ISCSI, CODE_SET_BINARY, true, ASSOC_TARGET_PORT, DESIGNATOR_TARGET_PORT_GROUP, tpg));
  parts.push(designator(PROTOCOL_ISCSI, CODE_SET_UTF8, true, ASSOC_TARGET_PORT, DESIGNATOR_SCSI_NAME_STRING, scsiNameString(nexus.targetPort)));
  const device = nexus.targetPort.split(',t,')[0]!;
  parts.push(designator(PROTOCOL_ISCSI, CODE_SET_UTF8, true, ASSOC_TARGET_DEVICE, DESIGNATOR_SCSI_NAME_STRING, scsiNameString(device)));
  return vpdPage(TYPE_DISK, VPD_DEVICE_IDENTIFICATION, Buffer.concat(parts));
}

function blockLimits(lu: LogicalUnit): Buffer {
  const b = Buffer.alloc(0x3c);
  const bs = lu.device.blockSize;
  const chunkBlocks = Math.max(1, Math.floor(lu.device.optimalIoSize / bs));
  // Byte offsets below are those of the page minus its 4-byte header.
  b[0] = 0x00; // WSNZ = 0: WRITE SAME with 0 blocks means "to the last LBA"
  b[1] = MAX_COMPARE_AND_WRITE_BLOCKS;
  b.writeUInt16BE(Math.min(0xffff, chunkBlocks), 2); // OPTIMAL TRANSFER LENGTH GRANULARITY
  b.writeUInt32BE(MAX_TRANSFER_BLOCKS, 4);
  b.writeUInt32BE(Math.min(MAX_TRANSFER_BLOCKS, chunkBlocks), 8); // OPTIMAL TRANSFER LENGTH
  b.writeUInt32BE(MAX_TRANSFER_BLOCKS, 12); // MAXIMUM PREFETCH LENGTH
  if (lu.source.thin) {
    b.writeUInt32BE(MAX_UNMAP_LBA_COUNT, 16);
    b.writeUInt32BE(MAX_UNMAP_DESCRIPTORS, 20);
    b.writeUInt32BE(chunkBlocks, 24); // OPTIMAL UNMAP GRANULARITY: a whole chunk frees space
    b.writeUInt32BE(0x80000000, 28); // UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
  }
  b.writeBigUInt64BE(BigInt(MAX_WRITE_SAME_BLOCKS), 32);
  // WRITE ATOMIC: any alignment and granularity, up to MAX_ATOMIC_TRANSFER_BLOCKS, no boundaries.
  if (lu.device.writeAtomic) b.writeUInt32BE(MAX_ATOMIC_TRANSFER_BLOCKS, 40);
  return vpdPage(TYPE_DISK, VPD_BLOCK_LIMITS, b);
}

function blockDeviceCharacteristics(): Buffer {
  const b = Buffer.alloc(0x3c);
  b.writeUInt16BE(0x0001, 0); // MEDIUM ROTATION RATE: non-rotating medium
  return vpdPage(TYPE_DISK, VPD_BLOCK_DEVICE_CHARACTERISTICS, b);
}

function logicalBlockProvisioning(lu: LogicalUnit): Buffer {
  const b = Buffer.alloc(4);
  if (lu.source.thin) {
    b[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ (unmapped blocks read as zeros)
    b[2] = 0x02; // PROVISIONING TYPE: thin provisioned
  }
  return vpdPage(TYPE_DISK, VPD_LOGICAL_BLOCK_PROVISIONING, b);
}

/** The VPD page, or undefined when we do not have it. */
export function vpd(lu: LogicalUnit, nexus: ItNexus, page: number): Buffer | undefined {
  switch (page) {
    case VPD_SUPPORTED_PAGES:
      return vpdPage(TYPE_DISK, VPD_SUPPORTED_PAGES, Buffer.from(SUPPORTED_VPD));
    case VPD_UNIT_SERIAL_NUMBER:
      return vpdPage(TYPE_DISK, VPD_UNIT_SERIAL_NUMBER, Buffer.from(lu.source.serial.replace(/[^\x20-\x7e]/g, '_'), 'ascii'));
    case VPD_DEVICE_IDENTIFICATION:
      return deviceIdentification(lu, nexus);
    case VPD_THIRD_PARTY_COPY:
      return vpdPage(TYPE_DISK, VPD_THIRD_PARTY_COPY, thirdPartyCopyDescriptors());
    case VPD_BLOCK_LIMITS:
      return blockLimits(lu);
    case VPD_BLOCK_DEVICE_CHARACTERISTICS:
      return blockDeviceCharacteristics();
    case VPD_LOGICAL_BLOCK_PROVISIONING:
      return logicalBlockProvisioning(lu);
    default:
      return undefined;
  }
}

/** The common CDB checks: CMDDT is obsolete, and a page code needs EVPD. */
function decode(cdb: Buffer): { evpd: boolean; page: number; alloc: number } {
  if (cdb[1]! & 0x02) throw invalidCdbField(1, 1);
  const evpd = (cdb[1]! & 0x01) !== 0;
  const page = cdb[2]!;
  if (!evpd && page !== 0) throw invalidCdbField(2);
  return { evpd, page, alloc: u16(cdb, 3) };
}

export function inquiry(ctx: CommandContext): ScsiResponse {
  const { evpd, page, alloc } = decode(ctx.cdb);
  const lu = ctx.lu;
  if (!evpd) {
    const ports = lu.source.portGroups().reduce((n, g) => n + g.relativeTargetPortIds.length, 0);
    return good(
      allocate(
        standardData({
          byte0: TYPE_DISK,
          vendor: lu.source.vendor,
          product: lu.source.product,
          revision: lu.source.revision,
          multiPort: ports > 1,
          thirdPartyCopy: true,
          luCong: lu.source.conglomerate?.() !== undefined,
        }),
        alloc,
      ),
    );
  }
  const data = vpd(lu, ctx.nexus, page);
  if (!data) throw invalidCdbField(2);
  return good(allocate(data, alloc));
}

/** INQUIRY addressed to a LUN with no logical unit: qualifier 011b, device type 1Fh (SPC-4 6.6.2). */
export function inquiryNoLun(cdb: Buffer): ScsiResponse {
  const { evpd, page, alloc } = decode(cdb);
  if (!evpd)
    return good(allocate(standardData({ byte0: PQ_NOT_CAPABLE, vendor: 'KURA', product: '', revision: '', multiPort: false, thirdPartyCopy: false }), alloc));
  if (page !== VPD_SUPPORTED_PAGES) throw invalidCdbField(2);
  return good(allocate(vpdPage(PQ_NOT_CAPABLE, VPD_SUPPORTED_PAGES, Buffer.from([VPD_SUPPORTED_PAGES])), alloc));
}
