// Key negotiation (RFC 7143 6.2, 13): result functions (Minimum, Maximum,
// AND, OR, list order), ranges, defaults, declaratives, and the answers for
// keys that are unknown (NotUnderstood), do not apply (Irrelevant) or carry
// unacceptable values (Reject).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_OFFERS, KEYS, isValidIscsiName, negotiate, parseNumber, rfcDefaults } from '../../src/iscsi/params.js';
import type { NegotiationContext, TargetOffers } from '../../src/iscsi/params.js';
import type { TextPair } from '../../src/iscsi/text.js';

const login: NegotiationContext = { phase: 'login', sessionType: 'Normal', leading: true, offers: DEFAULT_OFFERS };

function run(pairs: TextPair[], ctx: NegotiationContext = login, offers?: Partial<TargetOffers>) {
  const params = rfcDefaults();
  const out = negotiate(pairs, params, offers ? { ...ctx, offers: { ...ctx.offers, ...offers } } : ctx);
  return { params, answers: Object.fromEntries(out.responses), error: out.error };
}

test('RFC 7143 defaults hold for keys never negotiated', () => {
  const d = rfcDefaults();
  assert.equal(d.initialR2T, true);
  assert.equal(d.immediateData, true);
  assert.equal(d.maxBurstLength, 262144);
  assert.equal(d.firstBurstLength, 65536);
  assert.equal(d.maxOutstandingR2T, 1);
  assert.equal(d.defaultTime2Wait, 2);
  assert.equal(d.defaultTime2Retain, 20);
  assert.equal(d.errorRecoveryLevel, 0);
  assert.equal(d.initiatorMaxRecvDataSegmentLength, 8192);
  assert.equal(d.headerDigest, false);
  assert.equal(d.dataDigest, false);
});

test('Kura offers what lets an initiator stream, each value inside its RFC range', () => {
  const o = DEFAULT_OFFERS;
  assert.equal(o.initialR2T, false);
  assert.equal(o.immediateData, true);
  assert.ok(o.firstBurstLength >= 256 * 1024);
  assert.ok(o.maxBurstLength >= 16 * 1024 * 1024 - 1024 && o.maxBurstLength <= 16777215);
  assert.ok(o.maxRecvDataSegmentLength >= 256 * 1024 && o.maxRecvDataSegmentLength <= 16777215);
  assert.equal(o.errorRecoveryLevel, 0);
  assert.equal(o.maxConnections, 1);
});

test('Minimum keys take the smaller value; Maximum keys the larger', () => {
  const r = run([
    ['MaxBurstLength', '262144'],
    ['FirstBurstLength', '16777215'],
    ['MaxOutstandingR2T', '64'],
    ['DefaultTime2Wait', '0'],
    ['DefaultTime2Retain', '20'],
    ['MaxConnections', '8'],
    ['ErrorRecoveryLevel', '2'],
  ]);
  assert.equal(r.answers.MaxBurstLength, '262144');
  assert.equal(r.params.maxBurstLength, 262144);
  // FirstBurstLength: min(16777215, 262144 offered by Kura) and never above MaxBurstLength.
  assert.equal(r.answers.FirstBurstLength, String(DEFAULT_OFFERS.firstBurstLength));
  assert.ok(r.params.firstBurstLength <= r.params.maxBurstLength);
  assert.equal(r.answers.MaxOutstandingR2T, String(DEFAULT_OFFERS.maxOutstandingR2T));
  assert.equal(r.answers.DefaultTime2Wait, '2', 'Maximum: max(0, 2)');
  assert.equal(r.answers.DefaultTime2Retain, '0', 'Minimum: min(20, 0)');
  assert.equal(r.answers.MaxConnections, '1');
  assert.equal(r.answers.ErrorRecoveryLevel, '0');
});

test('FirstBurstLength is cut down to MaxBurstLength when the initiator offers less burst', () => {
  const r = run([
    ['MaxBurstLength', '8192'],
    ['FirstBurstLength', '65536'],
  ]);
  assert.equal(r.params.maxBurstLength, 8192);
  assert.equal(r.params.firstBurstLength, 8192);
});

