// The target side of the login phase (RFC 7143 6.3, 11.12, 11.13) as an
// explicit state machine over the login stages:
//
//   stage            request CSG   may move to (NSG, with T=1)
//   security (0)     0             operational (1), full feature (3)   once authenticated
//   operational (1)  1             full feature (3)
//   full feature (3) -             -
//
// Each complete request (text may span PDUs with the C bit) yields the next
// response: its flags and keys, or a login reject with a status class/detail.
// Binding the login to a session (TSIH, reinstatement) is the caller's part.
import { ChapAuthenticator, chapRequired } from './chap.js';
import type { ChapConfig } from './chap.js';
import {
  LOGIN_AUTHENTICATION_FAILURE,
  LOGIN_AUTHORIZATION_FAILURE,
  LOGIN_CONTINUE,
  LOGIN_INITIATOR_ERROR,
  LOGIN_MISSING_PARAMETER,
  LOGIN_TARGET_NOT_FOUND,
  LOGIN_TRANSIT,
  LOGIN_UNSUPPORTED_VERSION,
  STAGE_FULL_FEATURE,
  STAGE_OPERATIONAL,
  STAGE_SECURITY,
} from './pdu.js';
import { negotiate, rfcDefaults, targetDeclarations } from './params.js';
import type { NegotiatedParams, TargetOffers } from './params.js';
import { parseText } from './text.js';
import type { TextPair } from './text.js';

export interface LoginRequestFields {
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: Buffer;
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}

export function parseLoginRequest(bhs: Buffer): LoginRequestFields {
  const f = bhs[1]!;
  return {
    transit: (f & LOGIN_TRANSIT) !== 0,
    cont: (f & LOGIN_CONTINUE) !== 0,
    csg: (f >> 2) & 3,
    nsg: f & 3,
    versionMax: bhs[2]!,
    versionMin: bhs[3]!,
    isid: Buffer.from(bhs.subarray(8, 14)),
    tsih: bhs.readUInt16BE(14),
    itt: bhs.readUInt32BE(16),
    cid: bhs.readUInt16BE(20),
    cmdSN: bhs.readUInt32BE(24),
    expStatSN: bhs.readUInt32BE(28),
  };
}

/** What the login needs to know about the target and the portal it arrived on. */
export interface LoginTarget {
  targetName: string;
  alias?: string;
  portalGroupTag: number;
  chap?: ChapConfig;
  offers: TargetOffers;
}

export type LoginStep =
  /** The request's text continues in the next PDU: answer with an empty response. */
  | { kind: 'more'; csg: number }
  | { kind: 'respond'; transit: boolean; csg: number; nsg: number; pairs: TextPair[]; fullFeature: boolean }
  | { kind: 'fail'; status: number; reason: string };

type Stage = typeof STAGE_SECURITY | typeof STAGE_OPERATIONAL | typeof STAGE_FULL_FEATURE;

const SECURITY_KEYS = new Set(['AuthMethod', 'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R']);
/** Login requests must not carry more text than this in total (several PDUs with C=1 included). */
const MAX_LOGIN_TEXT = 64 * 1024;

export class LoginNegotiation {
  stage: Stage | undefined;
  readonly params: NegotiatedParams;
  /** Fields of the first request: ISID, TSIH and CID stay fixed for the whole login. */
  first: LoginRequestFields | undefined;
  private authMethod: 'None' | 'CHAP' | undefined;
  private chap: ChapAuthenticator | undefined;
  private responded = false;
  private declaredOperational = false;
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(private readonly target: LoginTarget) {
    this.params = rfcDefaults();
    this.params.targetMaxRecvDataSegmentLength = target.offers.maxRecvDataSegmentLength;
  }

  private fail(status: number, reason: string): LoginStep {
    return { kind: 'fail', status, reason };
  }

  /** Whether this login (as far as known) must authenticate with CHAP. */
  private authRequired(): boolean {
    return this.params.sessionType === 'Normal' && chapRequired(this.target.chap, this.params.initiatorName);
  }

