// Operational text keys (RFC 7143 13, RFC 7144 13): one table entry per key
// with its kind of negotiation, range, RFC default and the value Kura offers,
// and the function that answers an initiator's offers from that table.
//
// Kura's offers let an initiator stream: unsolicited and immediate data on
// (InitialR2T=No, ImmediateData=Yes), bursts as long as the RFC allows, and a
// 256 KiB receive segment. Error recovery stays at level 0, one connection per
// session.
import type { TextPair } from './text.js';

export type SessionType = 'Normal' | 'Discovery';

/** What a session and its connection run with once negotiated. */
export interface NegotiatedParams {
  sessionType: SessionType;
  initiatorName?: string;
  initiatorAlias?: string;
  targetName?: string;
  headerDigest: boolean;
  dataDigest: boolean;
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  /** The initiator's MaxRecvDataSegmentLength: the longest data segment the target may send. */
  initiatorMaxRecvDataSegmentLength: number;
  /** The target's own MaxRecvDataSegmentLength, as declared to the initiator. */
  targetMaxRecvDataSegmentLength: number;
}

/** RFC 7143 defaults: what holds for every key that is never negotiated. */
export function rfcDefaults(): NegotiatedParams {
  return {
    sessionType: 'Normal',
    headerDigest: false,
    dataDigest: false,
    maxConnections: 1,
    initialR2T: true,
    immediateData: true,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    maxOutstandingR2T: 1,
    dataPDUInOrder: true,
    dataSequenceInOrder: true,
    errorRecoveryLevel: 0,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: 8192,
  };
}

/** The values Kura answers with (each within its RFC range). */
export interface TargetOffers {
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  initialR2T: boolean;
  immediateData: boolean;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxConnections: number;
  errorRecoveryLevel: number;
  headerDigest: readonly string[];
  dataDigest: readonly string[];
}

export const MAX_SEGMENT = 16777215; // 2^24 - 1

export const DEFAULT_OFFERS: TargetOffers = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 8,
  initialR2T: false,
  immediateData: true,
  defaultTime2Wait: 2,
  defaultTime2Retain: 0,
  maxConnections: 1,
  errorRecoveryLevel: 0,
  headerDigest: ['None', 'CRC32C'],
  dataDigest: ['None', 'CRC32C'],
};

type Use = 'LO' | 'IO' | 'ALL' | 'FFPO';

type KeyDef =
  | { kind: 'declarative'; use: Use; sender: 'initiator' | 'target' | 'both' }
  | {
      kind: 'min' | 'max';
      use: Use;
      range: [number, number];
      ours: (o: TargetOffers) => number;
      set: (p: NegotiatedParams, v: number) => void;
      discovery: boolean;
    }
  | { kind: 'and' | 'or'; use: Use; ours: (o: TargetOffers) => boolean; set: (p: NegotiatedParams, v: boolean) => void; discovery: boolean }
  | { kind: 'list'; use: Use; ours: (o: TargetOffers) => readonly string[]; set: (p: NegotiatedParams, v: string) => void; discovery: boolean }
  | { kind: 'security' }
  | { kind: 'irrelevant' }
  | { kind: 'text-only' };

/**
 * The keys Kura knows. `discovery: false` marks keys that are Irrelevant in a
 * Discovery session (RFC 7143 13: "Irrelevant when: SessionType=Discovery").
 */
