// pathd holds a multipath device of an LD; the LD is deleted on the array
// (--force, since pathd's sessions have it open) and another LD created in its
// place takes the same LD number and so the same LUN. pathd must notice that the
// LU behind its paths is no longer the one it opened (VPD 0x83) and fail the
// device with an id: no read returns the new LD's data, no write reaches it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { startPathd } from '../helpers/pathd.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MiB = 2 ** 20;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-ident-'));
let srv: TestServer | undefined;
let stopPathd: (() => Promise<void>) | undefined;

after(async () => {
  await stopPathd?.();
  await srv?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  'pathd fails a device whose LU was deleted and replaced at the same LUN, with an id; the new LD is never read or written through it',
  { timeout: 90_000 },
  async () => {
    srv = await startServer({ args: ['--no-demo'] });
    const s = srv;
    s.cli.ok('pool', 'create', 'p', '--size', '1GiB', '--raid', '0', '--pds', '1');
    const first = JSON.parse(s.cli.ok('ld', 'create', 'first', '--pool', 'p', '--size', '16MiB', '--json')) as { number: number };

    const pathd = await startPathd([
      ...s.iscsiPorts.flatMap((p) => ['--portal', `127.0.0.1:${p}`]),
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--patrol-interval',
      '1',
      '--initiator',
      'iqn.2026-11.io.kura:pathd-ident',
      '--log-dir',
      path.join(tmp, 'log'),
      '--no-syslog',
      '--queue-if-no-path',
      '2',
    ]);
    stopPathd = pathd.stop;
    const nbdPort = pathd.nbdPort;

    const dev = await NbdClient.connect({ host: '127.0.0.1', port: nbdPort, exportName: 'mpatha' });
    const mine = crypto.randomBytes(MiB);
    await dev.write(0, mine);
    await dev.flush();
    assert.ok((await dev.read(0, MiB)).equals(mine));

    // The operator deletes the LD under pathd and creates another, which takes its number (LUN).
    s.cli.ok('ld', 'delete', 'first', '--force');
    const second = JSON.parse(s.cli.ok('ld', 'create', 'second', '--pool', 'p', '--size', '16MiB', '--json')) as { number: number };
    assert.equal(second.number, first.number, 'the new LD sits at the old LUN');
    const theirs = crypto.randomBytes(MiB);
    const direct = await NbdClient.connect({ host: s.nbdHost, port: s.nbdPort, exportName: 'second' });
    await direct.write(0, theirs);
    await direct.flush();

    const read = await dev.read(0, MiB).then(
      (b) => (b.equals(theirs) ? "the new LD's data" : 'data'),
      (e: Error) => `error: ${e.message}`,
    );
    assert.match(read, /^error/, 'a read through the old device fails');
    const write = await dev.write(0, Buffer.alloc(MiB, 0x55)).then(
      () => 'written',
      (e: Error) => `error: ${e.message}`,
    );
    assert.match(write, /^error/, 'a write through the old device fails');
    assert.ok((await direct.read(0, MiB)).equals(theirs), 'the new LD is untouched');
    await direct.disconnect();
    await dev.disconnect().catch(() => undefined);
    // The patrol may look between the delete and the create (a loaded machine): the LUN then holds nothing yet.
    assert.match(
      pathd.output(),
      /ERROR KURA-E2510 mpatha: path \S+ \(\S+\) LUN \d+ no longer reaches logical unit naa\.[0-9a-f]+: it holds (naa\.[0-9a-f]+|no logical unit)/,
    );
  },
);
