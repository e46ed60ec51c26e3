// The seed's commands and views through the CLI (VVM, ../shared/seeds/
// virtual-volume-manual.txt, L = its line numbers): snapshot access modes
// (iSMsc_chgmod), the iSMsc_query and iSMrc_query views, and the iSMview LD
// views; data checked with real NBD clients.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { run } from '../helpers/tools.js';

let srv: TestServer;
const { run: kura, ok, json } = kuraCli(() => ({ env: srv.env, timeoutMs: 120_000 }));
const MiB = 2 ** 20;

before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
  for (const l of ['DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager']) json('license', 'unlock', l);
  json('pool', 'create', 'p', '--size', '6GiB', '--raid', '0', '--pds', '1');
  json('ld', 'create', 'ssv', '--pool', 'p', '--attr', 'ssv');
});
after(async () => {
  await srv.cleanup();
});

function tool(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('kura snapshot set-access: qemu-io writes to an rw snapshot over NBD, the base keeps its data; ro refuses', () => {
  json('ld', 'create', 'acc', '--pool', 'p', '--size', '16MiB');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-acc-'));
  try {
    const img = path.join(tmp, 'a.img');
    const d1 = crypto.randomBytes(4 * MiB);
    fs.writeFileSync(img, Buffer.concat([d1, Buffer.alloc(12 * MiB)]));
    tool('nbdcopy', [img, srv.nbdUri('acc')]);
    json('snapshot', 'create', 'acc', '--name', 's1');
    const refused = run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 1M', srv.nbdUri('acc@s1')]);
    assert.ok(
      refused.status !== 0 || /fail|error|read-only/i.test(refused.stdout + refused.stderr),
      `a read-only snapshot takes no write: ${refused.stdout}${refused.stderr}`,
    );
    assert.match(ok('snapshot', 'set-access', 'acc', 's1', '--access', 'rw'), /^Snapshot acc@s1 is read\/write \(rw\)\.$/m);
    const w = tool('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 1M', srv.nbdUri('acc@s1')]);
    assert.match(w, /wrote 1048576\/1048576 bytes/);
    const snapOut = path.join(tmp, 'snap.img');
    const baseOut = path.join(tmp, 'base.img');
    tool('nbdcopy', [srv.nbdUri('acc@s1'), snapOut]);
    tool('nbdcopy', [srv.nbdUri('acc'), baseOut]);
    const snap = fs.readFileSync(snapOut);
    assert.ok(snap.subarray(0, MiB).equals(Buffer.alloc(MiB, 0x5a)), 'the snapshot took the write');
    assert.ok(snap.subarray(MiB, 4 * MiB).equals(d1.subarray(MiB)), 'the rest of the snapshot is the old data');
    assert.ok(
      fs
        .readFileSync(baseOut)
        .subarray(0, 4 * MiB)
        .equals(d1),
      'the base never changed',
    );
    assert.deepEqual(
      json<Array<{ access: string }>>('snapshot', 'list', 'acc').map((s) => s.access),
      ['rw'],
    );
    assert.equal(json<{ accessMode: string }>('ld', 'show', 'acc@s1').accessMode, 'ReadWrite');
    ok('snapshot', 'set-access', 'acc', 's1', '--access', 'ro');
    const again = run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 4k', srv.nbdUri('acc@s1')]);
    assert.ok(
      again.status !== 0 || /fail|error|read-only/i.test(again.stdout + again.stderr),
      `a read-only snapshot takes no write: ${again.stdout}${again.stderr}`,
    );
    const bad = kura('snapshot', 'set-access', 'acc', 's1', '--access', 'nr');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^KURA-E2602: /m);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("kura pair show prints iSMrc_query's layout (L1724-1739); --json keeps its keys; a snapshot pairs as the MV", () => {
  json('ld', 'create', 'pm', '--pool', 'p', '--size', '8MiB');
  json('ld', 'create', 'pr', '--pool', 'p', '--size', '8MiB');
  json('snapshot', 'create', 'pm', '--name', 'b1');
  json('pair', 'create', 'pm@b1', 'pr');
  json('pair', 'replicate', 'pm@b1', 'pr', '--wait');
  json('pair', 'separate', 'pm@b1', 'pr', '--wait');
  const human = ok('pair', 'show', 'pm@b1', 'pr');
  const expected = [
    /^MV: Special File {7}-$/m,
    /^ {5}LD Name {11}pm@b1$/m,
    /^ {5}Type {14}-$/m,
    /^RV: Special File {7}-$/m,
    /^ {5}LD Name {11}pr$/m,
    /^Activity State {9}separate$/m,
    /^Sync State {13}separated$/m,
    /^Copy Control State {5}-$/m,
    /^Separate Start Time {4}\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/m,
    /^Separate End Time {6}\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/m,
    /^Separate Diff {10}0KB$/m,
    /^Copy Diff {14}0KB$/m,
    /^RV Access {14}rw$/m,
    /^Previous Active {8}rpl\/sync$/m,
  ];
  for (const re of expected) assert.match(human, re);
  const j = json<Record<string, unknown>>('pair', 'show', 'pm@b1', 'pr');
  assert.equal(j['sync'], 'sep/end', '--json keeps the state codes');
  assert.equal(typeof j['separateStart'], 'string');
  assert.ok(!Number.isNaN(Date.parse(j['separateStart'] as string)), '--json keeps ISO times');
  assert.equal(j['separateDiffBytes'], 0);
});

test("kura snapshot list prints iSMsc_query's BV and SV blocks (L1800-1809): relative generation, snap/active, unlink, beside the absolute generation", () => {
  json('ld', 'create', 'st', '--pool', 'p', '--size', '8MiB');
  for (const n of ['a', 'b', 'c']) json('snapshot', 'create', 'st', '--name', n);
  ok('snapshot', 'delete', 'st', 'a');
  json('snapshot', 'create', 'st', '--name', 'd');
  const human = ok('snapshot', 'list', 'st');
  for (const re of [
    /^BV Information$/m,
    /^ {3}LD Name {5}: st$/m,
    /^ {3}Type {8}: -$/m,
    /^ {3}Special File: -$/m,
    /^ {3}State {7}: normal$/m,
    /^ {3}Reserve Area: verified$/m,
    /^SV Information$/m,
    /^ {3}-:st@b \( {2}-3\) snap\/active {3}\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] unlink$/m,
    /^ {3}-:st@d \( {2}-1\) snap\/active {3}\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\] unlink$/m,
  ]) {
    assert.match(human, re);
  }
  const list = json<Array<{ name: string; generation: number; relativeGeneration: number; state: string; status: string; link: string }>>(
    'snapshot',
    'list',
    'st',
  );
  assert.deepEqual(
    list.map((s) => [s.name, s.generation, s.relativeGeneration, s.state, s.status, s.link]),
    [
      ['b', 2, -3, 'active', 'snap/active', 'unlink'],
      ['c', 3, -2, 'active', 'snap/active', 'unlink'],
      ['d', 4, -1, 'active', 'snap/active', 'unlink'],
    ],
  );
});

