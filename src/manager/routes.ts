// The REST API's routes: what each path does to the array, and the event the
// manager records for every configuration change.
import type { ArrayAgent, Severity } from '../array/agent.js';
import { KuraError } from '../errors.js';
import { hex4, humanSize, parseNumber } from '../units.js';
import type { EventStore } from './events.js';
import type { Route, Router } from './router.js';

function ref(s: string): string | number {
  return parseNumber(s, 'reference', true) ?? s;
}

/** A path parameter that must be a number (a LUN): refused with an API id, not the CLI's. */
function num(s: string, what: string): number {
  const n = parseNumber(s, what, true);
  if (n === undefined) throw new KuraError('KURA-E4035', 'EINVAL', `${what} ${JSON.stringify(s).slice(0, 60)} is not a number.`, `Give the ${what} as a whole number in decimal or NEC-style hex such as 0001h.`);
  return n;
}

const SEVERITIES: Severity[] = ['info', 'warning', 'error'];

/**
 * The new capacity an expand body asks for. Exactly one of add (bytes to add)
 * and total (the new capacity) is given; the older field "size" keeps the
 * meaning it always had on that route (`legacy`: add on pools, total on LDs).
 * A total below the current capacity is left to the caller (an LD refuses to
 * shrink with its own id).
 */
function growth(body: Record<string, unknown>, legacy: 'add' | 'total', current: number, what: string): number {
  const given = (['add', 'total', 'size'] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) {
    throw new KuraError('KURA-E4033', 'EINVAL', given.length ? `The fields ${given.join(', ')} were given together.` : 'Neither add nor total was given.', 'Give exactly one: add (capacity to add, e.g. "1GiB") or total (the new capacity).');
  }
  const k = given[0] === 'size' ? legacy : given[0]!;
  const v = body[given[0]!] as number;
  if (k === 'add') {
    if (v <= 0) throw new KuraError('KURA-E4034', 'EINVAL', `${what}: ${given[0]} must be more than 0 bytes.`, 'Give the capacity to add, e.g. "1GiB".');
    return current + v;
  }
  return v;
}

/** "4.0 GiB (4,294,967,296 bytes)" for event texts. */
export function bytesText(n: number): string {
  return `${humanSize(n)} (${n.toLocaleString('en-US')} bytes)`;
}

