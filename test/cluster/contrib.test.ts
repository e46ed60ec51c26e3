// contrib/pacemaker/kura, the OCF resource agent: meta-data, validate-all,
// and a start / monitor / stop cycle of a real `kura serve` with OCF exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KURA, ROOT } from '../helpers/cli.js';

const RA = path.join(ROOT, 'contrib', 'pacemaker', 'kura');

function ra(action: string, params: Record<string, string>): { status: number | null; stdout: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OCF_RESOURCE_INSTANCE: 'test' };
  for (const [k, v] of Object.entries(params)) env[`OCF_RESKEY_${k}`] = v;
  const r = spawnSync('/bin/sh', [RA, action], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout };
}

test('the OCF agent runs kura serve: start 0, monitor 0 while it runs, stop 0, monitor 7 after; a bad service is not configured (6)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ocf-'));
  const params = {
    service: 'serve',
    kura: `${process.execPath} ${KURA}`,
    args: `--data ${path.join(dir, 'data')} --http 127.0.0.1:0 --nbd 127.0.0.1:0 --iscsi 127.0.0.1:0,127.0.0.1:0`,
    state_dir: path.join(dir, 'state'),
  };
  try {
    assert.match(ra('meta-data', {}).stdout, /<resource-agent name="kura" version="1.0">[\s\S]*<action name="monitor"/);
    assert.equal(ra('validate-all', { service: 'nonsense' }).status, 6);
    assert.equal(ra('monitor', params).status, 7, 'not running before start');
    assert.equal(ra('start', params).status, 0);
    assert.equal(ra('monitor', params).status, 0);
    assert.match(fs.readFileSync(path.join(dir, 'state', 'serve-test.log'), 'utf8'), /^listening api=/m);
    assert.equal(ra('stop', params).status, 0);
    assert.equal(ra('monitor', params).status, 7, 'not running after stop');
  } finally {
    ra('stop', params);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped group scripts take the seed\'s "ARM not running" branch when ARMS_EVENT is unset', () => {
  for (const f of ['kura-pathd-start.sh', 'kura-manager-start.sh']) {
    const env = { ...process.env };
    delete env['ARMS_EVENT'];
    const r = spawnSync('/bin/sh', [path.join(ROOT, 'contrib', 'cluster', f)], { env, encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'ARM not running\n');
  }
});
