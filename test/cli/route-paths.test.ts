// The kura CLI takes every REST path from the route descriptions (src/api):
// its sources hold no API path of their own, every request a command sends is
// a described route (method and path), and every described route but the few
// listed here has a command. The commands run (registered as kura registers
// them) in one child process against a stub server that records what they send.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ALERTS } from '../../src/api/alerts.js';
import { ARRAY } from '../../src/api/array.js';
import { EVENTS } from '../../src/api/events.js';
import { FAULTS } from '../../src/api/faults.js';
import { HOSTS } from '../../src/api/hosts.js';
import { allRoutes } from '../../src/api/index.js';
import { LDS } from '../../src/api/lds.js';
import { LICENSES } from '../../src/api/licenses.js';
import { LOCK } from '../../src/api/lock.js';
import { PAIRS } from '../../src/api/pairs.js';
import { PATH_STATES } from '../../src/api/path-states.js';
import { PERF } from '../../src/api/perf.js';
import { POOLS } from '../../src/api/pools.js';
import { API_PREFIX } from '../../src/api/route.js';
import { SNAPSHOTS } from '../../src/api/snapshots.js';
import { SUPPORT } from '../../src/api/support.js';
import { CONTAINERS, PES, POLICIES, VASA, VVOLS } from '../../src/api/vasa.js';
import { BACKUPS, PROVIDER } from '../../src/api/backup.js';
import type { ApiRoute } from '../../src/api/route.js';
import { registerAlert } from '../../src/cli/alert.js';
import { registerArray } from '../../src/cli/array.js';
import { ApiClient } from '../../src/cli/client.js';
import type { CliContext } from '../../src/cli/context.js';
import { registerEvents } from '../../src/cli/events.js';
import { registerHost } from '../../src/cli/host.js';
import { registerLd } from '../../src/cli/ld.js';
import { registerLock } from '../../src/cli/lock.js';
import { registerPair } from '../../src/cli/pair.js';
import { registerPerf } from '../../src/cli/perf.js';
import { registerPool } from '../../src/cli/pool.js';
import { registerPe } from '../../src/cli/pe.js';
import { registerPolicy } from '../../src/cli/policy.js';
import { registerBackup } from '../../src/cli/backup.js';
import { registerSnapshot } from '../../src/cli/snapshot.js';
import { registerVvol } from '../../src/cli/vvol.js';
import { DOT_NAME_ID } from '../../src/names.js';
import { ROOT } from '../helpers/cli.js';

/** Described routes no kura command sends, and why. */
const NOT_IN_CLI = new Map<ApiRoute, string>([
  [ARRAY.document, 'the API document is for API clients'],
  [EVENTS.record, 'sent by kura pathd (src/cli/pathd.ts), from the same description'],
  [SUPPORT.files, 'sent by kura logs collect among its other requests (test/ops/logs.test.ts)'],
  [PATH_STATES.report, 'sent by kura pathd --manager (src/pathmgr/state-report.ts), from the same description'],
]);

