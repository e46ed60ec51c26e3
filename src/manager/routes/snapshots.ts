// Snapshot generations and fast clones over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { SNAPSHOTS } from '../../api/snapshots.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { ref } from './params.js';

export function snapshotRoutes(agent: Pick<ArrayAgent, 'snapshots' | 'clones'>, changed: Changed): Route[] {
  return bind(SNAPSHOTS, {
    list: ({ params }) => agent.snapshots.listSnapshots(ref(params['ref']!)),
    create: async ({ params, body }) => {
      const s = await agent.snapshots.createSnapshot(ref(params['ref']!), body['name'] as string | undefined);
      changed('KURA-I4020', `ld/${s.ld}`, `Snapshot ${s.ld} (generation ${s.generation}) created.`);
      return s;
    },
    restore: async ({ params }) => {
      const l = await agent.snapshots.restoreSnapshot(ref(params['ref']!), params['snap']!);
      changed('KURA-I4021', `ld/${l.name}`, `LD ${l.name} restored from snapshot ${params['snap']}.`);
      return l;
    },
    setAccess: async ({ params, body }) => {
      const s = await agent.snapshots.setSnapshotAccess(ref(params['ref']!), params['snap']!, body['access'] as string);
      changed('KURA-I2604', `ld/${s.ld}`, `Snapshot ${s.ld} access set to ${s.access}.`);
      return s;
    },
    delete: async ({ params }) => {
      await agent.snapshots.deleteSnapshot(ref(params['ref']!), params['snap']!);
      changed('KURA-I4022', `ld/${params['ref']}`, `Snapshot ${params['ref']}@${params['snap']} deleted.`);
    },
    deleteOldest: async ({ params, body }) => {
      const gone = await agent.snapshots.deleteOldestSnapshots(ref(params['ref']!), body['count'] as number);
      changed('KURA-I4023', `ld/${params['ref']}`, `${gone.length} oldest snapshot generation(s) of ${params['ref']} deleted.`);
      return gone;
    },
    createClone: async ({ params, body }) => {
      const l = await agent.clones.createClone(ref(params['ref']!), body['name'] as string);
      changed('KURA-I4024', `ld/${l.name}`, `Fast clone ${l.name} of ${params['ref']} created.`);
      return l;
    },
  });
}