export const KEYS: Readonly<Record<string, KeyDef>> = {
  HeaderDigest: { kind: 'list', use: 'IO', ours: (o) => o.headerDigest, set: (p, v) => (p.headerDigest = v === 'CRC32C'), discovery: true },
  DataDigest: { kind: 'list', use: 'IO', ours: (o) => o.dataDigest, set: (p, v) => (p.dataDigest = v === 'CRC32C'), discovery: true },
  MaxConnections: { kind: 'min', use: 'LO', range: [1, 65535], ours: (o) => o.maxConnections, set: (p, v) => (p.maxConnections = v), discovery: true },
  SendTargets: { kind: 'text-only' },
  TargetName: { kind: 'declarative', use: 'IO', sender: 'initiator' },
  InitiatorName: { kind: 'declarative', use: 'IO', sender: 'initiator' },
  TargetAlias: { kind: 'declarative', use: 'ALL', sender: 'target' },
  InitiatorAlias: { kind: 'declarative', use: 'ALL', sender: 'initiator' },
  TargetAddress: { kind: 'declarative', use: 'ALL', sender: 'target' },
  TargetPortalGroupTag: { kind: 'declarative', use: 'IO', sender: 'target' },
  InitialR2T: { kind: 'or', use: 'LO', ours: (o) => o.initialR2T, set: (p, v) => (p.initialR2T = v), discovery: false },
  ImmediateData: { kind: 'and', use: 'LO', ours: (o) => o.immediateData, set: (p, v) => (p.immediateData = v), discovery: false },
  MaxRecvDataSegmentLength: { kind: 'declarative', use: 'ALL', sender: 'both' },
  MaxBurstLength: { kind: 'min', use: 'LO', range: [512, MAX_SEGMENT], ours: (o) => o.maxBurstLength, set: (p, v) => (p.maxBurstLength = v), discovery: false },
  FirstBurstLength: {
    kind: 'min',
    use: 'LO',
    range: [512, MAX_SEGMENT],
    ours: (o) => o.firstBurstLength,
    set: (p, v) => (p.firstBurstLength = v),
    discovery: false,
  },
  DefaultTime2Wait: { kind: 'max', use: 'LO', range: [0, 3600], ours: (o) => o.defaultTime2Wait, set: (p, v) => (p.defaultTime2Wait = v), discovery: true },
  DefaultTime2Retain: {
    kind: 'min',
    use: 'LO',
    range: [0, 3600],
    ours: (o) => o.defaultTime2Retain,
    set: (p, v) => (p.defaultTime2Retain = v),
    discovery: true,
  },
  MaxOutstandingR2T: {
    kind: 'min',
    use: 'LO',
    range: [1, 65535],
    ours: (o) => o.maxOutstandingR2T,
    set: (p, v) => (p.maxOutstandingR2T = v),
    discovery: false,
  },
  // DataPDUInOrder/DataSequenceInOrder: Kura requires Yes, and OR lets it insist.
  DataPDUInOrder: { kind: 'or', use: 'LO', ours: () => true, set: (p, v) => (p.dataPDUInOrder = v), discovery: false },
  DataSequenceInOrder: { kind: 'or', use: 'LO', ours: () => true, set: (p, v) => (p.dataSequenceInOrder = v), discovery: false },
  ErrorRecoveryLevel: { kind: 'min', use: 'LO', range: [0, 2], ours: (o) => o.errorRecoveryLevel, set: (p, v) => (p.errorRecoveryLevel = v), discovery: true },
  SessionType: { kind: 'declarative', use: 'LO', sender: 'initiator' },
  AuthMethod: { kind: 'security' },
  CHAP_A: { kind: 'security' },
  CHAP_I: { kind: 'security' },
  CHAP_C: { kind: 'security' },
  CHAP_N: { kind: 'security' },
  CHAP_R: { kind: 'security' },
  // Markers (RFC 3720 only; obsolete in RFC 7143 13.25): "No" is always an
  // acceptable answer to an AND key, and the intervals are then irrelevant.
  IFMarker: { kind: 'and', use: 'IO', ours: () => false, set: () => undefined, discovery: true },
  OFMarker: { kind: 'and', use: 'IO', ours: () => false, set: () => undefined, discovery: true },
  IFMarkInt: { kind: 'irrelevant' },
  OFMarkInt: { kind: 'irrelevant' },
  // iSER (RFC 7145) is not offered over TCP: RDMAExtensions=No, and its segment keys are irrelevant.
  RDMAExtensions: { kind: 'and', use: 'LO', ours: () => false, set: () => undefined, discovery: true },
  InitiatorRecvDataSegmentLength: { kind: 'irrelevant' },
  TargetRecvDataSegmentLength: { kind: 'irrelevant' },
  // RFC 7144: Kura implements RFC 7143 (protocol level 1) and its task reporting.
  iSCSIProtocolLevel: { kind: 'min', use: 'LO', range: [0, 31], ours: () => 1, set: () => undefined, discovery: true },
  TaskReporting: { kind: 'list', use: 'LO', ours: () => ['RFC3720'], set: () => undefined, discovery: false },
};

export interface NegotiationContext {
  /** Login (operational or security stage) or a Text exchange in full feature phase. */
  phase: 'login' | 'ffp';
  sessionType: SessionType;
  /** The connection is the session's first (leading) one. */
  leading: boolean;
  offers: TargetOffers;
}

export interface NegotiationOutcome {
  responses: TextPair[];
  /** A fatal error: the login (or text exchange) fails as an initiator error. */
  error?: string;
}

/** Parses a numerical value: decimal, or hex with 0x (RFC 7143 5.1). */
export function parseNumber(v: string): number | undefined {
  if (/^[0-9]{1,10}$/.test(v)) return Number(v);
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(v)) return parseInt(v.slice(2), 16);
  return undefined;
}

function parseBool(v: string): boolean | undefined {
  return v === 'Yes' ? true : v === 'No' ? false : undefined;
}

const yesNo = (b: boolean): string => (b ? 'Yes' : 'No');

/**
 * Answers the operational keys of one request, updating params. Security keys
 * are left to the caller (login stage logic); declaratives are recorded.
 * Unknown keys are answered NotUnderstood, keys that do not apply Irrelevant,
 * unacceptable values Reject (RFC 7143 6.2).
 */