/** Every kura command that talks to the manager, and the route it sends (one request each with --json). */
const COMMANDS: Array<[string[], ApiRoute]> = [
  [['array', 'show'], ARRAY.show],
  [['pool', 'create', 'p', '--size', '1GiB', '--pds', '2', '--chunk', '1MiB', '--threshold', '70'], POOLS.create],
  [['pool', 'list'], POOLS.list],
  [['pool', 'show', 'p'], POOLS.show],
  [['pool', 'expand', 'p', '--add', '1GiB'], POOLS.expand],
  [['pool', 'set', 'p', '--threshold', '60'], POOLS.set],
  [['pool', 'delete', 'p'], POOLS.delete],
  [['ld', 'create', 'v', '--pool', 'p', '--size', '1GiB'], LDS.create],
  [['ld', 'list'], LDS.list],
  [['ld', 'show', 'v'], LDS.show],
  [['ld', 'expand', 'v', '--size', '2GiB'], LDS.expand],
  [['ld', 'set-qos', 'v', '--upper', '100'], LDS.setQos],
  [['ld', 'set-nbd-plain', 'v', 'on'], LDS.setNbdPlain],
  [['ld', 'delete', 'v', '--force', '--fcvforce'], LDS.delete],
  [['clone', 'create', 'v', 'c'], SNAPSHOTS.createClone],
  [['snapshot', 'create', 'v', '--name', 's'], SNAPSHOTS.create],
  [['snapshot', 'list', 'v'], SNAPSHOTS.list],
  [['snapshot', 'restore', 'v', 's'], SNAPSHOTS.restore],
  [['snapshot', 'set-access', 'v', 's', '--access', 'rw'], SNAPSHOTS.setAccess],
  [['snapshot', 'delete', 'v', 's'], SNAPSHOTS.delete],
  [['snapshot', 'delete-oldest', 'v', '--count', '2'], SNAPSHOTS.deleteOldest],
  [['host', 'create', 'h', '--initiator', 'iqn.1994-05.com.example:a'], HOSTS.create],
  [['host', 'list'], HOSTS.list],
  [['host', 'delete', 'h'], HOSTS.delete],
  [['host', 'add-initiator', 'h', 'iqn.1994-05.com.example:b'], HOSTS.addInitiator],
  [['host', 'remove-initiator', 'h', 'iqn.1994-05.com.example:b'], HOSTS.removeInitiator],
  [['host', 'map', 'h', 'v', '--lun', '3'], HOSTS.map],
  [['host', 'unmap', 'h', '3'], HOSTS.unmap],
  [['host', 'set-chap', 'h', '--user', 'u', '--secret', 'secretsecret12'], HOSTS.setChap],
  [['host', 'clear-chap', 'h'], HOSTS.clearChap],
  [['host', 'set-nbd-psk', 'h', '--psk-file', 'PSK', '--generate'], HOSTS.setNbdPsk],
  [['host', 'clear-nbd-psk', 'h'], HOSTS.clearNbdPsk],
  [['host', 'paths'], PATH_STATES.list],
  [['host', 'access', 'show'], HOSTS.access],
  [['host', 'access', 'start'], HOSTS.startAccess],
  [['host', 'access', 'stop', '--force'], HOSTS.stopAccess],
  [['target', 'show'], HOSTS.target],
  [['target', 'set-chap', '--user', 't', '--secret', 'targetsecret12'], HOSTS.setTargetChap],
  [['target', 'clear-chap'], HOSTS.clearTargetChap],
  [['fault', 'controller-down', '0'], FAULTS.inject],
  [['fault', 'list'], FAULTS.controllers],
  [['license', 'list'], LICENSES.list],
  [['license', 'unlock', 'VolumeClone'], LICENSES.unlock],
  [['pair', 'create', 'mv', 'rv'], PAIRS.create],
  [['pair', 'list'], PAIRS.list],
  [['pair', 'show', 'mv', 'rv'], PAIRS.show],
  [['pair', 'replicate', 'mv', 'rv', '--force'], PAIRS.replicate],
  [['pair', 'separate', 'mv', 'rv', '--rv-access', 'ro'], PAIRS.separate],
  [['pair', 'restore', 'mv', 'rv'], PAIRS.restore],
  [['pair', 'delete', 'mv', 'rv', '--force'], PAIRS.delete],
  [['lock', 'show'], LOCK.show],
  [['lock', 'acquire', '--ttl', '60'], LOCK.acquire],
  [['lock', 'release', '--force'], LOCK.release],
  [['events', '--limit', '5', '--severity', 'error', '--since', '7', '--newest-first'], EVENTS.list],
  [['pool', 'create', 'sc', '--size', '1GiB', '--container'], POOLS.create],
  [['pe', 'create', 'pe0', '--pool', 'sc', '--owner', '1'], PES.create],
  [['pe', 'list'], PES.list],
  [['pe', 'show', 'pe0'], PES.show],
  [['pe', 'delete', 'pe0'], PES.delete],
  [
    [
      'policy',
      'create',
      'gold',
      '--raid',
      'RAID1',
      '--pd-type',
      'FILE',
      '--encryption',
      '--backup',
      '--generations',
      '2',
      '--auto-delete',
      '--iops-upper',
      '1000',
      '--iops-lower',
      '100',
    ],
    POLICIES.create,
  ],
  [['policy', 'list'], POLICIES.list],
  [['policy', 'show', 'gold'], POLICIES.show],
  [['policy', 'delete', 'gold'], POLICIES.delete],
  [['policy', 'capabilities'], VASA.capabilities],
  [['vvol', 'limits'], VASA.limits],
  [['vvol', 'events', '--since', '3'], VASA.events],
  [['vvol', 'alarms', '--since', '3'], VASA.alarms],
  [['task', 'show', 't1'], VASA.task],
  [['task', 'cancel', 't1'], VASA.cancelTask],
  [['vvol', 'containers'], CONTAINERS.list],
  [['vvol', 'containers', 'sc'], CONTAINERS.show],
  [['vvol', 'container-compliance', 'sc', '--policy', 'gold'], CONTAINERS.compliance],
  [['vvol', 'list', '--container', 'sc', '--vm', 'vm1', '--type', 'data'], VVOLS.list],
  [['vvol', 'create', '--container', 'sc', '--type', 'data', '--size', '1GiB', '--vm', 'vm1', '--policy', 'gold', '--metadata', 'k=v'], VVOLS.create],
  [['vvol', 'show', 'naa.60000000000000000000000000000001'], VVOLS.show],
  [['vvol', 'metadata', 'naa.60000000000000000000000000000001', '--set', 'a=b', '--unset', 'c'], VVOLS.metadata],
  [['vvol', 'resize', 'naa.60000000000000000000000000000001', '--size', '2GiB'], VVOLS.resize],
  [['vvol', 'delete', 'naa.60000000000000000000000000000001'], VVOLS.delete],
  [['vvol', 'delete-batch', 'naa.60000000000000000000000000000001'], VVOLS.deleteBatch],
  [['vvol', 'revert', 'naa.60000000000000000000000000000001', '--snapshot', 'naa.60000000000000000000000000000001'], VVOLS.revert],
  [['vvol', 'fast-clone', 'naa.60000000000000000000000000000001', '--vm', 'vm2', '--policy', 'gold'], VVOLS.fastClone],
  [['vvol', 'clone', 'naa.60000000000000000000000000000001', '--vm', 'vm2', '--container', 'sc', '--policy', 'gold'], VVOLS.clone],
  [['vvol', 'migrate', 'naa.60000000000000000000000000000001', '--container', 'sc'], VVOLS.migrate],
  [['vvol', 'space', 'naa.60000000000000000000000000000001'], VVOLS.space],
  [['vvol', 'bitmap', 'naa.60000000000000000000000000000001', '--offset', '0', '--length', '1MiB'], VVOLS.allocatedBitmap],
  [['vvol', 'bitmap', 'naa.60000000000000000000000000000001', '--base', 'naa.60000000000000000000000000000001'], VVOLS.unsharedBitmap],
  [['vvol', 'set-policy', 'naa.60000000000000000000000000000001', '--policy', 'gold'], VVOLS.setPolicy],
  [['vvol', 'compliance', 'naa.60000000000000000000000000000001'], VVOLS.compliance],
  [['vvol', 'snapshots', 'naa.60000000000000000000000000000001'], VVOLS.snapshots],
  [['vvol', 'bindings', 'naa.60000000000000000000000000000001'], VVOLS.bindings],
  [['vvol', 'bind', 'naa.60000000000000000000000000000001', '--host', 'esx1'], VVOLS.bind],
  [['vvol', 'unbind', 'naa.60000000000000000000000000000001', '--host', 'esx1'], VVOLS.unbind],
  [['vvol', 'unbind-all', 'naa.60000000000000000000000000000001'], VVOLS.unbindAll],
  [['vvol', 'prepare-snapshot', 'naa.60000000000000000000000000000001'], VVOLS.prepareSnapshot],
  [['vvol', 'snapshot', 'prep-1', '--name', 's1'], VVOLS.snapshot],
  [['backup', 'list'], BACKUPS.list],
  [['backup', 'show', 'vm1', 'dc0'], BACKUPS.show],
  [['backup', 'run', 'vm1', 'dc0', '--no-wait'], BACKUPS.run],
  [['backup', 'cancel', 'vm1', 'dc0'], BACKUPS.cancel],
  [['backup', 'restore', 'vm1', 'dc0', '--from', 'last', '--disk', 'vm1.vmdk', '--config'], BACKUPS.restore],
  [['backup', 'job', 'backup-1'], BACKUPS.job],
  [['vm', 'relation', 'vm1', 'dc0'], BACKUPS.relation],
  [['vm', 'backup-script', 'vm1', 'dc0'], BACKUPS.script],
  [['provider', 'show'], PROVIDER.show],
  [['provider', 'set', '--interval', '10', '--add-array', '10.0.0.1'], PROVIDER.set],
  [['provider', 'relation', 'write'], PROVIDER.writeRelation],
  [['vvol', 'abandon-snapshot', 'prep-1'], VVOLS.abandonSnapshot],
  [['alert', 'add', 'a1', '--webhook', 'https://chat.example.com/hooks/x', '--min-severity', 'error', '--event', 'KURA-E1*'], ALERTS.create],
  [['alert', 'add', 'a2', '--syslog', '127.0.0.1:514', '--transport', 'tcp'], ALERTS.create],
  [['alert', 'add', 'a3', '--snmp', '127.0.0.1:162', '--community', 'c0mm'], ALERTS.create],
  [['alert', 'list'], ALERTS.list],
  [['alert', 'test', 'a1'], ALERTS.test],
  [['alert', 'delete', 'a1'], ALERTS.delete],
  [['perf', 'list'], PERF.list],
  [['perf', 'show', 'v', '--kind', 'pool', '--since', '2h', '--resolution', '1m'], PERF.show],
];

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** Set in the child process that runs the commands (see runCommands). */
const CHILD_ENV = 'KURA_TEST_ROUTE_PATHS';

