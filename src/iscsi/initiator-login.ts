// The initiator's side of the login phase (RFC 7143 6.3, 11.12, 11.13): the
// keys it offers, the stages it walks through (security with CHAP, one-way or
// mutual, then operational; or operational only), and what the target's
// answers mean for full feature phase. Each Login Request goes out through
// the initiator's connection, which matches the response by its ITT.
import crypto from 'node:crypto';
import { TARGET_FAILED_MUTUAL_CHAP } from '../catalogue/protocols.js';
import { chapResponse, decodeBinary } from './chap.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import { parseNumber } from './params.js';
import { encodeText, parseText } from './text.js';
import type { TextPair } from './text.js';

export interface LoginOptions {
  initiatorName: string;
  targetName?: string;
  sessionType?: 'Normal' | 'Discovery';
  /** 6 bytes; a random one of type "random" (0x80) by default. */
  isid?: Buffer;
  tsih?: number;
  cid?: number;
  chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
  headerDigest?: boolean;
  dataDigest?: boolean;
  /** Operational keys to offer instead of (or besides) the defaults below. */
  keys?: Record<string, string>;
}

export interface LoginResult {
  /** Keys the target answered with, last value per key. */
  keys: Map<string, string>;
  tsih: number;
  /** Login status (class << 8 | detail); 0 is success. */
  status: number;
}

/** What the login needs from the initiator's connection. */
export interface LoginChannel {
  isid: Buffer;
  tsih: number;
  cid: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  /** Our MaxRecvDataSegmentLength. */
  readonly maxRecv: number;
  nextItt(): number;
  /** Sends a request and resolves with the target's PDU of the same ITT. */
  request(itt: number, bhs: Buffer, data?: Buffer): Promise<Pdu>;
}

/** What a successful login settles for full feature phase. */
export interface FullFeatureParams {
  tsih: number;
  cmdSN: number;
  maxCmdSN: number;
  headerDigest: boolean;
  dataDigest: boolean;
  /** The target's MaxRecvDataSegmentLength: the longest data segment we may send. */
  targetMaxRecv: number;
  firstBurstLength: number;
  maxBurstLength: number;
  immediateData: boolean;
  initialR2T: boolean;
}

/** Rounds the target may ask for before it agrees to move on to full feature phase. */
const EXTRA_ROUNDS = 8;