test("kura ld list and ld show print iSMview -l and -ln (L705-757): the seed's columns and lines, RAID1/10, PD list 00-0000,0001; --json keeps its keys and adds the new ones", () => {
  json('pool', 'create', 'm', '--size', '1GiB', '--raid', '1', '--pds', '2');
  const r = json<Record<string, unknown>>('ld', 'create', 'vr', '--pool', 'm', '--size', '8MiB');
  const n = (r['number'] as number).toString(16).toUpperCase().padStart(4, '0');

  const list = ok('ld', 'list').split('\n');
  const header = list[0]!;
  assert.match(header, /^LDN\(h\) {2}OS Type {2}LD Name +PD Type {2}Conf\.Chg {2}LD State {2}Threshold {2}VMware Type$/);
  const row = list.find((x) => x.startsWith(`${n} `));
  assert.ok(row, `ld list has a row for ${n}: ${list.join('\n')}`);
  assert.match(row, new RegExp(`^${n} +vr +FILE +ready +--- +---$`));
  // Every value stands under its heading, as in the seed's table.
  assert.equal(row.indexOf('vr'), header.indexOf('LD Name'));
  assert.equal(row.indexOf('FILE'), header.indexOf('PD Type'));
  assert.equal(row.indexOf('ready'), header.indexOf('LD State'));
  assert.equal(row.lastIndexOf('---'), header.indexOf('VMware Type'));

  const show = ok('ld', 'show', 'vr');
  for (const re of [
    /^OS Type +: $/m,
    /^RaidType +: RAID1\/10$/m,
    /^PD Type +: FILE$/m,
    /^Group +: Preserve$/m,
    /^PD List\(h\) +: 00-0000,0001$/m,
    /^Read Cache Mode +: on$/m,
    /^Write Cache Mode +: on$/m,
    /^VMware Type +: ---$/m,
    /^Bound PE List\(h\) +: ---$/m,
    /^Bound VVOL List\(h\) +: ---$/m,
  ]) {
    assert.match(show, re);
  }
  // The seed's order of lines (Kura's own lines may stand between them).
  const keys = show.split('\n').map((x) => x.split(' : ')[0]!.trim());
  const seedOrder = [
    'LDN(h)',
    'OS Type',
    'LD Name',
    'LD Capacity',
    'Pool No.(h)',
    'Pool Name',
    'RaidType',
    'PD Type',
    'LD State',
    'Capacity Allocation',
    'Access Mode',
    'Group',
    'Purpose',
    'RPL Attribute',
    'Snapshot Attribute',
    'Current Owner',
    'Default Owner',
    'PD List(h)',
    'Read Cache Mode',
    'Write Cache Mode',
    'Block Size',
    'Clone Attribute',
    'VMware Type',
    'Bound PE List(h)',
  ];
  const at = seedOrder.map((k) => keys.indexOf(k));
  assert.ok(
    at.every((i) => i >= 0),
    `every seed line is there: ${show}`,
  );
  assert.deepEqual(
    at,
    [...at].sort((a, b) => a - b),
    `in the seed's order: ${show}`,
  );

  const j = json<Record<string, unknown>>('ld', 'show', 'vr');
  for (const k of [
    'number',
    'name',
    'pool',
    'poolNumber',
    'capacity',
    'blockSize',
    'allocated',
    'raid',
    'state',
    'capacityAllocation',
    'accessMode',
    'currentOwner',
    'defaultOwner',
    'purpose',
    'rplAttribute',
    'snapshotAttribute',
    'cloneAttribute',
    'qos',
    'naa',
    'serial',
    'created',
  ])
    assert.ok(k in j, `--json keeps ${k}`);
  assert.equal(j['raid'], 'RAID1', '--json keeps the API spelling of the RAID type');
  assert.deepEqual(
    [j['osType'], j['pdType'], j['group'], j['readCacheMode'], j['writeCacheMode'], j['vmwareType'], j['boundPeList'], j['boundVvolList']],
    ['', 'FILE', 'Preserve', 'on', 'on', '---', [], []],
  );
});

test('an FCV that is also an EBV shows Purpose Clone and Snapshot Attribute BV (L1657-1691); its FEV stays Snapshot/Clone', () => {
  json('ld', 'create', 'fe', '--pool', 'p', '--size', '8MiB');
  json('clone', 'create', 'fe', 'fc');
  json('snapshot', 'create', 'fc', '--name', 'g1');
  const show = ok('ld', 'show', 'fc');
  assert.match(show, /^Purpose +: Clone$/m);
  assert.match(show, /^Snapshot Attribute +: BV$/m);
  assert.match(show, /^Clone Attribute +: FCV$/m);
  const fc = json<{ purpose: string; snapshotAttribute: string; cloneAttribute: string }>('ld', 'show', 'fc');
  assert.deepEqual([fc.purpose, fc.snapshotAttribute, fc.cloneAttribute], ['Clone', 'EBV', 'FCV'], '--json keeps the EBV spelling');
  assert.equal(json<{ purpose: string }>('ld', 'show', 'fe').purpose, 'Snapshot/Clone');
  assert.equal(json<{ purpose: string }>('ld', 'show', 'fc@g1').purpose, 'Snapshot');
});