  private authenticated(): boolean {
    if (this.authMethod === 'CHAP') return this.chap?.finished === true;
    return !this.authRequired();
  }

  step(req: LoginRequestFields, data: Buffer): LoginStep {
    if (req.versionMin > 0x00 || req.versionMax < 0x00)
      return this.fail(LOGIN_UNSUPPORTED_VERSION, `versions ${req.versionMin}..${req.versionMax} do not include 0`);
    if (!this.first) {
      this.first = req;
      if (req.csg !== STAGE_SECURITY && req.csg !== STAGE_OPERATIONAL)
        return this.fail(LOGIN_INITIATOR_ERROR, `the first login request is in stage ${req.csg}`);
      this.stage = req.csg as Stage;
    } else {
      const f = this.first;
      if (!req.isid.equals(f.isid) || req.tsih !== f.tsih || req.cid !== f.cid)
        return this.fail(LOGIN_INITIATOR_ERROR, 'ISID, TSIH or CID changed during login');
    }
    if (req.csg !== this.stage) return this.fail(LOGIN_INITIATOR_ERROR, `login request for stage ${req.csg} while in stage ${this.stage}`);
    if (req.transit && req.cont) return this.fail(LOGIN_INITIATOR_ERROR, 'both T and C bits set');
    if (req.transit && (req.nsg <= req.csg || (req.nsg !== STAGE_OPERATIONAL && req.nsg !== STAGE_FULL_FEATURE)))
      return this.fail(LOGIN_INITIATOR_ERROR, `cannot move from stage ${req.csg} to ${req.nsg}`);

    this.pendingLength += data.length;
    if (this.pendingLength > MAX_LOGIN_TEXT) return this.fail(LOGIN_INITIATOR_ERROR, 'login text too long');
    this.pending.push(Buffer.from(data));
    if (req.cont) return { kind: 'more', csg: req.csg };
    const text = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLength = 0;

    const parsed = parseText(text);
    if (!parsed.ok) return this.fail(LOGIN_INITIATOR_ERROR, parsed.error);
    const keys = new Map<string, string>();
    for (const [k, v] of parsed.pairs) {
      if (keys.has(k)) return this.fail(LOGIN_INITIATOR_ERROR, `key ${k} sent twice`);
      keys.set(k, v);
    }

    const firstResponse = !this.responded;
    this.responded = true;
    const pairs: TextPair[] = [];

    // Declaratives first: SessionType decides what the other keys mean.
    const outcome = negotiate(
      parsed.pairs,
      this.params,
      { phase: 'login', sessionType: this.params.sessionType, leading: true, offers: this.target.offers },
      (k) => SECURITY_KEYS.has(k) || !isDeclarative(k),
    );
    if (outcome.error) return this.fail(LOGIN_INITIATOR_ERROR, outcome.error);
    pairs.push(...outcome.responses);

    if (firstResponse) {
      if (this.params.initiatorName === undefined) return this.fail(LOGIN_MISSING_PARAMETER, 'InitiatorName is missing');
      if (this.params.sessionType === 'Normal') {
        const tn = this.params.targetName;
        if (tn === undefined) return this.fail(LOGIN_MISSING_PARAMETER, 'TargetName is missing');
        if (tn.toLowerCase() !== this.target.targetName.toLowerCase())
          return this.fail(LOGIN_TARGET_NOT_FOUND, `target ${tn.slice(0, 223)} does not exist here`);
        if (this.target.alias) pairs.push(['TargetAlias', this.target.alias]);
      }
      pairs.push(['TargetPortalGroupTag', String(this.target.portalGroupTag)]);
      if (this.authRequired() && req.csg !== STAGE_SECURITY)
        return this.fail(LOGIN_AUTHENTICATION_FAILURE, 'this target requires CHAP and the login skipped the security stage');
    }

    // Security keys.
    const securityKeys = [...keys.keys()].filter((k) => SECURITY_KEYS.has(k));
    if (securityKeys.length > 0 && req.csg !== STAGE_SECURITY)
      return this.fail(LOGIN_INITIATOR_ERROR, `security key ${securityKeys[0]} in the operational stage`);
    if (req.csg === STAGE_SECURITY) {
      const r = this.security(keys, pairs);
      if (r) return r;
    }

    // Operational keys (accepted in the security stage too, as many initiators send them early).
    const op = negotiate(
      parsed.pairs,
      this.params,
      { phase: 'login', sessionType: this.params.sessionType, leading: true, offers: this.target.offers },
      (k) => SECURITY_KEYS.has(k) || isDeclarative(k),
    );
    if (op.error) return this.fail(LOGIN_INITIATOR_ERROR, op.error);
    pairs.push(...op.responses);

    let transit = false;
    let nsg = 0;
    if (req.transit) {
      if (req.csg === STAGE_SECURITY && !this.authenticated()) {
        // Stay in the security stage until CHAP is through (T=0 in the answer).
        if (this.authRequired() && this.authMethod === undefined)
          return this.fail(LOGIN_AUTHENTICATION_FAILURE, 'this target requires CHAP and the initiator did not offer it');
      } else {
        transit = true;
        nsg = req.nsg;
      }
    }
    if (!this.declaredOperational && (req.csg === STAGE_OPERATIONAL || (transit && nsg === STAGE_FULL_FEATURE))) {
      this.declaredOperational = true;
      pairs.push(...targetDeclarations(this.params));
    }
    if (transit) this.stage = nsg as Stage;
    return { kind: 'respond', transit, csg: req.csg, nsg, pairs, fullFeature: transit && nsg === STAGE_FULL_FEATURE };
  }