test('Boolean keys: InitialR2T is OR, ImmediateData is AND; DataPDUInOrder/DataSequenceInOrder stay Yes', () => {
  assert.equal(run([['InitialR2T', 'No']]).answers.InitialR2T, 'No');
  assert.equal(run([['InitialR2T', 'Yes']]).answers.InitialR2T, 'Yes');
  assert.equal(run([['ImmediateData', 'Yes']]).answers.ImmediateData, 'Yes');
  assert.equal(run([['ImmediateData', 'No']]).answers.ImmediateData, 'No');
  assert.equal(run([['ImmediateData', 'Yes']], login, { immediateData: false }).answers.ImmediateData, 'No');
  const r = run([
    ['DataPDUInOrder', 'No'],
    ['DataSequenceInOrder', 'No'],
  ]);
  assert.equal(r.answers.DataPDUInOrder, 'Yes');
  assert.equal(r.answers.DataSequenceInOrder, 'Yes');
  assert.equal(r.params.dataPDUInOrder, true);
});

test("list keys: the first value in the initiator's order that Kura supports", () => {
  assert.equal(run([['HeaderDigest', 'CRC32C,None']]).answers.HeaderDigest, 'CRC32C');
  assert.equal(run([['HeaderDigest', 'None,CRC32C']]).answers.HeaderDigest, 'None');
  const r = run([['DataDigest', 'FancyHash,CRC32C']]);
  assert.equal(r.answers.DataDigest, 'CRC32C');
  assert.equal(r.params.dataDigest, true);
  assert.equal(run([['HeaderDigest', 'MD5']]).answers.HeaderDigest, 'Reject');
});

test('values out of range or malformed are answered Reject and leave the default', () => {
  const r = run([
    ['MaxBurstLength', '511'],
    ['FirstBurstLength', '16777216'],
    ['MaxOutstandingR2T', '0'],
    ['DefaultTime2Wait', '3601'],
    ['ErrorRecoveryLevel', 'two'],
    ['InitialR2T', 'yes'],
  ]);
  for (const k of ['MaxBurstLength', 'FirstBurstLength', 'MaxOutstandingR2T', 'DefaultTime2Wait', 'ErrorRecoveryLevel', 'InitialR2T'])
    assert.equal(r.answers[k], 'Reject', k);
  assert.equal(r.params.maxBurstLength, 262144);
  assert.equal(r.params.initialR2T, true);
});

test('numbers may be hex (0x...)', () => {
  assert.equal(parseNumber('0x2000'), 8192);
  assert.equal(parseNumber('8192'), 8192);
  assert.equal(parseNumber('-1'), undefined);
  assert.equal(parseNumber('12abc'), undefined);
  assert.equal(run([['MaxBurstLength', '0x10000']]).answers.MaxBurstLength, '65536');
});

test('unknown and vendor keys are NotUnderstood; target-only keys from an initiator are Irrelevant', () => {
  const r = run([
    ['X-com.example.Whatever', '1'],
    ['NoSuchKey', 'x'],
    ['TargetPortalGroupTag', '1'],
    ['TargetAddress', '1.2.3.4:3260,1'],
  ]);
  assert.equal(r.answers['X-com.example.Whatever'], 'NotUnderstood');
  assert.equal(r.answers.NoSuchKey, 'NotUnderstood');
  assert.equal(r.answers.TargetPortalGroupTag, 'Irrelevant');
  assert.equal(r.answers.TargetAddress, 'Irrelevant');
});

test('normal-session keys are Irrelevant in a discovery session', () => {
  const r = run(
    [
      ['InitialR2T', 'No'],
      ['ImmediateData', 'Yes'],
      ['MaxBurstLength', '65536'],
      ['FirstBurstLength', '65536'],
      ['MaxOutstandingR2T', '1'],
      ['DataPDUInOrder', 'Yes'],
      ['DataSequenceInOrder', 'Yes'],
      ['HeaderDigest', 'None'],
    ],
    { ...login, sessionType: 'Discovery' },
  );
  for (const k of ['InitialR2T', 'ImmediateData', 'MaxBurstLength', 'FirstBurstLength', 'MaxOutstandingR2T', 'DataPDUInOrder', 'DataSequenceInOrder'])
    assert.equal(r.answers[k], 'Irrelevant', k);
  assert.equal(r.answers.HeaderDigest, 'None');
});