/** Logs in; `params` is set when the login succeeded. */
export async function login(ch: LoginChannel, o: LoginOptions): Promise<{ result: LoginResult; params?: FullFeatureParams }> {
  ch.isid = o.isid ?? Buffer.concat([Buffer.from([0x80]), crypto.randomBytes(3), Buffer.from([0, 0])]);
  ch.tsih = o.tsih ?? 0;
  ch.cid = o.cid ?? 0;
  const sessionType = o.sessionType ?? 'Normal';
  const first: TextPair[] = [
    ['InitiatorName', o.initiatorName],
    ['SessionType', sessionType],
  ];
  if (sessionType === 'Normal' && o.targetName) first.push(['TargetName', o.targetName]);
  const operational: TextPair[] =
    sessionType === 'Discovery'
      ? [
          ['HeaderDigest', o.headerDigest ? 'CRC32C' : 'None'],
          ['DataDigest', o.dataDigest ? 'CRC32C' : 'None'],
          ['MaxRecvDataSegmentLength', String(ch.maxRecv)],
        ]
      : [
          ['HeaderDigest', o.headerDigest ? 'CRC32C' : 'None'],
          ['DataDigest', o.dataDigest ? 'CRC32C' : 'None'],
          ['InitialR2T', 'No'],
          ['ImmediateData', 'Yes'],
          ['MaxBurstLength', '16776192'],
          ['FirstBurstLength', '262144'],
          ['MaxRecvDataSegmentLength', String(ch.maxRecv)],
          ['MaxOutstandingR2T', '8'],
          ['ErrorRecoveryLevel', '0'],
          ['MaxConnections', '1'],
          ['DataPDUInOrder', 'Yes'],
          ['DataSequenceInOrder', 'Yes'],
          ['DefaultTime2Wait', '2'],
          ['DefaultTime2Retain', '0'],
        ];
  const extra = o.keys ?? {};
  const opKeys: TextPair[] = operational.filter(([k]) => !(k in extra));
  for (const [k, v] of Object.entries(extra)) opKeys.push([k, v]);
  const answers = new Map<string, string>();
  let tsih = 0;
  /** One Login Request (CSG, and NSG with T=1) and its response; the answered keys are collected. */
  const step = async (csg: number, nsg: number, transit: boolean, pairs: TextPair[]): Promise<Pdu> => {
    const data = encodeText(pairs);
    const h = P.initiatorHeader(P.OP_LOGIN_REQUEST, (transit ? P.LOGIN_TRANSIT : 0) | (csg << 2) | (transit ? nsg : 0), data.length, true);
    ch.isid.copy(h, 8);
    h.writeUInt16BE(ch.tsih, 14);
    const itt = ch.nextItt();
    h.writeUInt32BE(itt, 16);
    h.writeUInt16BE(ch.cid, 20);
    h.writeUInt32BE(ch.cmdSN, 24);
    h.writeUInt32BE(ch.expStatSN, 28);
    const r = await ch.request(itt, h, data);
    const parsed = parseText(r.data);
    if (parsed.ok) for (const [k, v] of parsed.pairs) answers.set(k, v);
    tsih = r.bhs.readUInt16BE(14);
    return r;
  };
  const status = (r: Pdu): number => (r.bhs[36]! << 8) | r.bhs[37]!;
  const done = (r: Pdu): LoginResult => ({ keys: answers, tsih, status: status(r) });
  let r: Pdu;
  if (o.chap) {
    // Security stage: offer CHAP, answer the target's challenge, and with mutual CHAP challenge it back.
    r = await step(P.STAGE_SECURITY, P.STAGE_OPERATIONAL, true, [...first, ['AuthMethod', 'CHAP,None']]);
    if (status(r)) return { result: done(r) };
    if (answers.get('AuthMethod') === 'CHAP') {
      r = await step(P.STAGE_SECURITY, P.STAGE_OPERATIONAL, false, [['CHAP_A', '5']]);
      if (status(r)) return { result: done(r) };
      const id = Number(answers.get('CHAP_I'));
      const challenge = decodeBinary(answers.get('CHAP_C') ?? '') ?? Buffer.alloc(0);
      const resp: TextPair[] = [
        ['CHAP_N', o.chap.user],
        ['CHAP_R', `0x${chapResponse(id, o.chap.secret, challenge).toString('hex')}`],
      ];
      let myId = 0;
      let myChallenge = Buffer.alloc(0);
      if (o.chap.mutual) {
        myId = crypto.randomInt(0, 256);
        myChallenge = crypto.randomBytes(16);
        resp.push(['CHAP_I', String(myId)], ['CHAP_C', `0x${myChallenge.toString('hex')}`]);
      }
      r = await step(P.STAGE_SECURITY, P.STAGE_OPERATIONAL, true, resp);
      if (status(r)) return { result: done(r) };
      if (o.chap.mutual) {
        const want = chapResponse(myId, o.chap.mutual.secret, myChallenge);
        const got = decodeBinary(answers.get('CHAP_R') ?? '');
        if (answers.get('CHAP_N') !== o.chap.mutual.user || !got || !got.equals(want)) throw TARGET_FAILED_MUTUAL_CHAP();
      }
    }
    r = await step(P.STAGE_OPERATIONAL, P.STAGE_FULL_FEATURE, true, opKeys);
  } else {
    r = await step(P.STAGE_OPERATIONAL, P.STAGE_FULL_FEATURE, true, [...first, ...opKeys]);
  }
  // The target may need more rounds before it agrees to move on.
  for (let i = 0; i < EXTRA_ROUNDS && status(r) === 0 && !(r.bhs[1]! & P.LOGIN_TRANSIT); i++)
    r = await step(P.STAGE_OPERATIONAL, P.STAGE_FULL_FEATURE, true, []);
  if (status(r) !== 0) return { result: done(r) };
  const num = (k: string, d: number): number => parseNumber(answers.get(k) ?? '') ?? d;
  const params: FullFeatureParams = {
    tsih,
    maxCmdSN: r.bhs.readUInt32BE(32),
    cmdSN: r.bhs.readUInt32BE(28),
    headerDigest: answers.get('HeaderDigest') === 'CRC32C',
    dataDigest: answers.get('DataDigest') === 'CRC32C',
    targetMaxRecv: parseNumber(answers.get('MaxRecvDataSegmentLength') ?? '') ?? 8192,
    firstBurstLength: num('FirstBurstLength', 65536),
    maxBurstLength: num('MaxBurstLength', 262144),
    immediateData: (answers.get('ImmediateData') ?? 'Yes') === 'Yes' && (extra.ImmediateData ?? 'Yes') === 'Yes',
    initialR2T: (answers.get('InitialR2T') ?? 'Yes') === 'Yes',
  };
  return { result: done(r), params };
}
