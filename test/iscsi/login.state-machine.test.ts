// The login state machine (RFC 7143 6.3, 11.12-11.13, 12.1.3) without a
// socket: stage transitions with the T bit, the keys declared in the first
// response, CHAP (one-way and mutual, per target and per initiator) and the
// status class/detail of each kind of failure.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { chapResponse, decodeBinary } from '../../src/iscsi/chap.js';
import type { ChapConfig } from '../../src/iscsi/chap.js';
import { LoginNegotiation } from '../../src/iscsi/login.js';
import type { LoginRequestFields, LoginStep, LoginTarget } from '../../src/iscsi/login.js';
import * as P from '../../src/iscsi/pdu.js';
import { DEFAULT_OFFERS } from '../../src/iscsi/params.js';
import { encodeText } from '../../src/iscsi/text.js';
import type { TextPair } from '../../src/iscsi/text.js';

const TARGET = 'iqn.2026-11.io.kura:unit';
const INIT = 'iqn.1994-05.com.redhat:host1';

function target(chap?: ChapConfig): LoginTarget {
  return { targetName: TARGET, alias: 'unit', portalGroupTag: 7, chap, offers: DEFAULT_OFFERS };
}

function req(csg: number, nsg: number, transit: boolean, o: Partial<LoginRequestFields> = {}): LoginRequestFields {
  return {
    transit,
    cont: false,
    csg,
    nsg,
    versionMax: 0,
    versionMin: 0,
    isid: Buffer.from('800000000001', 'hex'),
    tsih: 0,
    itt: 1,
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    ...o,
  };
}

function keys(step: LoginStep): Record<string, string> {
  assert.equal(step.kind, 'respond', JSON.stringify(step));
  return Object.fromEntries((step as Extract<LoginStep, { kind: 'respond' }>).pairs);
}

function expectFail(step: LoginStep, status: number): void {
  assert.equal(step.kind, 'fail', JSON.stringify(step));
  assert.equal((step as Extract<LoginStep, { kind: 'fail' }>).status.toString(16), status.toString(16), (step as { reason?: string }).reason);
}

const text = (pairs: TextPair[]) => encodeText(pairs);
const normal: TextPair[] = [
  ['InitiatorName', INIT],
  ['SessionType', 'Normal'],
  ['TargetName', TARGET],
];

test('no authentication: operational stage straight to full feature phase in one exchange', () => {
  const l = new LoginNegotiation(target());
  const s = l.step(req(1, 3, true), text([...normal, ['InitialR2T', 'No'], ['MaxRecvDataSegmentLength', '65536']]));
  const k = keys(s);
  assert.equal(s.kind === 'respond' && s.transit && s.nsg === 3 && s.fullFeature, true);
  assert.equal(k.TargetPortalGroupTag, '7');
  assert.equal(k.TargetAlias, 'unit');
  assert.equal(k.InitialR2T, 'No');
  assert.equal(k.MaxRecvDataSegmentLength, String(DEFAULT_OFFERS.maxRecvDataSegmentLength), 'declared whether asked or not');
  assert.equal(l.params.initiatorMaxRecvDataSegmentLength, 65536);
});

test('security stage with AuthMethod=None, then operational, then full feature', () => {
  const l = new LoginNegotiation(target());
  const s1 = l.step(req(0, 1, true), text([...normal, ['AuthMethod', 'CHAP,None']]));
  assert.equal(keys(s1).AuthMethod, 'None');
  assert.equal(s1.kind === 'respond' && s1.transit && s1.nsg, 1);
  const s2 = l.step(req(1, 3, true), text([['HeaderDigest', 'None']]));
  assert.equal(s2.kind === 'respond' && s2.fullFeature, true);
});

test('the target does not move on until the initiator sets T', () => {
  const l = new LoginNegotiation(target());
  const s1 = l.step(req(1, 3, false), text(normal));
  assert.equal(s1.kind === 'respond' && s1.transit, false);
  const s2 = l.step(req(1, 3, true), text([]));
  assert.equal(s2.kind === 'respond' && s2.fullFeature, true);
});

test('text continued over PDUs (C bit) is answered empty, then as a whole', () => {
  const l = new LoginNegotiation(target());
  const all = text([...normal, ['InitialR2T', 'No']]);
  const s1 = l.step(req(1, 3, false, { cont: true }), all.subarray(0, 20));
  assert.equal(s1.kind, 'more');
  const s2 = l.step(req(1, 3, true), all.subarray(20));
  assert.equal(keys(s2).InitialR2T, 'No');
});