test('obsolete marker keys get No / Irrelevant; RDMAExtensions No', () => {
  const r = run([
    ['IFMarker', 'Yes'],
    ['OFMarker', 'No'],
    ['IFMarkInt', '2048~8192'],
    ['RDMAExtensions', 'Yes'],
  ]);
  assert.equal(r.answers.IFMarker, 'No');
  assert.equal(r.answers.OFMarker, 'No');
  assert.equal(r.answers.IFMarkInt, 'Irrelevant');
  assert.equal(r.answers.RDMAExtensions, 'No');
});

test('declaratives are recorded and not answered; MaxRecvDataSegmentLength is checked', () => {
  const r = run([
    ['InitiatorName', 'iqn.1994-05.com.redhat:host1'],
    ['InitiatorAlias', 'host one'],
    ['MaxRecvDataSegmentLength', '65536'],
  ]);
  assert.deepEqual(r.answers, {});
  assert.equal(r.params.initiatorName, 'iqn.1994-05.com.redhat:host1');
  assert.equal(r.params.initiatorMaxRecvDataSegmentLength, 65536);
  assert.match(run([['MaxRecvDataSegmentLength', '100']]).error ?? '', /below 512/);
  assert.equal(run([['MaxRecvDataSegmentLength', '99999999']]).params.initiatorMaxRecvDataSegmentLength, 16777215);
  assert.match(run([['SessionType', 'Weird']]).error ?? '', /SessionType/);
  assert.match(run([['InitiatorName', 'not-a-name']]).error ?? '', /not a valid iSCSI name/);
});

test('in full feature phase, login-only keys are Rejected and MaxRecvDataSegmentLength may change', () => {
  const ffp: NegotiationContext = { ...login, phase: 'ffp' };
  const r = run(
    [
      ['MaxBurstLength', '65536'],
      ['HeaderDigest', 'CRC32C'],
      ['InitiatorName', 'iqn.2000-01.com.example:x'],
      ['MaxRecvDataSegmentLength', '16384'],
    ],
    ffp,
  );
  assert.equal(r.answers.MaxBurstLength, 'Reject');
  assert.equal(r.answers.HeaderDigest, 'Reject');
  assert.equal(r.answers.InitiatorName, 'Reject');
  assert.equal(r.params.initiatorMaxRecvDataSegmentLength, 16384);
  assert.equal(r.params.headerDigest, false);
});

test('the key table covers every key of RFC 7143 section 13', () => {
  for (const k of [
    'HeaderDigest',
    'DataDigest',
    'MaxConnections',
    'SendTargets',
    'TargetName',
    'InitiatorName',
    'TargetAlias',
    'InitiatorAlias',
    'TargetAddress',
    'TargetPortalGroupTag',
    'InitialR2T',
    'ImmediateData',
    'MaxRecvDataSegmentLength',
    'MaxBurstLength',
    'FirstBurstLength',
    'DefaultTime2Wait',
    'DefaultTime2Retain',
    'MaxOutstandingR2T',
    'DataPDUInOrder',
    'DataSequenceInOrder',
    'ErrorRecoveryLevel',
    'SessionType',
    'AuthMethod',
    'TaskReporting',
    'iSCSIProtocolLevel',
  ]) {
    assert.ok(KEYS[k], k);
  }
});

test('iSCSI names: iqn., eui. and naa. forms', () => {
  for (const ok of [
    'iqn.2026-11.io.kura:array1',
    'iqn.1994-05.com.redhat:5a1b2c',
    'eui.02004567A425678D',
    'naa.52004567BA64678D',
    'naa.62004567BA64678D0123456789ABCDEF',
  ])
    assert.ok(isValidIscsiName(ok), ok);
  for (const bad of ['', 'iqn', 'iqn.26-11.io.kura', 'eui.123', 'naa.xyz', 'All', 'A', 'target', `iqn.2026-11.${'a'.repeat(230)}`])
    assert.ok(!isValidIscsiName(bad), bad);
});
