// The manager's store of the path states pathd agents report, on a clock the
// test moves: a report goes stale after three missed intervals (its paths show
// as unknown, kura_path_state 0), hosts, paths per report and paths in all are
// capped, and a stale host gives its place to a new one. (A real pathd
// reporting through a real server: test/pathmgr/pathd-serve.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isKuraError } from '../../src/errors.js';
import { MetricsText } from '../../src/ops/metrics/text-format.js';
import { MAX_PATHS_PER_REPORT, MAX_PATHS_TOTAL, MAX_REPORTING_HOSTS, PathStates, parseReportedPath } from '../../src/ops/paths/states.js';
import type { ReportedPath } from '../../src/api/path-states.js';

let now = Date.parse('2026-12-03T10:00:00Z');
const stores: PathStates[] = [];
function store(): PathStates {
  const s = new PathStates(() => now);
  stores.push(s);
  return s;
}
after(() => stores.forEach((s) => s.close()));

function paths(n: number, state = 'active', device = 'mpatha'): ReportedPath[] {
  return Array.from({ length: n }, (_x, i) =>
    parseReportedPath(
      {
        device,
        deviceId: 'naa.600000000000000000000000000000aa',
        path: `${i}:0:0:0`,
        portal: `10.0.0.${i}:3260`,
        target: 'iqn.2026-11.io.kura:array',
        controller: i % 2,
        alua: 'active/optimized',
        state,
        since: '2026-12-03T09:59:00Z',
      },
      i,
    ),
  );
}

function errorId(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKuraError(e)) return e.id;
    throw e;
  }
  return 'no error';
}

function metrics(s: PathStates): string {
  const m = new MetricsText();
  s.metrics(m);
  return m.text();
}

test('a report shows its states; three missed intervals make it stale and its paths unknown (kura_path_state 0)', () => {
  const s = store();
  const changes: string[][] = [];
  s.onChange((h) => changes.push(h));
  s.record('h1/iqn.x', 10, [...paths(1, 'in-use'), ...paths(2, 'failed').slice(1)]);
  assert.match(metrics(s), /^kura_path_state\{host="h1\/iqn\.x",device="mpatha",path="10\.0\.0\.0:3260"\} 1$/m);
  assert.match(metrics(s), /^kura_path_state\{host="h1\/iqn\.x",device="mpatha",path="10\.0\.0\.1:3260"\} 5$/m);
  assert.match(metrics(s), /^kura_pathd_report_stale\{host="h1\/iqn\.x"\} 0$/m);
  assert.deepEqual(changes, [['h1/iqn.x']]);
  // The same states again: no change to tell the console about.
  now += 10_000;
  s.record('h1/iqn.x', 10, [...paths(1, 'in-use'), ...paths(2, 'failed').slice(1)]);
  assert.equal(changes.length, 1);
  now += 30_001;
  const [h] = s.list();
  assert.equal(h!.stale, true);
  assert.deepEqual(changes.at(-1), ['h1/iqn.x'], 'going stale is a change');
  assert.match(metrics(s), /^kura_path_state\{host="h1\/iqn\.x",device="mpatha",path="10\.0\.0\.1:3260"\} 0$/m);
  assert.match(metrics(s), /^kura_pathd_report_stale\{host="h1\/iqn\.x"\} 1$/m);
  assert.match(metrics(s), /^kura_pathd_report_age_seconds\{host="h1\/iqn\.x"\} 30\.001$/m);
  // A new report makes it current again; a day without one drops it.
  s.record('h1/iqn.x', 10, paths(1));
  assert.equal(s.list()[0]!.stale, false);
  now += 25 * 3600_000;
  assert.deepEqual(s.list(), []);
});

test('caps: paths per report, hosts and paths in all; a stale host gives its place to a new one', () => {
  const s = store();
  assert.equal(
    errorId(() => s.record('big', 10, paths(MAX_PATHS_PER_REPORT + 1))),
    'KURA-E8331',
  );
  for (let i = 0; i < MAX_REPORTING_HOSTS; i++) s.record(`h${i}`, i === 0 ? 1 : 3600, paths(1));
  assert.equal(
    errorId(() => s.record('one-too-many', 10, paths(1))),
    'KURA-E8332',
  );
  now += 4000; // h0 (interval 1 s) is stale now
  s.record('one-too-many', 10, paths(1));
  assert.equal(s.list().length, MAX_REPORTING_HOSTS);
  assert.ok(!s.list().some((h) => h.host === 'h0'), 'the stale host was dropped for the new one');

  const t = store();
  const per = MAX_PATHS_PER_REPORT;
  for (let i = 0; i < MAX_PATHS_TOTAL / per; i++) t.record(`full${i}`, 3600, paths(per));
  assert.equal(
    errorId(() => t.record('more', 10, paths(1))),
    'KURA-E8332',
  );
  // A host replacing its own report is not counted twice.
  t.record('full0', 3600, paths(per, 'failed'));
  const lines = metrics(t)
    .split('\n')
    .filter((l) => l.startsWith('kura_path_state{'));
  assert.equal(lines.length, MAX_PATHS_TOTAL, 'one series per path, never more than the cap');
});

test('a path object is checked field by field', () => {
  const good = { ...paths(1)[0]! } as unknown as Record<string, unknown>;
  assert.equal(
    errorId(() => parseReportedPath({ ...good, state: 'sleepy' }, 3)),
    'KURA-E8330',
  );
  assert.equal(
    errorId(() => parseReportedPath({ ...good, portal: 'x'.repeat(129) }, 0)),
    'KURA-E8330',
  );
  assert.equal(
    errorId(() => parseReportedPath({ ...good, controller: -1 }, 0)),
    'KURA-E8330',
  );
  assert.equal(
    errorId(() => parseReportedPath({ ...good, extra: 1 }, 0)),
    'KURA-E8330',
  );
  assert.equal(
    errorId(() => parseReportedPath({ ...good, since: 'yesterday' }, 0)),
    'KURA-E8330',
  );
  assert.equal(parseReportedPath({ ...good, controller: null }, 0).controller, null);
});
