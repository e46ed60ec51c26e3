// kura serve's life: ready means listening, SIGTERM/SIGINT stop it cleanly
// (exit 0, kura check clean), a restart keeps the token and creates no second
// demo, a listener that cannot be opened fails with an id, --no-demo, and kura
// check finding a fault.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runKura } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-serve-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

interface Ev {
  id: string;
  source: string;
}

test('ready means every listener accepts; SIGTERM and SIGINT exit 0; a restart keeps the token and the data and makes no second demo', async () => {
  const dataDir = tempDir();
  const first = await startServer({ dataDir });
  assert.ok(await connects(first.httpPort), 'API accepts after ready');
  assert.ok(await connects(first.nbdPort), 'NBD accepts after ready');
  const ld = first.cli.run('ld', 'create', 'keep', '--pool', 'pool0', '--size', '64MiB', '--json');
  assert.equal(ld.status, 0, ld.stderr);
  assert.equal(await first.stop(), 0, first.output());
  assert.match(first.stderr(), /SIGTERM: stopping/);
  assert.match(first.stderr(), /stopped$/m);

  const check = runKura(['check', '--data', dataDir]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /clean, no faults/);
  const checkJson = JSON.parse(runKura(['check', '--data', dataDir, '--json']).stdout) as {
    ok: boolean;
    faults: string[];
    pools: Array<{ name: string; lds: number }>;
  };
  assert.deepEqual(checkJson.faults, []);
  assert.equal(checkJson.ok, true);
  assert.deepEqual(
    checkJson.pools.map((p) => [p.name, p.lds]),
    [['pool0', 2]],
  );

  const second = await startServer({ dataDir });
  try {
    assert.equal(second.token, first.token, 'the token is kept');
    assert.doesNotMatch(second.stdout(), /\(new/);
    const pools = JSON.parse(second.cli.run('pool', 'list', '--json').stdout) as Array<{ name: string }>;
    assert.deepEqual(
      pools.map((p) => p.name),
      ['pool0'],
    );
    const lds = JSON.parse(second.cli.run('ld', 'list', '--json').stdout) as Array<{ name: string }>;
    assert.deepEqual(
      lds.map((l) => l.name),
      ['demo0', 'keep'],
    );
    const evs = JSON.parse(second.cli.run('events', '--limit', '100', '--json').stdout) as Ev[];
    const count = (id: string, source: string) => evs.filter((e) => e.id === id && e.source === source).length;
    assert.equal(count('KURA-I4001', 'pool/pool0'), 1, 'one demo pool event');
    assert.equal(count('KURA-I4000', 'array'), 2, 'two starts');
    assert.equal(count('KURA-I4009', 'array'), 1, 'one clean stop so far');
  } finally {
    second.proc.kill('SIGINT');
    assert.equal(await second.exited, 0, second.output());
  }
  assert.match(second.stderr(), /SIGINT: stopping/);
  assert.equal(runKura(['check', '--data', dataDir]).status, 0);

  // kura check reports a fault (a missing PD file) and exits 1.
  const broken = tempDir();
  fs.cpSync(dataDir, broken, { recursive: true });
  const pdDir = path.join(broken, 'array', 'pools');
  const pd = fs
    .readdirSync(pdDir)
    .map((d) => path.join(pdDir, d))
    .flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)))
    .find((f) => f.endsWith('.img'));
  assert.ok(pd, 'a PD file to remove');
  fs.rmSync(pd);
  const bad = runKura(['check', '--data', broken]);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /1 fault\(s\)\n {2}pool pool0: PD \d+ file .* is missing/);
  const badJson = runKura(['check', '--data', broken, '--json']);
  assert.equal(badJson.status, 1);
  assert.equal((JSON.parse(badJson.stdout) as { ok: boolean }).ok, false);
  const none = runKura(['check', '--data', path.join(broken, 'nothing-here')]);
  assert.equal(none.status, 1);
  assert.match(none.stdout, /no array metadata/);
});

test('a listener that cannot be opened fails with KURA-E5020 (exit 1) and leaves the data consistent', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  const dataDir = tempDir();
  try {
    const r = runKura(['serve', '--data', dataDir, '--http', `127.0.0.1:${port}`, '--nbd', '127.0.0.1:0']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^KURA-E5020: Cannot open the API listener 127\\.0\\.0\\.1:${port} \\(--http\\): .*EADDRINUSE`, 'm'));
    assert.match(r.stderr, /--http \/ --nbd/);
    assert.doesNotMatch(r.stdout, /^ready$/m);
    const n = runKura(['serve', '--data', dataDir, '--http', '127.0.0.1:0', '--nbd', `127.0.0.1:${port}`]);
    assert.equal(n.status, 1, n.stdout + n.stderr);
    assert.match(n.stderr, /^KURA-E5020: Cannot open the NBD listener .* \(--nbd\)/m);
  } finally {
    blocker.close();
  }
  assert.equal(runKura(['check', '--data', dataDir]).status, 0, 'the array was closed cleanly');
});

test('--no-demo starts an empty array and says no LD exists yet', async () => {
  const srv = await startServer({ args: ['--no-demo'] });
  try {
    assert.match(srv.stdout(), /NBD: +nbd:\/\/127\.0\.0\.1:\d+\/LD +\(every LD is an export; none exists yet\)/);
    assert.deepEqual(JSON.parse(srv.cli.run('pool', 'list', '--json').stdout), []);
    assert.deepEqual(JSON.parse(srv.cli.run('ld', 'list', '--json').stdout), []);
    assert.match(srv.cli.run('ld', 'list').stdout, /^LDN\(h\) +OS Type +LD Name/);
  } finally {
    await srv.cleanup();
  }
  assert.equal(fs.existsSync(srv.dataDir), false, 'cleanup removes the data dir the helper made');
});
