// The data directory belongs to one process at a time and to its owner only:
// a second `kura serve` and `kura check` on a directory in use are refused with
// KURA-E2520 (the first server keeps serving, its data intact); after kill -9 a
// new server starts at once (the kernel dropped the lock); everything in the
// directory is private to its owner (0700 directories, 0600 files, loose modes
// tightened on start). CHAP secrets at rest: test/cli/secrets.test.ts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runKura } from '../helpers/cli.js';
import { walk } from '../helpers/files.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ok } from '../helpers/tools.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-datadir-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test(
  'a second kura serve and kura check on a directory in use are refused with KURA-E2520; the first keeps serving; after kill -9 a new server starts at once',
  { timeout: 120_000 },
  async () => {
    const dataDir = tempDir();
    const first = await startServer({ dataDir });
    let again: TestServer | undefined;
    try {
      const pattern = crypto.randomBytes(1 << 20);
      const src = path.join(dataDir, '..', `${path.basename(dataDir)}-pattern`);
      dirs.push(src);
      fs.writeFileSync(src, pattern);
      ok('nbdcopy', [src, first.nbdUri('demo0')]);

      let secondOut = '';
      await assert.rejects(
        startServer({ dataDir }).then(async (s) => {
          await s.stop();
          return s;
        }),
        (e: Error) => {
          secondOut = e.message;
          return /exited \(1\) before it was ready/.test(e.message);
        },
        'the second server exits 1 before it is ready',
      );
      assert.match(secondOut, /^KURA-E2520: The data directory .* is in use by another Kura process \(pid \d+\)/m);
      assert.ok(secondOut.includes(path.resolve(dataDir)), 'the error names the directory');
      assert.ok(secondOut.includes(`pid ${first.proc.pid}`), `the error names the holder's pid ${first.proc.pid}: ${secondOut}`);

      const check = runKura(['check', '--data', dataDir]);
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stderr, new RegExp(`^KURA-E2520: .*in use by another Kura process \\(pid ${first.proc.pid}\\)`, 'm'));

      // The first server still serves its data, unchanged.
      const back = path.join(dataDir, '..', `${path.basename(dataDir)}-back`);
      dirs.push(back);
      ok('nbdcopy', [first.nbdUri('demo0'), back]);
      assert.ok(fs.readFileSync(back).subarray(0, pattern.length).equals(pattern), 'the first server reads back what was written');
      const lds = JSON.parse(first.cli.run('ld', 'list', '--json').stdout) as Array<{ name: string }>;
      assert.deepEqual(
        lds.map((l) => l.name),
        ['demo0'],
      );

      // kill -9: the kernel drops the lock, so a new server starts at once.
      await first.kill('SIGKILL');
      again = await startServer({ dataDir });
      fs.rmSync(back);
      ok('nbdcopy', [again.nbdUri('demo0'), back]);
      assert.ok(fs.readFileSync(back).subarray(0, pattern.length).equals(pattern), 'data survives the kill');
    } finally {
      await first.stop();
      await again?.stop();
    }
    const check = runKura(['check', '--data', dataDir]);
    assert.equal(check.status, 0, check.stdout + check.stderr);
  },
);

test('the data directory is 0700 and every file in it 0600; looser modes are tightened on start with a log line', { timeout: 120_000 }, async () => {
  const dataDir = path.join(tempDir(), 'data');
  const assertPrivate = (when: string) => {
    const st = fs.statSync(dataDir);
    assert.equal(st.mode & 0o777, 0o700, `${when}: ${dataDir} is ${(st.mode & 0o777).toString(8)}`);
    const entries = walk(dataDir);
    assert.ok(
      entries.some((p) => p.endsWith('meta.db')),
      'meta.db exists',
    );
    assert.ok(
      entries.some((p) => p.endsWith('meta.db-wal')),
      'the WAL exists',
    );
    assert.ok(
      entries.some((p) => p.endsWith('.img')),
      'PD files exist',
    );
    for (const p of entries) {
      const s = fs.lstatSync(p);
      const want = s.isDirectory() ? 0o700 : 0o600;
      assert.equal(s.mode & 0o777, want, `${when}: ${path.relative(dataDir, p)} is ${(s.mode & 0o777).toString(8)}, want ${want.toString(8)}`);
    }
  };
  const first = await startServer({ dataDir });
  try {
    assertPrivate('after the first start');
  } finally {
    await first.stop();
  }
  // An older data directory with world-readable modes.
  fs.chmodSync(dataDir, 0o755);
  for (const p of walk(dataDir)) fs.chmodSync(p, fs.lstatSync(p).isDirectory() ? 0o755 : 0o644);
  // A file of the operator's own beside Kura's is not Kura's to change.
  const foreign = path.join(dataDir, 'README.operator');
  fs.writeFileSync(foreign, 'notes\n', { mode: 0o755 });
  fs.chmodSync(foreign, 0o755);
  const second = await startServer({ dataDir });
  try {
    assert.equal(fs.statSync(foreign).mode & 0o777, 0o755, 'a file Kura does not own keeps its mode');
    fs.rmSync(foreign);
    assertPrivate('after a start on a loose directory');
    assert.match(second.stderr(), /KURA-W2528: .*tightened/);
  } finally {
    await second.stop();
  }
});