  private security(keys: Map<string, string>, pairs: TextPair[]): LoginStep | undefined {
    const am = keys.get('AuthMethod');
    if (am !== undefined) {
      if (this.authMethod !== undefined) return this.fail(LOGIN_INITIATOR_ERROR, 'AuthMethod negotiated twice');
      const offered = am.split(',');
      const required = this.authRequired();
      const canChap = this.target.chap !== undefined && new ChapAuthenticator(this.target.chap, this.params.initiatorName).authorized;
      let pick: 'None' | 'CHAP' | undefined;
      for (const m of offered) {
        if (m === 'None' && !required) {
          pick = 'None';
          break;
        }
        if (m === 'CHAP' && (required || canChap)) {
          pick = 'CHAP';
          break;
        }
      }
      if (!pick) {
        if (required) return this.fail(LOGIN_AUTHENTICATION_FAILURE, `this target requires CHAP; the initiator offered AuthMethod=${am.slice(0, 64)}`);
        pairs.push(['AuthMethod', 'Reject']);
        return this.fail(LOGIN_AUTHENTICATION_FAILURE, `no acceptable AuthMethod in ${am.slice(0, 64)}`);
      }
      this.authMethod = pick;
      pairs.push(['AuthMethod', pick]);
      if (pick === 'CHAP') {
        const chap = new ChapAuthenticator(this.target.chap ?? {}, this.params.initiatorName);
        if (!chap.authorized) return this.fail(LOGIN_AUTHORIZATION_FAILURE, `initiator ${this.params.initiatorName} has no CHAP credentials on this target`);
        this.chap = chap;
      }
    }
    const chapKeys = ['CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R'].filter((k) => keys.has(k));
    if (chapKeys.length > 0) {
      if (!this.chap) return this.fail(LOGIN_AUTHENTICATION_FAILURE, `${chapKeys[0]} without AuthMethod=CHAP`);
      const r = this.chap.step(keys);
      if (r.kind === 'fail') return this.fail(r.status === 'authorization' ? LOGIN_AUTHORIZATION_FAILURE : LOGIN_AUTHENTICATION_FAILURE, r.reason);
      pairs.push(...r.pairs);
    }
    return undefined;
  }
}

function isDeclarative(key: string): boolean {
  return (
    key === 'InitiatorName' ||
    key === 'TargetName' ||
    key === 'SessionType' ||
    key === 'InitiatorAlias' ||
    key === 'TargetAlias' ||
    key === 'TargetAddress' ||
    key === 'TargetPortalGroupTag' ||
    key === 'MaxRecvDataSegmentLength'
  );
}