/** The described route a request matches, by method and path template (as the manager's router matches). */
function describedRoute(method: string, rawUrl: string): ApiRoute | undefined {
  const p = rawUrl.split('?')[0]!;
  return allRoutes().find((r) => r.method === method && new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(p));
}

/**
 * Runs kura commands in process (the nouns' registrations, --json output)
 * against a stub server that answers {} and records each request. In a child
 * process of its own: the commands print to stdout, which the test runner owns here.
 */
function runCommands(commands: string[][]): Array<{ requests: Seen[]; error?: { id?: string; name: string; message: string } }> {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: JSON.stringify(commands) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const file = r.stdout.trim();
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ requests: Seen[]; error?: { id?: string; name: string; message: string } }>;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

async function childMain(commands: string[][]): Promise<void> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cli-routes-'));
  const results = [];
  const out = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  for (const [i, args] of commands.entries()) {
    const program = new Command().exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    const ctx: CliContext = { client: () => new ApiClient({ url, token: 'test-token-123456', owner: 'tester' }), json: () => true };
    for (const register of [
      registerArray,
      registerPool,
      registerLd,
      registerSnapshot,
      registerHost,
      registerEvents,
      registerLock,
      registerPair,
      registerPe,
      registerVvol,
      registerPolicy,
      registerBackup,
      registerAlert,
      registerPerf,
    ])
      register(program, ctx);
    const from = seen.length;
    let error;
    try {
      await program.parseAsync(
        args.map((a) => (a === 'PSK' ? path.join(tmp, `psk-${i}`) : a)),
        { from: 'user' },
      );
    } catch (e) {
      error = { id: (e as { id?: string }).id, name: (e as Error).name, message: (e as Error).message };
    }
    results.push({ requests: seen.slice(from), error });
  }
  server.closeAllConnections();
  server.close();
  const file = path.join(tmp, 'results.json');
  fs.writeFileSync(file, JSON.stringify(results));
  out(`${file}\n`);
}

