// libiscsi's conformance suite (iscsi-test-cu) against the target: every test,
// destructive ones included, with the second portal (the other controller) as
// the multipath URL. The verbose log is kept (KURA_TESTCU_LOG, default in the
// OS temp dir) and summarised with the shared testcu-summary tool; the list of
// tests that do not pass, with reasons, is docs/iscsi-conformance.md.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { INITIATOR, INITIATOR2, run, startTarget } from './helpers.js';
import type { TargetFixture } from './helpers.js';

/** Tests allowed to fail, each with its reason (keep in step with docs/iscsi-conformance.md). */
const KNOWN_FAILURES: Record<string, string> = {};

const SUMMARY_TOOL = '/work/shared/tools/testcu-summary.py';

let f: TargetFixture;

before(async () => {
  f = await startTarget();
});

after(async () => {
  await f.close();
});

interface Verdicts {
  passed: string[];
  failed: Map<string, string>;
  skipped: Map<string, string>;
}

/** The same verdict rules as testcu-summary.py: the worst verdict over a test's occurrences. */
function verdicts(log: string): Verdicts {
  const blocks = new Map<string, string[][]>();
  let suite: string | undefined;
  let key: string | undefined;
  for (const line of log.split('\n')) {
    const s = /^Suite: (\S+)/.exec(line);
    if (s) {
      suite = s[1];
      key = undefined;
      continue;
    }
    const t = /^\s+Test: (\S+) \.\.\.(.*)/.exec(line);
    if (t && suite) {
      key = `${suite}.${t[1]}`;
      if (!blocks.has(key)) blocks.set(key, []);
      blocks.get(key)!.push([t[2]!]);
      continue;
    }
    if (key) blocks.get(key)!.at(-1)!.push(line);
  }
  const out: Verdicts = { passed: [], failed: new Map(), skipped: new Map() };
  const rank = { passed: 0, skipped: 1, failed: 2 } as const;
  for (const [k, occs] of blocks) {
    let worst: keyof typeof rank | undefined;
    let why = '';
    for (const lines of occs) {
      const text = lines.join('\n');
      let v: keyof typeof rank;
      if (/(^|\n)FAILED\s*($|\n)/.test(text) || lines[0]!.trimEnd().endsWith('FAILED')) v = 'failed';
      else if (text.includes('[SKIPPED]')) v = 'skipped';
      else if (/(\.\.\.|^|\n)passed/.test(`...${text}`)) v = 'passed';
      else v = 'failed';
      if (worst === undefined || rank[v] > rank[worst]) {
        worst = v;
        why = (lines.find((l) => l.includes('[FAILED]') || l.includes('[SKIPPED]')) ?? lines[0]!).trim();
      }
    }
    if (worst === 'passed') out.passed.push(k);
    else if (worst === 'failed') out.failed.set(k, why);
    else out.skipped.set(k, why);
  }
  return out;
}

test('iscsi-test-cu --dataloss: the iSCSI family passes entirely; nothing fails that is not documented', { timeout: 900_000 }, async () => {
  const url = f.url(0);
  const mpath = f.url(0, { port: f.ports[1] });
  const r = await run('iscsi-test-cu', ['--dataloss', '-v', '-i', INITIATOR, '-I', INITIATOR2, url, mpath], { timeout: 850_000 });
  const log = r.stdout + r.stderr;
  const logPath = process.env.KURA_TESTCU_LOG ?? path.join(os.tmpdir(), 'kura-iscsi-test-cu.log');
  fs.writeFileSync(logPath, log);
  const v = verdicts(log);
  const total = v.passed.length + v.failed.size + v.skipped.size;
  process.stderr.write(`iscsi-test-cu: ${total} distinct tests, passed ${v.passed.length}, failed ${v.failed.size}, skipped ${v.skipped.size} (log: ${logPath})\n`);
  for (const [k, why] of v.failed) process.stderr.write(`  failed ${k}: ${why}\n`);
  if (fs.existsSync(SUMMARY_TOOL)) {
    const s = await run('python3', [SUMMARY_TOOL, logPath]);
    process.stderr.write(s.stdout);
  }
  assert.ok(total > 200, `the suite ran (${total} tests seen; exit status ${r.status})`);
  const iscsiFamily = [...v.passed, ...v.failed.keys(), ...v.skipped.keys()].filter((k) => /^iSCSI/.test(k));
  assert.ok(iscsiFamily.length >= 15, `iSCSI family ran: ${iscsiFamily.join(', ')}`);
  assert.deepEqual(
    iscsiFamily.filter((k) => !v.passed.includes(k)),
    [],
    'every iSCSI-family test passes',
  );
  const unexpected = [...v.failed.keys()].filter((k) => !(k in KNOWN_FAILURES));
  assert.deepEqual(unexpected, [], `failures not in docs/iscsi-conformance.md: ${unexpected.map((k) => `${k} (${v.failed.get(k)})`).join('; ')}`);
  assert.deepEqual(f.logs.filter((l) => l.includes('internal error')), [], 'no exception reached a connection\'s edge');
});