export function negotiate(pairs: readonly TextPair[], params: NegotiatedParams, ctx: NegotiationContext, skip?: (key: string) => boolean): NegotiationOutcome {
  const responses: TextPair[] = [];
  for (const [key, value] of pairs) {
    if (skip?.(key)) continue;
    const def = Object.prototype.hasOwnProperty.call(KEYS, key) ? KEYS[key] : undefined;
    if (!def) {
      responses.push([key, 'NotUnderstood']);
      continue;
    }
    // An initiator's answer to something we offered: Kura offers only declaratives, so nothing to do.
    if (value === 'NotUnderstood' || value === 'Irrelevant' || value === 'Reject') continue;
    switch (def.kind) {
      case 'security':
        // Only the security stage of a login knows these; the caller routes them there.
        return { responses, error: `security key ${key} outside the security negotiation stage` };
      case 'irrelevant':
        responses.push([key, 'Irrelevant']);
        continue;
      case 'text-only':
        return { responses, error: `${key} is only allowed in a Text Request` };
      case 'declarative': {
        if (def.sender === 'target') {
          responses.push([key, 'Irrelevant']);
          continue;
        }
        if (ctx.phase === 'ffp' && def.use !== 'ALL') {
          responses.push([key, 'Reject']);
          continue;
        }
        const err = declare(key, value, params);
        if (err) return { responses, error: err };
        continue;
      }
      default:
        break;
    }
    if (ctx.phase === 'ffp' && def.use !== 'ALL' && def.use !== 'FFPO') {
      // Login-only keys cannot change in full feature phase.
      responses.push([key, 'Reject']);
      continue;
    }
    if (def.use === 'LO' && !ctx.leading) {
      responses.push([key, 'Irrelevant']);
      continue;
    }
    if (ctx.sessionType === 'Discovery' && !def.discovery) {
      responses.push([key, 'Irrelevant']);
      continue;
    }
    switch (def.kind) {
      case 'min':
      case 'max': {
        const n = parseNumber(value);
        if (n === undefined || n < def.range[0] || n > def.range[1]) {
          responses.push([key, 'Reject']);
          continue;
        }
        const ours = def.ours(ctx.offers);
        const result = def.kind === 'min' ? Math.min(n, ours) : Math.max(n, ours);
        def.set(params, result);
        responses.push([key, String(result)]);
        break;
      }
      case 'and':
      case 'or': {
        const b = parseBool(value);
        if (b === undefined) {
          responses.push([key, 'Reject']);
          continue;
        }
        const ours = def.ours(ctx.offers);
        const result = def.kind === 'and' ? b && ours : b || ours;
        def.set(params, result);
        responses.push([key, yesNo(result)]);
        break;
      }
      case 'list': {
        const offered = value.split(',');
        const ours = def.ours(ctx.offers);
        // The responder picks the first value in the offerer's order that it supports.
        const pick = offered.find((v) => ours.includes(v));
        if (pick === undefined) {
          responses.push([key, 'Reject']);
          continue;
        }
        def.set(params, pick);
        responses.push([key, pick]);
        break;
      }
    }
  }
  // FirstBurstLength cannot exceed MaxBurstLength (RFC 7143 13.14).
  if (params.firstBurstLength > params.maxBurstLength) params.firstBurstLength = params.maxBurstLength;
  return { responses };
}

function declare(key: string, value: string, params: NegotiatedParams): string | undefined {
  switch (key) {
    case 'InitiatorName':
      if (!isValidIscsiName(value)) return `InitiatorName "${value.slice(0, 64)}" is not a valid iSCSI name`;
      if (params.initiatorName !== undefined && params.initiatorName !== value) return 'InitiatorName changed during login';
      params.initiatorName = value;
      return undefined;
    case 'TargetName':
      if (params.targetName !== undefined && params.targetName !== value) return 'TargetName changed during login';
      params.targetName = value;
      return undefined;
    case 'InitiatorAlias':
      params.initiatorAlias = value;
      return undefined;
    case 'SessionType':
      if (value !== 'Normal' && value !== 'Discovery') return `SessionType=${value.slice(0, 32)} is neither Normal nor Discovery`;
      params.sessionType = value;
      return undefined;
    case 'MaxRecvDataSegmentLength': {
      const n = parseNumber(value);
      if (n === undefined || n < 512) return `MaxRecvDataSegmentLength=${value.slice(0, 32)} is below 512 or not a number`;
      // Values above the range are clamped: a peer may announce more than Kura would ever send.
      params.initiatorMaxRecvDataSegmentLength = Math.min(n, MAX_SEGMENT);
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * iSCSI names (RFC 7143 4.2.7.2 / RFC 3722): iqn.yyyy-mm.reversed.domain[:anything],
 * eui. plus 16 hex digits, or naa. plus 16 or 32 hex digits.
 */
export function isValidIscsiName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) > 223) return false;
  const lower = name.toLowerCase();
  if (lower.startsWith('iqn.')) return /^iqn\.\d{4}-\d{2}\.[^\s,]+$/.test(lower);
  if (lower.startsWith('eui.')) return /^eui\.[0-9a-f]{16}$/.test(lower);
  if (lower.startsWith('naa.')) return /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/.test(lower);
  return false;
}

/** Keys Kura declares in its first operational-stage response whether asked or not. */
export function targetDeclarations(params: NegotiatedParams): TextPair[] {
  return [['MaxRecvDataSegmentLength', String(params.targetMaxRecvDataSegmentLength)]];
}