export function addRoutes(router: Router, agent: ArrayAgent, events: EventStore, openapi: () => unknown): void {
  /** Records the configuration change a mutating route made. */
  const changed = (id: string, source: string, text: string) => events.record({ id, severity: 'info', source, text });
  const r = (route: Route) => router.add(route);

  r({ method: 'GET', path: '/api/v1/openapi.json', tag: 'meta', summary: 'This API document', public: true, handler: () => openapi() });
  r({ method: 'GET', path: '/api/v1/array', tag: 'array', summary: 'Array identity, version, controllers and memory use', handler: () => ({ ...agent.info(), controllers: agent.listControllers() }) });

  // ---- pools ----
  r({ method: 'GET', path: '/api/v1/pools', tag: 'pools', summary: 'List pools', handler: () => agent.listPools() });
  r({
    method: 'POST',
    path: '/api/v1/pools',
    tag: 'pools',
    summary: 'Create a pool of new sparse PDs',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'pool name' },
      size: { type: 'size', required: true, description: 'usable capacity' },
      pds: { type: 'integer', description: 'PDs in the first RAID group' },
      raid: { type: 'string', description: 'RAID0, RAID1 (default) or RAID10' },
      chunk: { type: 'size', description: 'chunk size, a power of two from 64KiB to 64MiB (default 1MiB)' },
      threshold: { type: 'integer', description: 'actual-capacity threshold in percent (default 80)' },
    },
    handler: async ({ body }) => {
      const raid = body['raid'] as string | undefined;
      const p = await agent.createPool({
        name: body['name'] as string,
        size: body['size'] as number,
        pds: body['pds'] as number | undefined,
        raid: raid === undefined ? undefined : (`RAID${raid.toUpperCase().replace(/^RAID/, '')}` as 'RAID0'),
        chunkSize: body['chunk'] as number | undefined,
        threshold: body['threshold'] as number | undefined,
      });
      changed('KURA-I4001', `pool/${p.name}`, `Pool ${p.name} created (${p.raid}, ${bytesText(p.capacity)}, ${p.pds.length} PDs).`);
      return p;
    },
  });
  r({ method: 'GET', path: '/api/v1/pools/{ref}', tag: 'pools', summary: 'Show a pool', handler: ({ params }) => agent.getPool(ref(params['ref']!)) });
  r({
    method: 'PATCH',
    path: '/api/v1/pools/{ref}',
    tag: 'pools',
    summary: 'Change pool settings: threshold, I/O limit defaults for new LDs',
    body: {
      threshold: { type: 'integer', description: 'actual-capacity threshold in percent' },
      qosUpper: { type: 'integer', description: 'default IOPS upper limit of new LDs (0 clears)' },
      qosLower: { type: 'integer', description: 'default IOPS lower limit of new LDs (0 clears)' },
      qosMode: { type: 'string', description: 'I/O control mode: on (LD limits act) or off' },
    },
    handler: async ({ params, body }) => {
      const r = ref(params['ref']!);
      if (body['threshold'] === undefined && body['qosUpper'] === undefined && body['qosLower'] === undefined && body['qosMode'] === undefined) {
        throw new KuraError('KURA-E4014', 'EINVAL', 'Nothing to change.', 'Give threshold, qosUpper, qosLower or qosMode.');
      }
      let p = agent.getPool(r);
      if (body['threshold'] !== undefined) {
        p = await agent.setPoolThreshold(r, body['threshold'] as number);
        changed('KURA-I4002', `pool/${p.name}`, `Pool ${p.name} threshold set to ${p.threshold}%.`);
      }
      if (body['qosUpper'] !== undefined || body['qosLower'] !== undefined) {
        p = await agent.setPoolQosDefaults(r, { upper: body['qosUpper'] as number | undefined, lower: body['qosLower'] as number | undefined });
        changed('KURA-I4005', `pool/${p.name}`, `Pool ${p.name} I/O limit defaults set to upper ${p.qosDefaults.upper}, lower ${p.qosDefaults.lower} IOPS.`);
      }
      if (body['qosMode'] !== undefined) {
        p = await agent.setPoolQosMode(r, body['qosMode'] as string);
        changed('KURA-I2613', `pool/${p.name}`, `Pool ${p.name} I/O control mode set to ${p.qosMode}.`);
      }
      return p;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/pools/{ref}/expand',
    tag: 'pools',
    summary: 'Add capacity to a pool (a new RAID group of PDs), online: give exactly one of add (bytes to add) or total (the new capacity)',
    body: {
      add: { type: 'size', description: 'capacity to add' },
      total: { type: 'size', description: 'new total capacity (larger than the current one)' },
      size: { type: 'size', description: 'capacity to add (older name of add)' },
    },
    handler: async ({ params, body }) => {
      const r = ref(params['ref']!);
      const before = agent.getPool(r);
      const add = growth(body, 'add', before.capacity, `Pool ${before.name}`) - before.capacity;
      if (add <= 0) {
        throw new KuraError('KURA-E4034', 'EINVAL', `Pool ${before.name} is already ${bytesText(before.capacity)}; a total of ${bytesText(before.capacity + add)} would not grow it.`, 'Give a total larger than the current capacity, or add: the capacity to add.');
      }
      const p = await agent.expandPool(r, add);
      changed('KURA-I4003', `pool/${p.name}`, `Pool ${p.name} expanded by ${bytesText(p.capacity - before.capacity)} to ${bytesText(p.capacity)}.`);
      return p;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/pools/{ref}',
    tag: 'pools',
    summary: 'Delete a pool (refused while it holds LDs)',
    status: 204,
    handler: async ({ params }) => {
      const p = agent.getPool(ref(params['ref']!));
      await agent.deletePool(p.number);
      changed('KURA-I4004', `pool/${p.name}`, `Pool ${p.name} deleted.`);
    },
  });

  // ---- LDs ----
  r({ method: 'GET', path: '/api/v1/lds', tag: 'lds', summary: 'List logical disks', handler: () => agent.listLds() });
  r({
    method: 'POST',
    path: '/api/v1/lds',
    tag: 'lds',
    summary: 'Create a thin logical disk (or the SSV with attr "ssv")',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'LD name (also its NBD export name)' },
      pool: { type: 'string', required: true, description: 'pool name or number' },
      size: { type: 'size', description: 'virtual capacity (required except for the SSV)' },
      attr: { type: 'string', description: '"ssv" for the solution reserved volume' },
      force: { type: 'boolean', description: 'create the SSV even in a pool with less than 4 GiB free (its space is then not reserved)' },
    },
    handler: async ({ body }) => {
      if (body['size'] === undefined && body['attr'] !== 'ssv') {
        throw new KuraError('KURA-E4012', 'EINVAL', 'The field "size" is required.', 'Give size: the virtual capacity, e.g. "10GiB".');
      }
      const l = await agent.createLd({ name: body['name'] as string, pool: body['pool'] as string, size: (body['size'] as number | undefined) ?? 0, attr: body['attr'] as string | undefined, force: body['force'] as boolean | undefined });
      changed('KURA-I4010', `ld/${l.name}`, `LD ${l.name} (${hex4(l.number)}h) created in pool ${l.pool} (${bytesText(l.capacity)}).`);
      return l;
    },
  });
  r({ method: 'GET', path: '/api/v1/lds/{ref}', tag: 'lds', summary: 'Show a logical disk', handler: ({ params }) => agent.getLd(ref(params['ref']!)) });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/expand',
    tag: 'lds',
    summary: 'Grow a logical disk: give exactly one of add (bytes to add) or total (the new virtual capacity)',
    body: {
      add: { type: 'size', description: 'capacity to add' },
      total: { type: 'size', description: 'new virtual capacity (larger than the current one)' },
      size: { type: 'size', description: 'new virtual capacity (older name of total)' },
    },
    handler: async ({ params, body }) => {
      const r = ref(params['ref']!);
      const before = agent.getLd(r);
      const l = await agent.expandLd(r, growth(body, 'total', before.capacity, `LD ${before.name}`));
      changed('KURA-I4011', `ld/${l.name}`, `LD ${l.name} expanded to ${bytesText(l.capacity)}.`);
      return l;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/lds/{ref}',
    tag: 'lds',
    summary: 'Delete a logical disk (refused while mapped or open unless ?force=true, which answers 200 with what it unmapped and cut off; ?fcvforce=true for a fast clone)',
    status: 204,
    query: {
      fcvforce: { type: 'boolean', description: 'confirm deleting a fast clone (FCV)' },
      force: { type: 'boolean', description: 'unmap the LD from every host and delete it under open sessions (the answer lists them); also deletes a faulty SSV that snapshots still use' },
    },
    handler: async ({ params, query }) => {
      const l = agent.getLd(ref(params['ref']!));
      const force = query['force'] === true;
      const done = await agent.deleteLd(l.number, { fcvforce: query['fcvforce'] === true, force });
      changed('KURA-I4012', `ld/${l.name}`, `LD ${l.name} deleted.`);
      // A forced delete tells what it did; a plain one has nothing to tell (204).
      return force ? done : undefined;
    },
  });

  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/qos',
    tag: 'lds',
    summary: 'Set I/O control limits (IOPS upper and lower; 0 clears)',
    body: {
      upper: { type: 'integer', description: 'IOPS upper limit, 10 to 1000000, 0 clears' },
      lower: { type: 'integer', description: 'IOPS lower (guaranteed) limit, 10 to 1000000, 0 clears' },
    },
    handler: async ({ params, body }) => {
      const l = await agent.setQos(ref(params['ref']!), { upper: body['upper'] as number | undefined, lower: body['lower'] as number | undefined });
      changed('KURA-I4013', `ld/${l.name}`, `LD ${l.name} I/O limits set to upper ${l.qos.upper}, lower ${l.qos.lower} IOPS.`);
      return l;
    },
  });

  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/nbd-plain',
    tag: 'lds',
    summary: 'Open an LD (and its snapshots) to unidentified NBD clients while access control is on, or close it',
    body: { plain: { type: 'boolean', required: true, description: 'true: plain NBD clients may list and open the LD' } },
    handler: async ({ params, body }) => {
      const l = await agent.setLdNbdPlain(ref(params['ref']!), body['plain'] as boolean);
      changed('KURA-I6122', `ld/${l.name}`, l.nbdPlain ? `LD ${l.name} is open to plain (unidentified) NBD clients.` : `LD ${l.name} is closed to plain NBD clients.`);
      return l;
    },
  });

  // ---- snapshots and clones ----
  r({ method: 'GET', path: '/api/v1/lds/{ref}/snapshots', tag: 'snapshots', summary: 'List snapshot generations of an LD', handler: ({ params }) => agent.listSnapshots(ref(params['ref']!)) });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots',
    tag: 'snapshots',
    summary: 'Take a snapshot (the LD becomes an EBV, the snapshot an ESV)',
    status: 201,
    body: { name: { type: 'string', description: 'snapshot name (default genN)' } },
    handler: async ({ params, body }) => {
      const s = await agent.createSnapshot(ref(params['ref']!), body['name'] as string | undefined);
      changed('KURA-I4020', `ld/${s.ld}`, `Snapshot ${s.ld} (generation ${s.generation}) created.`);
      return s;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/{snap}/restore',
    tag: 'snapshots',
    summary: 'Revert the LD to a snapshot generation',
    handler: async ({ params }) => {
      const l = await agent.restoreSnapshot(ref(params['ref']!), params['snap']!);
      changed('KURA-I4021', `ld/${l.name}`, `LD ${l.name} restored from snapshot ${params['snap']}.`);
      return l;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/{snap}/access',
    tag: 'snapshots',
    summary: 'Make a snapshot read/write or read-only (iSMsc_chgmod -volacc); writes to it never change the base',
    body: { access: { type: 'string', required: true, description: 'rw or ro' } },
    handler: async ({ params, body }) => {
      const s = await agent.setSnapshotAccess(ref(params['ref']!), params['snap']!, body['access'] as string);
      changed('KURA-I2604', `ld/${s.ld}`, `Snapshot ${s.ld} access set to ${s.access}.`);
      return s;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/lds/{ref}/snapshots/{snap}',
    tag: 'snapshots',
    summary: 'Delete a snapshot generation',
    status: 204,
    handler: async ({ params }) => {
      await agent.deleteSnapshot(ref(params['ref']!), params['snap']!);
      changed('KURA-I4022', `ld/${params['ref']}`, `Snapshot ${params['ref']}@${params['snap']} deleted.`);
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/delete-oldest',
    tag: 'snapshots',
    summary: 'Delete the oldest N generations (generationdel)',
    body: { count: { type: 'integer', required: true, description: 'how many generations' } },
    handler: async ({ params, body }) => {
      const gone = await agent.deleteOldestSnapshots(ref(params['ref']!), body['count'] as number);
      changed('KURA-I4023', `ld/${params['ref']}`, `${gone.length} oldest snapshot generation(s) of ${params['ref']} deleted.`);
      return gone;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/lds/{ref}/clones',
    tag: 'snapshots',
    summary: 'Make a fast clone (the source becomes an FEV, the clone an FCV)',
    status: 201,
    body: { name: { type: 'string', required: true, description: 'name of the new clone LD' } },
    handler: async ({ params, body }) => {
      const l = await agent.createClone(ref(params['ref']!), body['name'] as string);
      changed('KURA-I4024', `ld/${l.name}`, `Fast clone ${l.name} of ${params['ref']} created.`);
      return l;
    },
  });

  // ---- hosts (access control) ----
  r({ method: 'GET', path: '/api/v1/hosts', tag: 'hosts', summary: 'List host entries with their initiators and LUNs', handler: () => agent.listHosts() });
  r({
    method: 'POST',
    path: '/api/v1/hosts',
    tag: 'hosts',
    summary: 'Create a host entry',
    status: 201,
    body: { name: { type: 'string', required: true, description: 'host name' }, initiators: { type: 'string[]', description: 'initiator IQNs' } },
    handler: async ({ body }) => {
      const h = await agent.createHost(body['name'] as string, (body['initiators'] as string[] | undefined) ?? []);
      changed('KURA-I4030', `host/${h.name}`, `Host ${h.name} created.`);
      return h;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/hosts/{name}',
    tag: 'hosts',
    summary: 'Delete a host entry',
    status: 204,
    handler: async ({ params }) => {
      await agent.deleteHost(params['name']!);
      changed('KURA-I4031', `host/${params['name']}`, `Host ${params['name']} deleted.`);
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/hosts/{name}/initiators',
    tag: 'hosts',
    summary: 'Add an initiator to a host',
    body: { iqn: { type: 'string', required: true, description: 'initiator IQN' } },
    handler: async ({ params, body }) => {
      const h = await agent.addInitiator(params['name']!, body['iqn'] as string);
      changed('KURA-I4032', `host/${h.name}`, `Initiator ${body['iqn']} added to host ${h.name}.`);
      return h;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/initiators/{iqn}',
    tag: 'hosts',
    summary: 'Remove an initiator from a host',
    handler: async ({ params }) => {
      const h = await agent.removeInitiator(params['name']!, params['iqn']!);
      changed('KURA-I4033', `host/${h.name}`, `Initiator ${params['iqn']} removed from host ${h.name}.`);
      return h;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/hosts/{name}/luns',
    tag: 'hosts',
    summary: 'Map an LD into the host LUN space',
    body: { ld: { type: 'string', required: true, description: 'LD name or number' }, lun: { type: 'integer', description: 'LUN (default: lowest free)' } },
    handler: async ({ params, body }) => {
      const h = await agent.mapLun(params['name']!, ref(body['ld'] as string), body['lun'] as number | undefined);
      changed('KURA-I4034', `host/${h.name}`, `LD ${body['ld']} mapped to host ${h.name}.`);
      return h;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/luns/{lun}',
    tag: 'hosts',
    summary: 'Unmap a LUN from a host',
    handler: async ({ params }) => {
      const h = await agent.unmapLun(params['name']!, num(params['lun']!, 'LUN'));
      changed('KURA-I4035', `host/${h.name}`, `LUN ${params['lun']} unmapped from host ${h.name}.`);
      return h;
    },
  });

  r({
    method: 'POST',
    path: '/api/v1/hosts/{name}/chap',
    tag: 'hosts',
    summary: "Require one-way CHAP from the host's initiators (user name and secret, 12 to 255 characters)",
    body: { user: { type: 'string', required: true, description: 'CHAP user name (CHAP_N) the initiators send' }, secret: { type: 'string', required: true, description: 'CHAP secret, 12 to 255 printable characters' } },
    handler: async ({ params, body }) => {
      const h = await agent.setHostChap(params['name']!, body['user'] as string, body['secret'] as string);
      changed('KURA-I4036', `host/${h.name}`, `Host ${h.name} now logs in with CHAP user ${h.chap?.user}.`);
      return h;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/chap',
    tag: 'hosts',
    summary: "Stop requiring CHAP from the host's initiators",
    handler: async ({ params }) => {
      const h = await agent.clearHostChap(params['name']!);
      changed('KURA-I4037', `host/${h.name}`, `Host ${h.name} no longer uses CHAP.`);
      return h;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/hosts/{name}/nbd-psk',
    tag: 'hosts',
    summary: "Give the host's NBD clients a TLS pre-shared key; their PSK identity is the host name (the key is never returned)",
    body: { key: { type: 'string', required: true, description: 'the key in hex, 16 to 256 bytes (psktool writes 32)' } },
    handler: async ({ params, body }) => {
      const h = await agent.setHostNbdPsk(params['name']!, body['key'] as string);
      changed('KURA-I6120', `host/${h.name}`, `Host ${h.name} now identifies its NBD clients with a TLS pre-shared key (identity ${h.name}).`);
      return h;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/nbd-psk',
    tag: 'hosts',
    summary: "Remove the host's NBD pre-shared key (new TLS connections as the host fail)",
    handler: async ({ params }) => {
      const h = await agent.clearHostNbdPsk(params['name']!);
      changed('KURA-I6121', `host/${h.name}`, `Host ${h.name} no longer has an NBD pre-shared key.`);
      return h;
    },
  });
  // Access control is its own resource (not under /hosts, where a host could be named "access").
  r({ method: 'GET', path: '/api/v1/access', tag: 'hosts', summary: 'Access control: on (host entries decide which initiator sees which LD) or off (every initiator sees every LD)', handler: () => agent.accessControl() });
  r({
    method: 'POST',
    path: '/api/v1/access/start',
    tag: 'hosts',
    summary: 'Start access control: initiators see only the LDs mapped to their host entry (none while no host entry exists)',
    handler: () => agent.setAccessControl(true),
  });
  r({
    method: 'POST',
    path: '/api/v1/access/stop',
    tag: 'hosts',
    summary: 'Stop access control: every initiator then sees every LD; refused (KURA-E2524) without force',
    body: { force: { type: 'boolean', description: 'confirm that every initiator may see every LD' } },
    handler: ({ body }) => agent.setAccessControl(false, body['force'] === true),
  });
  r({ method: 'GET', path: '/api/v1/target', tag: 'hosts', summary: "The array's iSCSI target: name, portals, mutual CHAP user", handler: () => agent.targetInfo() });
  r({
    method: 'POST',
    path: '/api/v1/target/chap',
    tag: 'hosts',
    summary: 'Set the credentials the target answers initiators with (mutual CHAP)',
    body: { user: { type: 'string', required: true, description: 'CHAP user name the target sends' }, secret: { type: 'string', required: true, description: 'CHAP secret, 12 to 255 printable characters' } },
    handler: async ({ body }) => {
      const t = await agent.setTargetChap(body['user'] as string, body['secret'] as string);
      changed('KURA-I4038', 'target', `Mutual CHAP set for target ${t.name} (user ${t.mutualChap?.user}).`);
      return t;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/target/chap',
    tag: 'hosts',
    summary: 'Remove the mutual CHAP credentials',
    handler: async () => {
      const t = await agent.clearTargetChap();
      changed('KURA-I4039', 'target', `Mutual CHAP removed from target ${t.name}.`);
      return t;
    },
  });

  // ---- controllers and fault injection ----
  r({ method: 'GET', path: '/api/v1/controllers', tag: 'faults', summary: 'Controllers and host ports with their states', handler: () => agent.listControllers() });
  r({
    method: 'POST',
    path: '/api/v1/faults',
    tag: 'faults',
    summary: 'Inject or clear a fault: controller-down/-up N, port-down/-up HOST:PORT',
    body: {
      action: { type: 'string', required: true, description: 'controller-down, controller-up, port-down or port-up' },
      target: { type: 'string', required: true, description: 'a string: the controller number ("0", "1") for controller-*, HOST:PORT of a host port for port-*' },
    },
    handler: async ({ body }) => {
      const action = body['action'] as string;
      const target = body['target'] as string;
      let out;
      if (action === 'controller-down' || action === 'controller-up') {
        // A controller number only: not a port, not "1.5", not an id from the CLI's number parser.
        const n = /^\d{1,3}$/.test(target) ? Number(target) : parseNumber(target, 'controller', true);
        if (n === undefined) {
          throw new KuraError('KURA-E4032', 'EINVAL', `The target ${JSON.stringify(target).slice(0, 60)} of ${action} is not a controller number.`, 'Give the controller number as a string, e.g. "0" or "1" (kura array show lists them).');
        }
        out = await agent.setControllerState(n, action === 'controller-down' ? 'down' : 'online');
      } else if (action === 'port-down' || action === 'port-up') {
        const m = /^(.+):(\d{1,5})$/.exec(target);
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new KuraError('KURA-E4020', 'EINVAL', `"${target.slice(0, 60)}" is not HOST:PORT.`, 'Give the host port as HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:3260 (kura array show lists them).');
        out = await agent.setPortState(m[1]!, Number(m[2]), action === 'port-down' ? 'down' : 'up');
      } else {
        throw new KuraError('KURA-E4021', 'EINVAL', `Fault action "${action.slice(0, 40)}" is not known.`, 'Use controller-down, controller-up, port-down or port-up.');
      }
      changed('KURA-I4040', 'faults', `Fault injection: ${action} ${target}.`);
      return out;
    },
  });

  // ---- licences ----
  r({ method: 'GET', path: '/api/v1/licenses', tag: 'licenses', summary: 'Feature licences and their states', handler: () => agent.listLicenses() });
  r({
    method: 'POST',
    path: '/api/v1/licenses/{name}/unlock',
    tag: 'licenses',
    summary: 'Unlock a feature licence',
    handler: async ({ params }) => {
      const out = await agent.unlockLicense(params['name']!);
      changed('KURA-I4050', 'array', `Licence ${params['name']} unlocked.`);
      return out;
    },
  });

  // ---- replication pairs ----
  const pairPath = (p: Record<string, string>) => `pair/${p['mv']}/${p['rv']}`;
  r({ method: 'GET', path: '/api/v1/pairs', tag: 'pairs', summary: 'Replication pairs (MV → RV) with their states and copy progress', handler: () => agent.listPairs() });
  r({
    method: 'POST',
    path: '/api/v1/pairs',
    tag: 'pairs',
    summary: 'Pair two LDs of the same size (DynamicDataReplication licence); the pair starts separated',
    status: 201,
    body: { mv: { type: 'string', required: true, description: 'master volume: LD name or number' }, rv: { type: 'string', required: true, description: 'replication volume: LD name or number (not mapped to a host)' } },
    handler: async ({ body }) => {
      const p = await agent.createPair(ref(body['mv'] as string), ref(body['rv'] as string));
      changed('KURA-I2350', `pair/${p.mv}/${p.rv}`, `Replication pair ${p.mv} → ${p.rv} created.`);
      return p;
    },
  });
  r({ method: 'GET', path: '/api/v1/pairs/{mv}/{rv}', tag: 'pairs', summary: 'One pair as iSMrc_query shows it: activity, sync state, differences, progress, remaining time', handler: ({ params }) => agent.getPair(ref(params['mv']!), ref(params['rv']!)) });
  r({
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/replicate',
    tag: 'pairs',
    summary: 'Copy MV → RV in the background (all allocated chunks the first time, differences after), mirroring writes from then on',
    body: { force: { type: 'boolean', description: 'replicate even over an RV whose restore to the MV was cut short (the MV is then partly restored)' } },
    handler: async ({ params, body }) => {
      const p = await agent.replicatePair(ref(params['mv']!), ref(params['rv']!), { force: body['force'] as boolean | undefined });
      changed('KURA-I2351', pairPath(params), `Replicate started on pair ${p.mv} → ${p.rv} (${bytesText(p.copyDiffBytes)} to copy).`);
      return p;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/separate',
    tag: 'pairs',
    summary: 'Separate: freeze the RV and make it accessible; with a copy running, sep/exec until it ends (force: at once, RV incomplete)',
    body: {
      rvAccess: { type: 'string', enum: ['rw', 'ro'], description: 'RV access after the separate: rw (default) or ro' },
      force: { type: 'boolean', description: 'separate at once even if a copy is running (the RV is then incomplete: sync state fault)' },
    },
    handler: async ({ params, body }) => {
      const p = await agent.separatePair(ref(params['mv']!), ref(params['rv']!), { rvAccess: body['rvAccess'] as string | undefined, force: body['force'] as boolean | undefined });
      changed('KURA-I2352', pairPath(params), `Separate ${body['force'] ? '(forced) ' : ''}on pair ${p.mv} → ${p.rv}: ${p.sync}, RV access ${p.rvAccess}.`);
      return p;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/restore',
    tag: 'pairs',
    summary: 'Restore: copy RV → MV in the background; the MV stays readable and writable meanwhile',
    handler: async ({ params }) => {
      const p = await agent.restorePair(ref(params['mv']!), ref(params['rv']!));
      changed('KURA-I2353', pairPath(params), `Restore started on pair ${p.mv} → ${p.rv} (${bytesText(p.copyDiffBytes)} to copy).`);
      return p;
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/pairs/{mv}/{rv}',
    tag: 'pairs',
    summary: 'Unpair (a separated pair; ?force=true in any state, stopping a running copy)',
    query: { force: { type: 'boolean', description: 'unpair even when not separated' } },
    handler: async ({ params, query }) => {
      const p = await agent.deletePair(ref(params['mv']!), ref(params['rv']!), { force: query['force'] === true });
      changed('KURA-I2354', pairPath(params), `Replication pair ${p.mv} → ${p.rv} deleted${query['force'] ? ' by force' : ''}.`);
      return p;
    },
  });

  // ---- configuration lock ----
  r({ method: 'GET', path: '/api/v1/lock', tag: 'lock', summary: 'The configuration lock: holder and expiry', handler: () => agent.lockInfo() });
  r({
    method: 'POST',
    path: '/api/v1/lock',
    tag: 'lock',
    summary: 'Take (or renew) the configuration lock; while held, changes from other owners (header X-Kura-Owner) are refused with KURA-E2400',
    lockExempt: true,
    body: {
      owner: { type: 'string', description: 'owner name (default: the X-Kura-Owner header)' },
      ttl: { type: 'integer', description: 'seconds until it expires unless renewed (default 600); every change by the holder renews it' },
    },
    handler: ({ body, owner }) => {
      const who = (body['owner'] as string | undefined) ?? owner;
      if (who === undefined) throw new KuraError('KURA-E2408', 'EINVAL', 'The lock needs an owner name.', 'Give owner in the body or send the X-Kura-Owner header.');
      return agent.acquireLock(who, body['ttl'] as number | undefined);
    },
  });
  r({
    method: 'DELETE',
    path: '/api/v1/lock',
    tag: 'lock',
    summary: "Release the configuration lock (?force=true releases another owner's lock)",
    lockExempt: true,
    query: { force: { type: 'boolean', description: "release even when another owner holds it" }, owner: { type: 'string', description: 'owner name (default: the X-Kura-Owner header)' } },
    handler: ({ query, owner }) => agent.releaseLock((query['owner'] as string | undefined) ?? owner, query['force'] === true),
  });

  // ---- events ----
  r({
    method: 'GET',
    path: '/api/v1/events',
    tag: 'events',
    summary: 'Events: the newest `limit` (default 100) matching the filters, oldest first (newest last) unless order=desc',
    query: {
      limit: { type: 'integer', description: 'how many of the newest matching events, 1 to 10000 (default 100)' },
      severity: { type: 'string', enum: SEVERITIES, description: 'only events of this severity' },
      since: { type: 'integer', description: 'only events whose seq is greater than this (for polling)' },
      order: { type: 'string', enum: ['asc', 'desc'], description: 'asc (default): oldest first, newest last; desc: newest first' },
    },
    handler: ({ query }) => {
      const limit = (query['limit'] as number | undefined) ?? 100;
      if (limit < 1 || limit > 10000) throw new KuraError('KURA-E4022', 'EINVAL', `limit ${limit} is out of range.`, 'Give a limit from 1 to 10000.');
      const list = events.list({ limit, severity: query['severity'] as Severity | undefined, since: query['since'] as number | undefined });
      return query['order'] === 'desc' ? list.reverse() : list;
    },
  });
  r({
    method: 'POST',
    path: '/api/v1/events',
    tag: 'events',
    summary: 'Record an event reported by a host-side agent (kura pathd): its id, severity and text, source host:NAME',
    body: {
      id: { type: 'string', required: true, description: 'the event id, KURA-[EWI]nnnn' },
      severity: { type: 'string', required: true, enum: SEVERITIES, description: 'info, warning or error' },
      host: { type: 'string', required: true, description: 'the reporting host or agent' },
      text: { type: 'string', required: true, description: 'what happened' },
    },
    status: 201,
    lockExempt: true,
    handler: ({ body }) => {
      const id = body['id'] as string;
      if (!/^KURA-[EWI]\d{4}$/.test(id)) throw new KuraError('KURA-E7049', 'EINVAL', `event id ${id} is not KURA-Ennnn, KURA-Wnnnn or KURA-Innnn.`, 'Give the id of the event as its reporter logged it.');
      const host = String(body['host']).slice(0, 128);
      return events.record({ id, severity: body['severity'] as Severity, source: `host:${host}`, text: String(body['text']).slice(0, 2000) });
    },
  });
}
