// The relation files (VVM Appendix C) with a clock the test controls: a check
// runs when the interval has passed, a changed configuration writes a new
// YYYYMMDDHHMMSS.xml and zips the one it replaces, an unchanged one writes
// nothing (also after a restart), zips older than three days are deleted, and
// every file written validates against schemas/relation.xsd (xmllint).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newVvolRecord, type VvolType, type VvolView } from '../../src/vvol/model.js';
import { buildRelation } from '../../src/vvol/relation/model.js';
import { LATEST_DIR, OLD_DIR, RelationWriter } from '../../src/vvol/relation/writer.js';
import type { TaskInfo } from '../../src/vvol/tasks.js';
import { ROOT } from '../helpers/cli.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

function vvol(vm: string, type: VvolType, ld: number, extra: Partial<VvolView> = {}): VvolView {
  const rec = newVvolRecord({
    id: `naa.6000000000000000000000000000${ld.toString(16).padStart(4, '0')}`,
    ld,
    type,
    vm,
    container: 0,
    size: 2 ** 30,
    created: '',
  });
  return {
    ...rec,
    metadata: { VMW_VmID: `uuid-${vm}`, VMW_Datacenter: 'dc0', VMW_VVolName: `${vm}-${ld}`, VMW_VVolNamespace: `ns-${vm}` },
    boundPes: [],
    allocated: 0,
    ...extra,
  };
}