test('discovery sessions need no TargetName; normal sessions need an existing one', () => {
  const d = new LoginNegotiation(target());
  const s = d.step(
    req(1, 3, true),
    text([
      ['InitiatorName', INIT],
      ['SessionType', 'Discovery'],
    ]),
  );
  assert.equal(s.kind === 'respond' && s.fullFeature, true);
  assert.equal(d.params.sessionType, 'Discovery');
  expectFail(
    new LoginNegotiation(target()).step(
      req(1, 3, true),
      text([
        ['InitiatorName', INIT],
        ['SessionType', 'Normal'],
      ]),
    ),
    P.LOGIN_MISSING_PARAMETER,
  );
  expectFail(
    new LoginNegotiation(target()).step(
      req(1, 3, true),
      text([
        ['InitiatorName', INIT],
        ['TargetName', 'iqn.2026-11.io.kura:other'],
      ]),
    ),
    P.LOGIN_TARGET_NOT_FOUND,
  );
  expectFail(new LoginNegotiation(target()).step(req(1, 3, true), text([['TargetName', TARGET]])), P.LOGIN_MISSING_PARAMETER);
});

test('the target name compares without regard to case', () => {
  const s = new LoginNegotiation(target()).step(
    req(1, 3, true),
    text([
      ['InitiatorName', INIT],
      ['TargetName', TARGET.toUpperCase().replace('IQN', 'iqn')],
    ]),
  );
  assert.equal(s.kind, 'respond');
});

test('unsupported version, bad stage transitions, changed ISID, repeated keys, bad text: initiator errors', () => {
  expectFail(new LoginNegotiation(target()).step(req(1, 3, true, { versionMin: 1, versionMax: 2 }), text(normal)), P.LOGIN_UNSUPPORTED_VERSION);
  expectFail(new LoginNegotiation(target()).step(req(3, 3, true), text(normal)), P.LOGIN_INITIATOR_ERROR);
  expectFail(new LoginNegotiation(target()).step(req(1, 2, true), text(normal)), P.LOGIN_INITIATOR_ERROR);
  expectFail(new LoginNegotiation(target()).step(req(1, 1, true), text(normal)), P.LOGIN_INITIATOR_ERROR);
  expectFail(new LoginNegotiation(target()).step(req(1, 3, true, { cont: true }), text(normal)), P.LOGIN_INITIATOR_ERROR);
  const l = new LoginNegotiation(target());
  l.step(req(1, 3, false), text(normal));
  expectFail(l.step(req(1, 3, true, { isid: Buffer.from('800000000002', 'hex') }), text([])), P.LOGIN_INITIATOR_ERROR);
  expectFail(new LoginNegotiation(target()).step(req(1, 3, true), text([...normal, ['InitialR2T', 'No'], ['InitialR2T', 'Yes']])), P.LOGIN_INITIATOR_ERROR);
  expectFail(new LoginNegotiation(target()).step(req(1, 3, true), Buffer.from('InitiatorName=x')), P.LOGIN_INITIATOR_ERROR);
  const l2 = new LoginNegotiation(target());
  l2.step(req(1, 3, false), text(normal));
  expectFail(l2.step(req(0, 1, true), text([])), P.LOGIN_INITIATOR_ERROR);
});

/** Runs a CHAP login as an initiator would; returns the last step. */
function chapLogin(
  cfg: ChapConfig,
  o: { init?: string; user: string; secret: string; mutual?: { user: string; secret: string }; alg?: string },
): { steps: LoginStep[]; mutualOk?: boolean } {
  const l = new LoginNegotiation(target(cfg));
  const steps: LoginStep[] = [];
  const s1 = l.step(
    req(0, 1, true),
    text([
      ['InitiatorName', o.init ?? INIT],
      ['SessionType', 'Normal'],
      ['TargetName', TARGET],
      ['AuthMethod', 'CHAP,None'],
    ]),
  );
  steps.push(s1);
  if (s1.kind !== 'respond') return { steps };
  assert.equal(keys(s1).AuthMethod, 'CHAP');
  assert.equal(s1.transit, false, 'no transit before authentication');
  const s2 = l.step(req(0, 1, false), text([['CHAP_A', o.alg ?? '5']]));
  steps.push(s2);
  if (s2.kind !== 'respond') return { steps };
  const k2 = keys(s2);
  assert.equal(k2.CHAP_A, '5');
  const id = Number(k2.CHAP_I);
  const challenge = decodeBinary(k2.CHAP_C!)!;
  assert.ok(challenge.length >= 16);
  const pairs: TextPair[] = [
    ['CHAP_N', o.user],
    ['CHAP_R', `0x${chapResponse(id, o.secret, challenge).toString('hex')}`],
  ];
  const myChallenge = crypto.randomBytes(16);
  if (o.mutual) pairs.push(['CHAP_I', '42'], ['CHAP_C', `0b${myChallenge.toString('base64')}`]);
  const s3 = l.step(req(0, 1, true), text(pairs));
  steps.push(s3);
  let mutualOk: boolean | undefined;
  if (o.mutual && s3.kind === 'respond') {
    const k3 = keys(s3);
    mutualOk = k3.CHAP_N === o.mutual.user && decodeBinary(k3.CHAP_R!)!.equals(chapResponse(42, o.mutual.secret, myChallenge));
  }
  if (s3.kind === 'respond') {
    assert.equal(s3.transit && s3.nsg, 1);
    steps.push(l.step(req(1, 3, true), text([])));
  }
  return { steps, mutualOk };
}

