// Sizes, numbers and other arguments as users type them: the grammar shared by
// the CLI and the API (src/units.ts) and the CLI's argument checks
// (src/cli/units.ts), with good and bad input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliArgError, hostPortArg, intArg, percentArg, raidArg, sizeArg } from '../../src/cli/units.js';
import { KuraError } from '../../src/errors.js';
import { hex4, humanSize, necCapacity, parseNumber, parseSize } from '../../src/units.js';

const KiB = 1024;
const MiB = KiB ** 2;
const GiB = KiB ** 3;
const TiB = KiB ** 4;

test('parseSize reads binary units in every spelling', () => {
  const cases: Array<[string | number, number]> = [
    ['512MiB', 512 * MiB],
    ['10GiB', 10 * GiB],
    ['1TiB', TiB],
    ['1tib', TiB],
    ['4KiB', 4 * KiB],
    ['4K', 4 * KiB],
    ['4k', 4 * KiB],
    ['4KB', 4 * KiB],
    ['3M', 3 * MiB],
    ['3MB', 3 * MiB],
    ['2G', 2 * GiB],
    ['2GB', 2 * GiB],
    ['2T', 2 * TiB],
    ['1PiB', 1024 * TiB],
    ['1.5GiB', 1.5 * GiB],
    ['0.5MiB', 512 * KiB],
    [' 10 GiB ', 10 * GiB],
    ['4096', 4096],
    ['4096B', 4096],
    ['0', 0],
    [4096, 4096],
    [0, 0],
    ['0x1000', 4096],
    ['1000h', 4096],
    ['0100h', 256],
  ];
  for (const [input, want] of cases) assert.equal(parseSize(input), want, JSON.stringify(input));
});

test('parseSize refuses what is not a size, with KURA-E5001 and an action', () => {
  for (const bad of [
    '',
    ' ',
    'lots',
    '10 GiBs',
    '10XB',
    '-5',
    '-5GiB',
    '1e3',
    '1,024',
    'GiB',
    '10GiB5',
    '..5G',
    '9007199254740993',
    '10000000PiB',
    -1,
    1.5,
    NaN,
    Infinity,
    2 ** 60,
  ]) {
    assert.throws(
      () => parseSize(bad as string | number, '--size'),
      (e: unknown) => e instanceof KuraError && e.id === 'KURA-E5001' && /--size/.test(e.message) && /512MiB/.test(e.action),
      JSON.stringify(bad),
    );
  }
});

test('parseNumber reads decimal, NEC-style hex (0001h) and 0x hex', () => {
  const cases: Array<[string | number, number]> = [
    ['0', 0],
    ['17', 17],
    ['0001h', 1],
    ['000ah', 10],
    ['00FFh', 255],
    ['0x10', 16],
    [' 12 ', 12],
    [42, 42],
  ];
  for (const [input, want] of cases) assert.equal(parseNumber(input, 'n'), want, JSON.stringify(input));
  for (const bad of ['', 'x', '1.5', '-1', 'h', '12hh', 'zzh', '0x', 'pool0', '0001H', '99999999999999999999', 'fffffffffffffffh']) {
    assert.throws(
      () => parseNumber(bad, 'LD'),
      (e: unknown) => e instanceof KuraError && e.id === 'KURA-E5002' && /LD/.test(e.message),
      bad,
    );
    assert.equal(parseNumber(bad, 'LD', true), undefined, `soft ${bad}`);
  }
  assert.equal(parseNumber('0001', 'n'), 1, 'decimal with leading zeros');
});

test('display helpers: NEC capacity, human sizes, 4-digit hex', () => {
  assert.equal(necCapacity(GiB), '1.0GB(1,073,741,824Bytes)');
  assert.equal(necCapacity(5 * GiB), '5.0GB(5,368,709,120Bytes)');
  assert.equal(necCapacity(0), '0.0GB(0Bytes)');
  assert.equal(humanSize(0), '0 B');
  assert.equal(humanSize(512), '512 B');
  assert.equal(humanSize(1536), '1.5 KiB');
  assert.equal(humanSize(4 * GiB), '4.0 GiB');
  assert.equal(humanSize(300 * TiB), '300 TiB');
  assert.equal(hex4(0), '0000');
  assert.equal(hex4(255), '00FF');
  assert.equal(hex4(0x1234), '1234');
});

function argError(fn: () => unknown, id: string, what: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CliArgError && e.id === id && what.test(e.message) && e.action.length > 0);
}

test('CLI size and number arguments: good input, and bad input as CliArgError (exit 2) with an id', () => {
  assert.equal(sizeArg('10GiB', '--size'), 10 * GiB);
  assert.equal(sizeArg('0x1000', '--size'), 4096);
  argError(() => sizeArg('ten', '--size'), 'KURA-E5001', /--size "ten" is not a size/);
  assert.equal(intArg('4', '--pds'), 4);
  assert.equal(intArg('0010h', '--pds'), 16);
  assert.equal(intArg('0x10', '--pds'), 16);
  for (const bad of ['', 'four', '-1', '1.5', '4 PDs']) argError(() => intArg(bad, '--pds'), 'KURA-E5002', /--pds/);
  assert.equal(percentArg('80', '--threshold'), 80);
  assert.equal(percentArg('95%', '--threshold'), 95);
  assert.equal(percentArg('0', '--threshold'), 0);
  argError(() => percentArg('101', '--threshold'), 'KURA-E5005', /not a percentage/);
  argError(() => percentArg('high', '--threshold'), 'KURA-E5002', /--threshold/);
});

test('RAID types as typed', () => {
  for (const [v, want] of [
    ['1', 'RAID1'],
    ['raid1', 'RAID1'],
    ['10', 'RAID10'],
    ['RAID10', 'RAID10'],
    ['1/10', 'RAID10'],
    ['0', 'RAID0'],
  ]) {
    assert.equal(raidArg(v!), want);
  }
  for (const bad of ['5', 'RAID6', '', 'mirror']) argError(() => raidArg(bad), 'KURA-E5007', /RAID/);
});

test('HOST:PORT listeners, IPv6 in brackets, port 0 allowed', () => {
  assert.deepEqual(hostPortArg('127.0.0.1:9940', '--http'), { host: '127.0.0.1', port: 9940 });
  assert.deepEqual(hostPortArg('0.0.0.0:0', '--http'), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(hostPortArg('localhost:10809', '--nbd'), { host: 'localhost', port: 10809 });
  assert.deepEqual(hostPortArg('[::1]:3260', '--iscsi'), { host: '::1', port: 3260 });
  for (const bad of ['9940', '127.0.0.1', '127.0.0.1:', ':9940', '127.0.0.1:65536', '127.0.0.1:http', '::1:3260', 'a b:1', '127.0.0.1:123456']) {
    argError(() => hostPortArg(bad, '--http'), 'KURA-E5006', /--http/);
  }
});