function validate(file: string): void {
  const r = spawnSync('xmllint', ['--noout', '--schema', path.join(ROOT, 'schemas', 'relation.xsd'), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${path.basename(file)} does not validate: ${r.stderr}`);
}

test('files at the interval when the configuration changed, none when not; old generations zipped, deleted after 3 days; all valid', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-relation-'));
  const db = new Database(':memory:');
  try {
    let now = Date.UTC(2026, 11, 1, 9, 0, 0);
    let interval = 5;
    // A configuration with every kind of entry: config/data/swap/memory, a snapshot, backup RVs, a linked clone, a deleting and a cloning task, an unknown VVOL LD and an RV whose VM is gone.
    const vvols: VvolView[] = [
      vvol('vm1', 'config', 1, { backups: [{ ld: 0x20, pool: 1, generation: 1 }] }),
      vvol('vm1', 'data', 2, { backups: [{ ld: 0x21, pool: 1, generation: 1 }] }),
      vvol('vm1', 'swap', 3),
      vvol('vm1', 'memory', 4),
      vvol('vm1', 'data', 5, { snapshotOf: 'naa.60000000000000000000000000000002', snapshotName: 's1', snapshotGroup: 'prep-1' }),
      vvol('vm2', 'data', 6, { linkedFrom: 'naa.60000000000000000000000000000002' }),
    ];
    const tasks: TaskInfo[] = [
      {
        id: 'task-1',
        kind: 'delete-snapshot',
        state: 'running',
        progress: 0,
        vvols: ['naa.60000000000000000000000000000009'],
        result: null,
        error: null,
        cancelRequested: false,
        created: '2026-12-01T08:59:00.000Z',
        started: '2026-12-01T08:59:00.000Z',
        finished: null,
      },
      {
        id: 'task-2',
        kind: 'clone',
        state: 'running',
        progress: 10,
        vvols: ['naa.60000000000000000000000000000002'],
        result: null,
        error: null,
        cancelRequested: false,
        created: '2026-12-01T08:59:30.000Z',
        started: '2026-12-01T08:59:30.000Z',
        finished: null,
      },
    ];
    const ld = (n: number, pool = 'sc0', t = 'vmdk-VVOL') => ({ number: n, name: `ld${n}`, pool: 0, poolName: pool, vmwareType: t, capacity: 2 ** 30 });
    const build = (at: Date) =>
      buildRelation({
        vvols,
        tasks,
        vvolLds: [...vvols.map((v) => ld(v.ld)), ld(0x30)],
        backupPoolLds: [ld(0x20, 'vvolbackup1', 'config-VVOL'), ld(0x21, 'vvolbackup1'), ld(0x40, 'vvolbackup1')],
        rvRecords: [
          {
            ld: 0x40,
            vvol: 'gone',
            mvLd: 0x11,
            vm: 'old',
            datacenter: 'dc0',
            vmId: 'uuid-old',
            type: 'data',
            disk: 'old.vmdk',
            generation: 1,
            backupTime: null,
            valid: false,
            state: '－',
          },
        ],
        array: { name: 'kura0', serial: '000000000001', wwn: '2000000000000001', model: 'Kura', ip: '192.168.1.10' },
        vCenterServer: '192.168.1.20',
        now: at.toISOString(),
      });
    const open = () => new RelationWriter({ dataDir: dir, db, build, interval: () => interval, now: () => new Date(now) });
    let w = open();
    const latest = path.join(dir, LATEST_DIR, '2000000000000001_kura0');
    const old = path.join(dir, OLD_DIR, '2000000000000001_kura0');
    const written: string[] = [];
    const tick = (advance: number) => {
      now += advance;
      const r = w.tick();
      if (r?.written) {
        written.push(r.file!);
        validate(r.file!);
      }
      return r;
    };

    // The first check writes the first file.
    const r1 = tick(0)!;
    assert.equal(r1.written, true);
    assert.equal(path.basename(r1.file!), '20261201090000.xml');
    const xml1 = fs.readFileSync(r1.file!, 'utf8');
    for (const want of [
      /<Information startTimestamp="2026-12-01T09:00:00.000Z" finishTimestamp="2026-12-01T09:00:00.000Z" infoType="RelationBetweenVMandVVOL" fileVersion="1.0" vCenterServer="192.168.1.20">/,
      /<diskArray Ip="192.168.1.10" serialNumber="000000000001" name="kura0" WWN="2000000000000001" model="Kura">/,
      /<VM name="vm1" id="uuid-vm1">\s*<configVVOL id="0001" name="vm1-1">\s*<rv id="0020"\/>/,
      /<dataVVOL id="0002" name="vm1-2" namespace="ns-vm1">\s*<snapshot id="0005"\/>\s*<rv id="0021"\/>/,
      /<swapVVOL id="0003" name="vm1-3" namespace="ns-vm1"\/>/,
      /<memoryVVOL id="0004" name="vm1-4" namespace="ns-vm1"\/>/,
      /<fastcloneTargetVM name="vm2"\/>/,
      /<fastcloneSourceVM name="vm1"\/>/,
      /<invalidVVOL id="0030"\/>/,
      /<deletingVVOL id="0009" deletingTime="2026-12-01T08:59:00.000Z"\/>/,
      /<cloningVVOL id="0002" cloningTime="2026-12-01T08:59:30.000Z"\/>/,
      /<rvVVOL id="0040" type="vmdk" mvVMid="uuid-old"\/>/,
    ])
      assert.match(xml1, want);

    // Before the interval: no check. After it, unchanged: no file.
    assert.equal(tick(MIN), null);
    assert.equal(tick(4 * MIN)!.written, false);
    // The interval is read at each tick: 10 minutes now.
    interval = 10;
    assert.equal(tick(5 * MIN), null);
    // A change: two days later a VM is added.
    vvols.push(vvol('vm3', 'config', 7));
    assert.equal(tick(2 * DAY)!.written, true);
    assert.deepEqual(fs.readdirSync(latest), ['20261203091000.xml']);
    assert.deepEqual(fs.readdirSync(old), ['20261201090000.zip']);
    const unzipped = spawnSync('unzip', ['-p', path.join(old, '20261201090000.zip')], { encoding: 'utf8' });
    assert.equal(unzipped.status, 0, unzipped.stderr);
    assert.equal(unzipped.stdout, xml1, 'the zip holds the replaced file');

    // A restart writes no file for an unchanged configuration.
    w = open();
    assert.equal(tick(0)!.written, false);

    // A day and a bit later another change: the first generation is now over three days old and goes.
    vvols.pop();
    const r3 = tick(DAY + 30 * MIN)!;
    assert.equal(r3.written, true);
    assert.deepEqual(
      r3.deleted.map((f) => path.basename(f)),
      ['20261201090000.zip'],
    );
    assert.deepEqual(fs.readdirSync(old), ['20261203091000.zip']);
    assert.equal(fs.readdirSync(latest).length, 1);
    assert.equal(written.length, 3, 'three files, each validated as it was written');
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
