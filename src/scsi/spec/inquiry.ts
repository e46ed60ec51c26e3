// INQUIRY (SPC-4 6.6) vocabulary: vital product data page codes, the fields of
// designation descriptors (SPC-4 7.8.6), and the parser of the Device
// Identification page that pathd and the tests read.

export const VERSION_SPC4 = 0x06;
/** PERIPHERAL DEVICE TYPE of a direct access block device. */
export const TYPE_DISK = 0x00;
/** Byte 0 for a LUN with no logical unit behind it: qualifier 011b, type 1Fh. */
export const PQ_NOT_CAPABLE = 0x7f;
/** Standard data byte 1: LU_CONG, the logical unit belongs to a LUN conglomerate (SPC-5 6.6.2). */
export const INQUIRY_LU_CONG = 0x40;

/** True when standard INQUIRY data says the LU is part of a LUN conglomerate (an administrative or subsidiary LU). */
export function isLuConglomerate(standard: Buffer): boolean {
  return standard.length >= 2 && (standard[1]! & INQUIRY_LU_CONG) !== 0;
}

// VPD page codes (SPC-4 7.8, SBC-3 6.6)
export const VPD_SUPPORTED_PAGES = 0x00;
export const VPD_UNIT_SERIAL_NUMBER = 0x80;
export const VPD_DEVICE_IDENTIFICATION = 0x83;
export const VPD_THIRD_PARTY_COPY = 0x8f;
export const VPD_BLOCK_LIMITS = 0xb0;
export const VPD_BLOCK_DEVICE_CHARACTERISTICS = 0xb1;
export const VPD_LOGICAL_BLOCK_PROVISIONING = 0xb2;

// Designation descriptor fields (SPC-4 7.8.6)
export const PROTOCOL_ISCSI = 0x5;
export const CODE_SET_BINARY = 0x1;
export const CODE_SET_ASCII = 0x2;
export const CODE_SET_UTF8 = 0x3;
export const ASSOC_LU = 0x0;
export const ASSOC_TARGET_PORT = 0x1;
export const ASSOC_TARGET_DEVICE = 0x2;
export const DESIGNATOR_T10_VENDOR_ID = 0x1;
export const DESIGNATOR_EUI64 = 0x2;
export const DESIGNATOR_NAA = 0x3;
export const DESIGNATOR_RELATIVE_TARGET_PORT = 0x4;
export const DESIGNATOR_TARGET_PORT_GROUP = 0x5;
export const DESIGNATOR_SCSI_NAME_STRING = 0x8;

/** One designation descriptor of the Device Identification page. */
export interface Designator {
  protocol: number;
  codeSet: number;
  piv: boolean;
  assoc: number;
  type: number;
  value: Buffer;
}

/** The designation descriptors of a Device Identification VPD page (0x83); none when it is not that page. */
export function parseDesignators(page: Buffer): Designator[] {
  if (page.length < 4 || page[1] !== VPD_DEVICE_IDENTIFICATION) return [];
  const end = Math.min(page.length, 4 + page.readUInt16BE(2));
  const out: Designator[] = [];
  for (let o = 4; o + 4 <= end;) {
    const len = page[o + 3]!;
    out.push({
      protocol: page[o]! >> 4,
      codeSet: page[o]! & 0xf,
      piv: (page[o + 1]! & 0x80) !== 0,
      assoc: (page[o + 1]! >> 4) & 3,
      type: page[o + 1]! & 0xf,
      value: page.subarray(o + 4, o + 4 + len),
    });
    o += 4 + len;
  }
  return out;
}

export interface DeviceIdentity {
  /** The logical unit's NAA designator as "naa.<hex>", or another LU designator as "id.<hex>" when it has no NAA one. */
  id: string;
  /** The LU's EUI-64 designator as "eui.<hex>" (a protocol endpoint has one), if any. */
  eui?: string;
  relativeTargetPortId?: number;
  targetPortGroup?: number;
}

/** Who answered: the LU's identity and the port and port group the command came through. */
export function parseDeviceIdentification(page: Buffer): DeviceIdentity | undefined {
  let naa: string | undefined;
  let other: string | undefined;
  let rtp: number | undefined;
  let tpg: number | undefined;
  let eui: string | undefined;
  for (const d of parseDesignators(page)) {
    if (d.assoc === ASSOC_LU && d.type === DESIGNATOR_EUI64) eui ??= d.value.toString('hex');
    if (d.assoc === ASSOC_LU && d.type === DESIGNATOR_NAA) naa ??= d.value.toString('hex');
    else if (d.assoc === ASSOC_LU && (d.type === DESIGNATOR_EUI64 || d.type === DESIGNATOR_SCSI_NAME_STRING || d.type === DESIGNATOR_T10_VENDOR_ID))
      other ??= d.value.toString('hex');
    else if (d.assoc === ASSOC_TARGET_PORT && d.type === DESIGNATOR_RELATIVE_TARGET_PORT && d.value.length >= 4) rtp = d.value.readUInt16BE(2);
    else if (d.assoc === ASSOC_TARGET_PORT && d.type === DESIGNATOR_TARGET_PORT_GROUP && d.value.length >= 4) tpg = d.value.readUInt16BE(2);
  }
  const id = naa ? `naa.${naa}` : other ? `id.${other}` : undefined;
  if (!id) return undefined;
  const out: DeviceIdentity = { id, relativeTargetPortId: rtp, targetPortGroup: tpg };
  if (eui !== undefined) out.eui = `eui.${eui}`;
  return out;
}
