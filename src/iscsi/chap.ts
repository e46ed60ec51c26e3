// CHAP authentication in the iSCSI security stage (RFC 7143 12.1.3, RFC 1994),
// with MD5 (CHAP_A=5) as the algorithm. The target challenges the initiator
// (one-way CHAP) and, when the initiator sends its own CHAP_I/CHAP_C, answers
// that challenge with the mutual credentials (mutual CHAP).
//
// Credentials: a secret per initiator (looked up by InitiatorName; any CHAP_N
// is accepted with it, since the InitiatorName already names who logs in), or
// one user/secret for the target as a whole.
import crypto from 'node:crypto';
import type { TextPair } from './text.js';

export interface ChapConfig {
  targetUser?: string;
  targetSecret?: string;
  /** InitiatorName (IQN) → that initiator's secret (any CHAP_N), or its user name and secret. */
  initiators?: Record<string, string | { user?: string; secret: string }>;
  /**
   * Initiators without credentials of their own (and no target-wide secret) log in
   * without CHAP. Off: once any CHAP credentials exist, every normal session must
   * authenticate, and an unlisted initiator is refused.
   */
  unlistedMaySkip?: boolean;
  /** Sent as CHAP_N/CHAP_R when the initiator authenticates the target (mutual CHAP). */
  mutualUser?: string;
  mutualSecret?: string;
}

export const CHAP_MD5 = 5;
/** Longest challenge accepted from an initiator (RFC 7143 12.1.3 caps CHAP_C at 1024 bytes). */
const MAX_CHALLENGE = 1024;
const CHALLENGE_LENGTH = 16;

/** Whether a normal session of this initiator (if known yet) must authenticate. */
export function chapRequired(cfg: ChapConfig | undefined, initiatorName?: string): boolean {
  if (!cfg) return false;
  if (cfg.targetSecret) return true;
  if (initiatorName !== undefined && cfg.initiators?.[initiatorName] !== undefined) return true;
  if (cfg.unlistedMaySkip) return false;
  return Object.keys(cfg.initiators ?? {}).length > 0;
}

/** Decodes a CHAP binary value: 0x followed by hex digits, or 0b followed by base64 (RFC 7143 6.1). */
export function decodeBinary(v: string): Buffer | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) {
    const hex = v.slice(2);
    return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  }
  if (/^0[bB][A-Za-z0-9+/]+={0,2}$/.test(v)) return Buffer.from(v.slice(2), 'base64');
  return undefined;
}

export function chapResponse(id: number, secret: string | Buffer, challenge: Buffer): Buffer {
  return crypto
    .createHash('md5')
    .update(Buffer.from([id & 0xff]))
    .update(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret)
    .update(challenge)
    .digest();
}

export type ChapOutcome =
  { kind: 'continue'; pairs: TextPair[] } | { kind: 'done'; pairs: TextPair[] } | { kind: 'fail'; status: 'authentication' | 'authorization'; reason: string };

type ChapState = 'await-algorithm' | 'await-response' | 'done';

export class ChapAuthenticator {
  private state: ChapState = 'await-algorithm';
  private id = 0;
  private challenge = Buffer.alloc(0);
  private readonly cred: { user?: string; secret: string } | undefined;

  constructor(
    private readonly cfg: ChapConfig,
    initiatorName: string | undefined,
  ) {
    const perInitiator = initiatorName !== undefined ? cfg.initiators?.[initiatorName] : undefined;
    if (typeof perInitiator === 'string') this.cred = { secret: perInitiator };
    else if (perInitiator !== undefined) this.cred = perInitiator;
    else if (cfg.targetSecret) this.cred = { user: cfg.targetUser, secret: cfg.targetSecret };
  }

  /** There are credentials this initiator can authenticate with. */
  get authorized(): boolean {
    return this.cred !== undefined;
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  /** Handles the CHAP_* keys of one login request. */
  step(keys: Map<string, string>): ChapOutcome {
    switch (this.state) {
      case 'await-algorithm': {
        const a = keys.get('CHAP_A');
        if (a === undefined) return { kind: 'continue', pairs: [] };
        const algs = a.split(',');
        if (!algs.some((x) => x === String(CHAP_MD5)))
          return { kind: 'fail', status: 'authentication', reason: `no supported CHAP algorithm in CHAP_A=${a.slice(0, 64)} (Kura supports 5, MD5)` };
        this.id = crypto.randomInt(0, 256);
        this.challenge = crypto.randomBytes(CHALLENGE_LENGTH);
        this.state = 'await-response';
        return {
          kind: 'continue',
          pairs: [
            ['CHAP_A', String(CHAP_MD5)],
            ['CHAP_I', String(this.id)],
            ['CHAP_C', `0x${this.challenge.toString('hex')}`],
          ],
        };
      }
      case 'await-response': {
        const n = keys.get('CHAP_N');
        const r = keys.get('CHAP_R');
        if (n === undefined || r === undefined) return { kind: 'fail', status: 'authentication', reason: 'CHAP_N and CHAP_R were expected' };
        if (!this.cred) return { kind: 'fail', status: 'authorization', reason: 'no CHAP credentials for this initiator' };
        if (this.cred.user !== undefined && n !== this.cred.user)
          return { kind: 'fail', status: 'authentication', reason: `unknown CHAP user ${n.slice(0, 64)}` };
        const got = decodeBinary(r);
        const want = chapResponse(this.id, this.cred.secret, this.challenge);
        if (!got || got.length !== want.length || !crypto.timingSafeEqual(got, want))
          return { kind: 'fail', status: 'authentication', reason: `wrong CHAP response from user ${n.slice(0, 64)}` };
        const pairs: TextPair[] = [];
        const ci = keys.get('CHAP_I');
        const cc = keys.get('CHAP_C');
        if (ci !== undefined || cc !== undefined) {
          // Mutual CHAP: the initiator authenticates the target.
          if (ci === undefined || cc === undefined) return { kind: 'fail', status: 'authentication', reason: 'mutual CHAP needs both CHAP_I and CHAP_C' };
          if (!this.cfg.mutualSecret)
            return { kind: 'fail', status: 'authentication', reason: 'the initiator asks for mutual CHAP but the target has no mutual credentials' };
          const id = /^[0-9]{1,3}$/.test(ci) ? Number(ci) : NaN;
          const challenge = decodeBinary(cc);
          if (!(id >= 0 && id <= 255) || !challenge || challenge.length === 0 || challenge.length > MAX_CHALLENGE)
            return { kind: 'fail', status: 'authentication', reason: 'malformed CHAP_I or CHAP_C' };
          // A reflected challenge would let an attacker use the target as an oracle (RFC 7143 12.1.3).
          if (challenge.equals(this.challenge)) return { kind: 'fail', status: 'authentication', reason: 'the initiator reflected the target challenge' };
          pairs.push(['CHAP_N', this.cfg.mutualUser ?? '']);
          pairs.push(['CHAP_R', `0x${chapResponse(id, this.cfg.mutualSecret, challenge).toString('hex')}`]);
        }
        this.state = 'done';
        return { kind: 'done', pairs };
      }
      case 'done':
        return { kind: 'done', pairs: [] };
    }
  }
}