test('one-way CHAP with the target credentials succeeds; a wrong secret or user fails 02/01', () => {
  const cfg = { targetUser: 'alice', targetSecret: 'secret-of-alice' };
  const ok = chapLogin(cfg, { user: 'alice', secret: 'secret-of-alice' });
  assert.equal(ok.steps.at(-1)!.kind === 'respond' && (ok.steps.at(-1) as { fullFeature: boolean }).fullFeature, true);
  expectFail(chapLogin(cfg, { user: 'alice', secret: 'wrong' }).steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
  expectFail(chapLogin(cfg, { user: 'mallory', secret: 'secret-of-alice' }).steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
});

test('per-initiator secrets are chosen by InitiatorName; an unlisted initiator is not authorized (02/02)', () => {
  const cfg: ChapConfig = { initiators: { [INIT]: 'host1-secret-123' } };
  const ok = chapLogin(cfg, { user: 'anything', secret: 'host1-secret-123' });
  assert.equal((ok.steps.at(-1) as { fullFeature?: boolean }).fullFeature, true);
  expectFail(chapLogin(cfg, { user: 'anything', secret: 'nope' }).steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
  const other = new LoginNegotiation(target(cfg)).step(
    req(0, 1, true),
    text([
      ['InitiatorName', 'iqn.1994-05.com.redhat:stranger'],
      ['TargetName', TARGET],
      ['AuthMethod', 'CHAP'],
    ]),
  );
  expectFail(other, P.LOGIN_AUTHORIZATION_FAILURE);
});

test("mutual CHAP: the target answers the initiator's challenge with the mutual credentials", () => {
  const cfg = { targetUser: 'alice', targetSecret: 'secret-of-alice', mutualUser: 'array', mutualSecret: 'secret-of-array' };
  const r = chapLogin(cfg, { user: 'alice', secret: 'secret-of-alice', mutual: { user: 'array', secret: 'secret-of-array' } });
  assert.equal(r.mutualOk, true);
  const noMutual = chapLogin(
    { targetUser: 'alice', targetSecret: 'secret-of-alice' },
    { user: 'alice', secret: 'secret-of-alice', mutual: { user: 'x', secret: 'y' } },
  );
  expectFail(noMutual.steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
});

test('CHAP_A without MD5 (e.g. 56, or empty) fails with authentication failure; a list with 5 picks 5', () => {
  const cfg = { targetUser: 'alice', targetSecret: 'secret-of-alice' };
  expectFail(chapLogin(cfg, { user: 'alice', secret: 'secret-of-alice', alg: '56' }).steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
  expectFail(chapLogin(cfg, { user: 'alice', secret: 'secret-of-alice', alg: '' }).steps.at(-1)!, P.LOGIN_AUTHENTICATION_FAILURE);
  const ok = chapLogin(cfg, { user: 'alice', secret: 'secret-of-alice', alg: '7,6,5' });
  assert.equal((ok.steps.at(-1) as { fullFeature?: boolean }).fullFeature, true);
});

test('when CHAP is required: AuthMethod=None, or skipping the security stage, fails 02/01', () => {
  const cfg = { targetUser: 'alice', targetSecret: 'secret-of-alice' };
  expectFail(new LoginNegotiation(target(cfg)).step(req(0, 1, true), text([...normal, ['AuthMethod', 'None']])), P.LOGIN_AUTHENTICATION_FAILURE);
  expectFail(new LoginNegotiation(target(cfg)).step(req(1, 3, true), text(normal)), P.LOGIN_AUTHENTICATION_FAILURE);
  // Discovery sessions are not authenticated.
  const d = new LoginNegotiation(target(cfg)).step(
    req(1, 3, true),
    text([
      ['InitiatorName', INIT],
      ['SessionType', 'Discovery'],
    ]),
  );
  assert.equal(d.kind, 'respond');
});

test('a reflected challenge is refused', () => {
  const cfg = { targetUser: 'alice', targetSecret: 's1-long-enough', mutualUser: 'array', mutualSecret: 's2-long-enough' };
  const l = new LoginNegotiation(target(cfg));
  l.step(req(0, 1, true), text([...normal, ['AuthMethod', 'CHAP']]));
  const k = keys(l.step(req(0, 1, false), text([['CHAP_A', '5']])));
  const r = chapResponse(Number(k.CHAP_I), 's1-long-enough', decodeBinary(k.CHAP_C!)!);
  const s = l.step(
    req(0, 1, true),
    text([
      ['CHAP_N', 'alice'],
      ['CHAP_R', `0x${r.toString('hex')}`],
      ['CHAP_I', k.CHAP_I!],
      ['CHAP_C', k.CHAP_C!],
    ]),
  );
  expectFail(s, P.LOGIN_AUTHENTICATION_FAILURE);
});
