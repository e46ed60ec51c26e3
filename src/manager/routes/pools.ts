// Pools over REST: what each pool route asks of the array and the event it records.
import type { ArrayAgent } from '../../array/agent.js';
import { POOLS } from '../../api/pools.js';
import { CONTAINER_CONVERSION } from '../../catalogue/vvol.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { ref, growth, bytesText } from './params.js';
import { EXPAND_TOTAL_NOT_LARGER, NOTHING_TO_CHANGE } from '../../catalogue/manager.js';

export function poolRoutes(agent: Pick<ArrayAgent, 'pools' | 'qos'>, changed: Changed): Route[] {
  return bind(POOLS, {
    list: () => agent.pools.listPools(),
    create: async ({ body }) => {
      const raid = body['raid'] as string | undefined;
      const p = await agent.pools.createPool({
        name: body['name'] as string,
        size: body['size'] as number,
        pds: body['pds'] as number | undefined,
        raid: raid === undefined ? undefined : (`RAID${raid.toUpperCase().replace(/^RAID/, '')}` as 'RAID0'),
        chunkSize: body['chunk'] as number | undefined,
        threshold: body['threshold'] as number | undefined,
        container: body['container'] as boolean | undefined,
      });
      changed(
        'KURA-I4001',
        `pool/${p.name}`,
        `Pool ${p.name} created (${p.raid}, ${bytesText(p.capacity)}, ${p.pds.length} PDs${p.vmwareType === 'Container' ? ', Storage Container' : ''}).`,
      );
      return p;
    },
    show: ({ params }) => agent.pools.getPool(ref(params['ref']!)),
    set: async ({ params, body }) => {
      const r = ref(params['ref']!);
      // VVM L197: a pool's VMware Type is given when it is made.
      if (body['container'] !== undefined) throw CONTAINER_CONVERSION({ pool: agent.pools.getPool(r).name });
      if (body['threshold'] === undefined && body['qosUpper'] === undefined && body['qosLower'] === undefined && body['qosMode'] === undefined) {
        throw NOTHING_TO_CHANGE();
      }
      let p = agent.pools.getPool(r);
      if (body['threshold'] !== undefined) {
        p = await agent.pools.setPoolThreshold(r, body['threshold'] as number);
        changed('KURA-I4002', `pool/${p.name}`, `Pool ${p.name} threshold set to ${p.threshold}%.`);
      }
      if (body['qosUpper'] !== undefined || body['qosLower'] !== undefined) {
        p = await agent.qos.setPoolQosDefaults(r, { upper: body['qosUpper'] as number | undefined, lower: body['qosLower'] as number | undefined });
        changed('KURA-I4005', `pool/${p.name}`, `Pool ${p.name} I/O limit defaults set to upper ${p.qosDefaults.upper}, lower ${p.qosDefaults.lower} IOPS.`);
      }
      if (body['qosMode'] !== undefined) {
        p = await agent.qos.setPoolQosMode(r, body['qosMode'] as string);
        changed('KURA-I2613', `pool/${p.name}`, `Pool ${p.name} I/O control mode set to ${p.qosMode}.`);
      }
      return p;
    },
    expand: async ({ params, body }) => {
      const r = ref(params['ref']!);
      const before = agent.pools.getPool(r);
      const add = growth(body, 'add', before.capacity, `Pool ${before.name}`) - before.capacity;
      if (add <= 0) {
        throw EXPAND_TOTAL_NOT_LARGER({ pool: before.name, capacity: bytesText(before.capacity), total: bytesText(before.capacity + add) });
      }
      const p = await agent.pools.expandPool(r, add);
      changed('KURA-I4003', `pool/${p.name}`, `Pool ${p.name} expanded by ${bytesText(p.capacity - before.capacity)} to ${bytesText(p.capacity)}.`);
      return p;
    },
    delete: async ({ params }) => {
      const p = agent.pools.getPool(ref(params['ref']!));
      await agent.pools.deletePool(p.number);
      changed('KURA-I4004', `pool/${p.name}`, `Pool ${p.name} deleted.`);
    },
  });
}