if (process.env[CHILD_ENV] !== undefined) await childMain(JSON.parse(process.env[CHILD_ENV]) as string[][]);
else registerTests();

function registerTests(): void {
  test('the CLI sources hold no API path of their own (pathd control API aside)', () => {
    const firstSegments = new Set(allRoutes().map((r) => r.path.slice(API_PREFIX.length + 1).split('/')[0]!));
    const literal = new RegExp(`['"\`}]/(${[...firstSegments].map((s) => s.replace('.', '\\.')).join('|')})(['"\`/?$]|$)`);
    const dir = path.join(ROOT, 'src', 'cli');
    // path.ts talks to pathd's own control API (docs/pathmanager.md), not to the manager.
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'path.ts');
    assert.ok(files.length > 10);
    for (const f of files) {
      const code = fs
        .readFileSync(path.join(dir, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|\s)\/\/.*$/gm, '$1');
      code.split('\n').forEach((line, i) => {
        assert.ok(!line.includes(API_PREFIX), `src/cli/${f}:${i + 1} names ${API_PREFIX}: take paths from src/api (pathOf)\n${line.trim()}`);
        assert.ok(!literal.test(line), `src/cli/${f}:${i + 1} writes an API path as a string: take it from src/api (pathOf)\n${line.trim()}`);
      });
    }
  });

  test('every request a kura command sends is a described route, and every route has its command', { timeout: 90_000 }, async () => {
    const results = runCommands(COMMANDS.map(([args]) => args));
    const used = new Set<ApiRoute>();
    COMMANDS.forEach(([args, expected], i) => {
      const { requests, error } = results[i]!;
      const what = `kura ${args.join(' ')}`;
      assert.equal(error, undefined, `${what} failed: ${JSON.stringify(error)}`);
      assert.equal(requests.length, 1, `${what} sent ${requests.length} requests`);
      const req = requests[0]!;
      const r = describedRoute(req.method, req.url);
      assert.ok(r, `${what} sent ${req.method} ${req.url}, which no route describes`);
      assert.equal(r, expected, `${what} sent ${req.method} ${req.url}, not ${expected.method} ${expected.path}`);
      for (const k of new URLSearchParams(req.url.split('?')[1] ?? '').keys())
        assert.ok(r.query && Object.hasOwn(r.query, k), `${what}: query parameter ${k} is not described`);
      if (req.body)
        for (const k of Object.keys(JSON.parse(req.body) as object)) assert.ok(r.body && Object.hasOwn(r.body, k), `${what}: body field ${k} is not described`);
      used.add(expected);
    });
    const missing = allRoutes()
      .filter((r) => !used.has(r) && !NOT_IN_CLI.has(r))
      .map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(missing, [], 'routes without a kura command (add one, or list the route in NOT_IN_CLI with the reason)');
  });

  test('path parameters are percent-encoded, queries as described; dot segments are refused before anything is sent', { timeout: 60_000 }, async () => {
    const [snap, del, events, dots] = runCommands([
      ['snapshot', 'delete', 'my vol', 'gen#1?'],
      ['ld', 'delete', 'v', '--fcvforce'],
      ['events', '--limit', '5', '--severity', 'error', '--since', '7', '--newest-first'],
      ['pool', 'show', '..'],
    ]);
    assert.deepEqual(
      snap!.requests.map((r) => `${r.method} ${r.url}`),
      ['DELETE /api/v1/lds/my%20vol/snapshots/gen%231%3F'],
    );
    assert.deepEqual(
      del!.requests.map((r) => `${r.method} ${r.url}`),
      ['DELETE /api/v1/lds/v?fcvforce=true'],
    );
    assert.deepEqual(
      events!.requests.map((r) => `${r.method} ${r.url}`),
      ['GET /api/v1/events?limit=5&severity=error&since=7&order=desc'],
    );
    assert.deepEqual(dots!.requests, [], 'nothing sent for ..');
    assert.equal(dots!.error?.name, 'CliArgError');
    assert.equal(dots!.error?.id, DOT_NAME_ID);
  });
}
