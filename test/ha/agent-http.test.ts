// The array agent API of `kura array`: the ArrayAgent contract over HTTP with the
// array's own token, fencing tokens on every change (older ones refused with
// KURA-E8001 and logged, even after a restart of the array), and array events
// reaching a subscribed client.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { httpArrayAgent } from '../../src/array/agent-http/client.js';
import { readFencingLog } from '../../src/array/agent-http/fencing.js';
import type { ArrayEvent } from '../../src/array/agent.js';
import { KuraError } from '../../src/errors.js';
import { startArray } from '../helpers/ha.js';
import type { TestArray } from '../helpers/ha.js';

let root: string;
let arr: TestArray;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-agent-'));
  arr = await startArray(path.join(root, 'a'));
});

after(async () => {
  await arr?.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

const token = () => fs.readFileSync(arr.tokenFile, 'utf8').trim();

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<KuraError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof KuraError, String(e));
    return e;
  }
  assert.fail('the call was not refused');
}

test('the agent token is DATA/agent.token, mode 0600; a wrong token is refused with an id', async () => {
  assert.equal(fs.statSync(arr.tokenFile).mode & 0o777, 0o600);
  const res = await fetch(`${arr.agentUrl}/agent/v1/identity`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { error: { id: string } }).error.id, 'KURA-E8003');
  const agent = httpArrayAgent({ url: arr.agentUrl, token: token() });
  try {
    const id = await agent.identity();
    assert.equal(id.id, agent.info().serial);
  } finally {
    await agent.close();
  }
});

test('changes need a fencing token; older tokens than the highest seen are refused and logged', async () => {
  let fencing: string | undefined;
  const agent = httpArrayAgent({ url: arr.agentUrl, token: token(), fencing: () => fencing });
  const events: ArrayEvent[] = [];
  const off = agent.events.onEvent((e) => events.push(e));
  try {
    // Without a role the client refuses before sending; the array refuses an unfenced call too.
    assert.equal((await refusal(agent.pools.createPool({ name: 'p0', size: 2 ** 30, raid: 'RAID1', pds: 2 }))).id, 'KURA-E8008');
    const raw = await fetch(`${arr.agentUrl}/agent/v1/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'pools.deletePool', args: ['p0'] }),
    });
    assert.equal(raw.status, 403);
    assert.equal(((await raw.json()) as { error: { id: string } }).error.id, 'KURA-E8002');

    fencing = 'active:5';
    const pool = await agent.pools.createPool({ name: 'p0', size: 2 ** 30, raid: 'RAID1', pds: 2 });
    assert.equal(pool.name, 'p0');
    // The synchronous half of the contract answers over HTTP too.
    assert.deepEqual(
      agent.pools.listPools().map((p) => p.name),
      ['p0'],
    );
    assert.equal((await refusal(() => agent.pools.getPool('nope'))).code, 'ENOENT');
    const lock = agent.lock.acquireLock('alice', 60);
    assert.equal(lock.owner, 'alice');
    agent.lock.releaseLock('alice');

    await agent.fence('active', 9);
    fencing = 'active:5';
    const stale = await refusal(agent.lds.createLd({ name: 'v0', pool: 'p0', size: 2 ** 20 }));
    assert.equal(stale.id, 'KURA-E8001');
    assert.match(stale.message, /token 5.*token 9/);
    assert.equal((await refusal(() => agent.lock.acquireLock('bob'))).id, 'KURA-E8001');
    fencing = 'active:9';
    await agent.lds.createLd({ name: 'v0', pool: 'p0', size: 2 ** 20 });
    assert.deepEqual(
      agent.lds.listLds().map((l) => l.name),
      ['v0'],
    );
  } finally {
    off();
    await agent.close();
  }
  const log = readFencingLog(arr.fencingLog);
  const refused = log.filter((e) => e.outcome === 'refused');
  assert.deepEqual(
    refused.map((e) => [e.method, e.token, e.highest]),
    [
      ['lds.createLd', 5, 9],
      ['lock.acquireLock', 5, 9],
    ],
  );
  // Accepted tokens never go down.
  const accepted = log.filter((e) => e.outcome === 'accepted').map((e) => e.token);
  assert.deepEqual(
    accepted,
    [...accepted].sort((a, b) => a - b),
  );
});

test('a restarted array still refuses tokens older than the highest it saw', async () => {
  await arr.stop();
  arr = await startArray(arr.dataDir);
  const agent = httpArrayAgent({ url: arr.agentUrl, token: token(), fencing: () => 'active:8' });
  try {
    assert.equal((await refusal(agent.lds.deleteLd('v0'))).id, 'KURA-E8001');
    assert.deepEqual(
      agent.lds.listLds().map((l) => l.name),
      ['v0'],
    );
  } finally {
    await agent.close();
  }
});
