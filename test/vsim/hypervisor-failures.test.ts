// The simulator's failure paths that a healthy array and pathd do not take on
// demand, with the library driven against a scripted provider (an
// ApiTransport answering from the test) and a pathd stand-in: a bound VVOL
// pathd never exports (KURA-E3604, and the binds are undone), an array task
// that fails (KURA-E3621), and an undo that cannot delete what it made
// (KURA-W3600, reported through the warn hook, since the error thrown is the
// first failure's).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CONTAINERS, VASA, VVOLS } from '../../src/api/vasa.js';
import type { ApiRoute, PathParams, QueryParams } from '../../src/api/route.js';
import { KuraError } from '../../src/errors.js';
import type { VvolView } from '../../src/vvol/model.js';
import { HostList } from '../../src/vsim/host-list.js';
import { Hypervisor, type ApiTransport, type Warning } from '../../src/vsim/hypervisor.js';
import { vvolMetadata, type VvolKind } from '../../src/vsim/identity.js';
import { startFakePathd, type FakePathd } from './fake-pathd.js';

let dir: string;
let pathd: FakePathd;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-vsim-fail-'));
  pathd = await startFakePathd({ initiator: 'iqn.2026-11.test:vsim-fail', nbd: '127.0.0.1:1', devices: async () => [] });
});
after(async () => {
  await pathd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ident = { id: '5f0c3a8e-0000-4000-8000-000000000001', name: 'vm1', datacenter: 'dc0' };
const vvol = (n: number, type: VvolKind, vm = ident): VvolView =>
  ({
    id: `naa.6${n.toString(16).padStart(31, '0')}`,
    type,
    ld: n,
    size: 2 ** 30,
    container: 1,
    vm: vm.name,
    policy: null,
    linkedFrom: null,
    snapshotOf: null,
    snapshotGroup: null,
    snapshotName: null,
    created: '2026-12-03T00:00:00.000Z',
    boundPes: [],
    backups: [],
    metadata: vvolMetadata(vm, type, { VMW_VVolName: `${vm.name}-${type}` }),
  }) as unknown as VvolView;

/** A provider that answers each route from `handlers` (by route), and records every call. */
class ScriptedProvider implements ApiTransport {
  calls: Array<{ route: ApiRoute; params?: PathParams; body?: unknown }> = [];
  constructor(private readonly handlers: Map<ApiRoute, (params: PathParams, body: unknown, query: QueryParams) => unknown>) {}
  async send<T = unknown>(route: ApiRoute, params: PathParams = {}, body?: unknown, query: QueryParams = {}): Promise<T> {
    this.calls.push({ route, params, body });
    const h = this.handlers.get(route);
    if (!h) throw new Error(`the scripted provider has no answer for ${route.method} ${route.path}`);
    return h(params, body, query) as T;
  }
}

function hypervisor(api: ApiTransport, warnings: Warning[] = []): Hypervisor {
  const hosts = new HostList(path.join(dir, `hosts-${Math.random().toString(16).slice(2)}.json`));
  hosts.put({ name: 'esx1', pathd: pathd.control, initiator: 'iqn.2026-11.test:vsim-fail', added: new Date().toISOString() });
  return new Hypervisor({ api, hosts, exportTimeoutMs: 300, warn: (w) => warnings.push(w) });
}

async function rejectsWith(p: Promise<unknown>, id: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KuraError, String(e));
    assert.equal(e.id, id, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('a bound VVOL that pathd never exports: KURA-E3604, and the power on unbinds what it bound', async () => {
  const own = [vvol(1, 'config'), vvol(2, 'data'), vvol(3, 'swap')];
  const api = new ScriptedProvider(
    new Map<ApiRoute, (p: PathParams, b: unknown) => unknown>([
      [VVOLS.list, () => own],
      [CONTAINERS.list, () => [{ pool: 1, name: 'sc0' }]],
      [VVOLS.bind, (_p, b) => (b as { ids: string[] }).ids.map((id) => ({ id, ok: true }))],
      [VVOLS.unbind, (_p, b) => (b as { ids: string[] }).ids.map((id) => ({ id, ok: true }))],
    ]),
  );
  await rejectsWith(
    hypervisor(api).powerOn('vm1', 'esx1'),
    'KURA-E3604',
    new RegExp(`^pathd of host esx1 \\(${pathd.control.replace(/\./g, '\\.')}\\) did not export VVOL ${own[0]!.id} within 0\\.3 s of its bind\\.$`),
  );
  const unbinds = api.calls.filter((c) => c.route === VVOLS.unbind);
  assert.deepEqual(
    unbinds.map((c) => c.body),
    [{ ids: own.map((v) => v.id), host: 'esx1' }],
    'every VVOL bound for the power on is unbound again',
  );
});

test('a clone task that fails: KURA-E3621 with the array reason; what cannot be undone is KURA-W3600', async () => {
  const own = [vvol(1, 'config'), vvol(2, 'data'), vvol(3, 'swap')];
  const made = vvol(9, 'config', { ...ident, id: 'new', name: 'vm2' });
  const api = new ScriptedProvider(
    new Map<ApiRoute, (p: PathParams, b: unknown, q: QueryParams) => unknown>([
      [VVOLS.list, (_p, _b, q) => (q['vm'] === 'vm2' ? [] : own)],
      [CONTAINERS.list, () => [{ pool: 1, name: 'sc0' }]],
      [VVOLS.create, () => ({ vvol: made, warnings: [] })],
      [VVOLS.clone, () => ({ id: 'task-7', state: 'running', progress: 10 })],
      [VASA.task, () => ({ id: 'task-7', state: 'failed', progress: 40, result: null, error: { id: 'KURA-E1200', message: 'The pool is full.' } })],
      [
        VVOLS.delete,
        () => {
          throw new KuraError('KURA-E3044', 'ENOENT', 'The specified LD does not exist.', '');
        },
      ],
    ]),
  );
  const warnings: Warning[] = [];
  await rejectsWith(
    hypervisor(api, warnings).cloneVm('vm1', 'vm2'),
    'KURA-E3621',
    /^full clone of vm1 to vm2 \(task task-7\) ended failed: KURA-E1200 The pool is full\.$/,
  );
  assert.deepEqual(
    api.calls.filter((c) => c.route === VVOLS.delete).map((c) => c.params),
    [{ id: made.id }],
    "the undo tries to delete the clone's config VVOL",
  );
  assert.deepEqual(warnings, [{ id: 'KURA-W3600', text: `cloning VM vm1 to vm2 failed and could not be undone entirely; left behind: ${made.id}.` }]);
});
