// The VVOL provider over REST (/api/v1/vasa): each route is one provider
// operation. Every request runs under the provider's per-session gate (the
// session is the client's owner header, VASA's maxConcurrentRequestsPerSession).
// Configuration changes are recorded by the provider as its own events
// (GET /vasa/events); the array's changes underneath reach the manager's event
// store as every array change does.
import { CONTAINERS, PES, POLICIES, VASA, VVOLS } from '../../api/vasa.js';
import type { ApiRoute } from '../../api/route.js';
import { PROVIDER_FIELD_INVALID } from '../../catalogue/vvol.js';
import type { VvolProvider } from '../../vvol/provider.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Handler, Handlers } from './bind.js';
import { ref } from './params.js';

type Md = Record<string, string>;

/** Wraps every handler of a table in the session gate. */
function gated<T extends Record<string, ApiRoute>>(vvol: VvolProvider, table: T, handlers: Handlers<T>): Route[] {
  const wrap =
    (h: Handler): Handler =>
    (req) =>
      vvol.sessions.run(req.owner ?? 'anonymous', async () => h(req));
  const out = {} as Handlers<T>;
  for (const k of Object.keys(handlers) as Array<keyof T>) out[k] = wrap(handlers[k]);
  return bind(table, out);
}

/** A container or pool reference from a body or query: a pool number when it is one, else a name or container id. */
function poolRef(v: unknown): string | number {
  return typeof v === 'number' ? v : ref(String(v));
}

function bitmapJson(b: { offset: number; length: number; granularity: number; bits: Buffer }) {
  return { offset: b.offset, length: b.length, granularity: b.granularity, bits: b.bits.toString('base64') };
}

export function vasaRoutes(vvol: VvolProvider): Route[] {
  return [
    ...gated(vvol, VASA, {
      limits: () => vvol.limits(),
      capabilities: () => vvol.capabilities(),
      events: ({ query }) => vvol.getEvents((query['since'] as number | undefined) ?? 0),
      alarms: ({ query }) => vvol.getAlarms((query['since'] as number | undefined) ?? 0),
      task: ({ params }) => vvol.getTask(params['id']!),
      cancelTask: ({ params }) => vvol.cancelTask(params['id']!),
    }),
    ...gated(vvol, CONTAINERS, {
      list: () => vvol.listContainers(),
      show: ({ params }) => vvol.getContainer(ref(params['ref']!)),
      compliance: ({ params, query }) => {
        const policy = query['policy'] as string | undefined;
        if (policy === undefined) throw PROVIDER_FIELD_INVALID({ field: 'policy', why: 'a policy name is required' });
        return vvol.containerCompliance(ref(params['ref']!), policy);
      },
    }),
    ...gated(vvol, PES, {
      list: () => vvol.listPes(),
      create: ({ body }) => vvol.createPe({ name: body['name'] as string, pool: poolRef(body['pool']), owner: body['owner'] as number | undefined }),
      show: ({ params }) => vvol.getPe(ref(params['ref']!)),
      delete: async ({ params }) => {
        await vvol.deletePe(ref(params['ref']!));
      },
    }),
    ...gated(vvol, VVOLS, {
      list: ({ query }) =>
        vvol.queryVvols({
          container: query['container'] === undefined ? undefined : poolRef(query['container']),
          vm: query['vm'] as string | undefined,
          type: query['type'] as string | undefined,
        }),
      create: ({ body }) =>
        vvol.createVvol({
          container: poolRef(body['container']),
          type: body['type'] as string,
          size: body['size'] as number,
          vm: body['vm'] as string,
          policy: body['policy'] as string | undefined,
          metadata: body['metadata'] as Md | undefined,
        }),
      show: ({ params }) => vvol.getVvol(params['id']!),
      metadata: ({ params, body }) => vvol.updateMetadata(params['id']!, body['metadata'] as Record<string, string | null>),
      resize: ({ params, body }) => vvol.resizeVvol(params['id']!, body['size'] as number),
      delete: ({ params }) => vvol.deleteVvol(params['id']!),
      deleteBatch: ({ body }) => vvol.deleteVvols(body['ids'] as string[]),
      revert: ({ params, body }) => vvol.revert(params['id']!, body['snapshot'] as string),
      fastClone: ({ params, body }) =>
        vvol.fastClone(params['id']!, { vm: body['vm'] as string, policy: body['policy'] as string | undefined, metadata: body['metadata'] as Md | undefined }),
      clone: ({ params, body }) =>
        vvol.clone(params['id']!, {
          vm: body['vm'] as string,
          container: body['container'] === undefined ? undefined : poolRef(body['container']),
          policy: body['policy'] as string | undefined,
          metadata: body['metadata'] as Md | undefined,
        }),
      migrate: ({ params, body }) => vvol.migrate(params['id']!, poolRef(body['container'])),
      space: ({ params }) => vvol.vvolSpace(params['id']!),
      allocatedBitmap: async ({ params, query }) => {
        const v = vvol.getVvol(params['id']!);
        const offset = (query['offset'] as number | undefined) ?? 0;
        return bitmapJson(await vvol.allocatedBitmap(v.id, offset, (query['length'] as number | undefined) ?? v.size - offset));
      },
      unsharedBitmap: async ({ params, query }) => {
        const v = vvol.getVvol(params['id']!);
        const base = query['base'] as string | undefined;
        if (base === undefined) throw PROVIDER_FIELD_INVALID({ field: 'base', why: 'the base VVOL id is required' });
        const offset = (query['offset'] as number | undefined) ?? 0;
        return bitmapJson(await vvol.unsharedBitmap(v.id, base, offset, (query['length'] as number | undefined) ?? v.size - offset));
      },
      setPolicy: ({ params, body }) => vvol.setVvolPolicy(params['id']!, (body['policy'] as string | undefined) ?? null),
      compliance: ({ params }) => vvol.vvolCompliance(params['id']!),
      snapshots: ({ params }) => vvol.snapshotsOf(params['id']!),
      bindings: ({ params }) => vvol.bindingsOf(params['id']!),
      bind: ({ body }) => vvol.bind(body['ids'] as string[], body['host'] as string),
      unbind: ({ body }) => vvol.unbind(body['ids'] as string[], body['host'] as string),
      unbindAll: ({ body }) => vvol.unbindAllHosts(body['ids'] as string[]),
      prepareSnapshot: ({ body }) => vvol.prepareSnapshot(body['ids'] as string[]),
      abandonSnapshot: ({ params }) => {
        vvol.abandonSnapshot(params['prepareId']!);
        return { abandoned: params['prepareId']! };
      },
      snapshot: ({ params, body }) => vvol.snapshot(params['prepareId']!, body['name'] as string | undefined),
    }),
    ...gated(vvol, POLICIES, {
      list: () => vvol.listPolicies(),
      create: ({ body }) => {
        const backup = body['backup'] === true || body['generations'] !== undefined || body['autoDelete'] !== undefined;
        return vvol.createPolicy({
          name: body['name'] as string,
          raid: body['raid'] as string | undefined,
          pdType: body['pdType'] as string | undefined,
          encryption: body['encryption'] as boolean | undefined,
          backup: backup ? { generations: body['generations'] as number | undefined, autoDelete: body['autoDelete'] as boolean | undefined } : undefined,
          iopsUpper: body['iopsUpper'] as number | undefined,
          iopsLower: body['iopsLower'] as number | undefined,
        });
      },
      show: ({ params }) => vvol.getPolicy(params['name']!),
      delete: async ({ params }) => {
        await vvol.deletePolicy(params['name']!);
      },
    }),
  ];
}
