// kura check and shared chunks: a chunk that two LDs map is fine when they are
// related by a snapshot or clone (copy-on-write shares it), and a fault naming
// both LDs when they are not, even when the chunk's refcount agrees with the
// references (what two servers writing one data directory leave behind).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { runKura } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import { ok } from '../helpers/tools.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The first mapped chunk of an LD (through its first map page): page id, entry index, chunk. */
function firstChunk(db: Database.Database, ld: string): { page: number; index: number; chunk: number } {
  const row = db.prepare('SELECT top FROM ld WHERE name = ?').get(ld) as { top: Buffer };
  const page = row.top.readUInt32LE(0);
  assert.notEqual(page, 0, `LD ${ld} has a map page`);
  const entries = (db.prepare('SELECT entries FROM map_page WHERE id = ?').get(page) as { entries: Buffer }).entries;
  for (let i = 0; i < entries.length / 4; i++) {
    const e = entries.readUInt32LE(i * 4);
    if (e !== 0) return { page, index: i, chunk: e - 1 };
  }
  throw new Error(`LD ${ld} maps no chunk`);
}

test('kura check: chunks shared by a snapshot are clean; two unrelated LDs mapping one chunk are a fault naming both', { timeout: 120_000 }, async () => {
  const srv = await startServer({ args: ['--no-demo'] });
  dirs.push(srv.dataDir);
  try {
    srv.cli.json('pool', 'create', 'p', '--size', '256MiB', '--raid', '1', '--pds', '2');
    for (const l of ['DynamicSnapVolume']) srv.cli.json('license', 'unlock', l);
    srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
    srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
    for (const l of ['alpha', 'beta', 'gamma']) srv.cli.json('ld', 'create', l, '--pool', 'p', '--size', '16MiB');
    const src = path.join(os.tmpdir(), `kura-check-sharing-${process.pid}`);
    dirs.push(src);
    for (const l of ['alpha', 'beta', 'gamma']) {
      fs.writeFileSync(src, crypto.randomBytes(2 << 20));
      ok('nbdcopy', [src, srv.nbdUri(l)]);
    }
    // gamma's snapshot, then new data in gamma: its map page is copied and the
    // snapshot's chunks are mapped from two pages (a legitimate share).
    srv.cli.json('snapshot', 'create', 'gamma', '--name', 's1');
    fs.writeFileSync(src, crypto.randomBytes(1 << 20));
    ok('nbdcopy', [src, srv.nbdUri('gamma')]);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  const clean = runKura(['check', '--data', srv.dataDir]);
  assert.equal(clean.status, 0, clean.stdout + clean.stderr);

  // Point beta's first map entry at alpha's chunk and keep the refcounts
  // consistent, as two servers allocating the same free chunk would.
  const db = new Database(path.join(srv.dataDir, 'array', 'meta.db'));
  try {
    const a = firstChunk(db, 'alpha');
    const b = firstChunk(db, 'beta');
    const entries = (db.prepare('SELECT entries FROM map_page WHERE id = ?').get(b.page) as { entries: Buffer }).entries;
    entries.writeUInt32LE(a.chunk + 1, b.index * 4);
    db.transaction(() => {
      db.prepare('UPDATE map_page SET entries = ? WHERE id = ?').run(entries, b.page);
      db.prepare('UPDATE chunk_ref SET refcount = refcount + 1 WHERE chunk = ? AND pool_id = (SELECT pool_id FROM map_page WHERE id = ?)').run(a.chunk, a.page);
      db.prepare('DELETE FROM chunk_ref WHERE chunk = ? AND pool_id = (SELECT pool_id FROM map_page WHERE id = ?)').run(b.chunk, b.page);
    })();
  } finally {
    db.close();
  }
  const bad = runKura(['check', '--data', srv.dataDir]);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /chunk \d+ is mapped by LDs alpha and beta, which share no snapshot or clone relation/);
  assert.doesNotMatch(bad.stdout, /gamma/, 'the snapshot share is not a fault');
  const json = JSON.parse(runKura(['check', '--data', srv.dataDir, '--json']).stdout) as { ok: boolean; faults: string[] };
  assert.equal(json.ok, false);
  assert.equal(json.faults.length, 1, json.faults.join('\n'));
});
