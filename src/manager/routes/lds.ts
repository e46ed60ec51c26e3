// Logical disks over REST (with their I/O limits and plain NBD access).
import type { ArrayAgent } from '../../array/agent.js';
import { LDS } from '../../api/lds.js';
import { BODY_FIELD_REQUIRED } from '../../catalogue/manager.js';
import { hex4 } from '../../units.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { ref, growth, bytesText } from './params.js';

export function ldRoutes(agent: Pick<ArrayAgent, 'lds' | 'qos' | 'hosts'>, changed: Changed): Route[] {
  return bind(LDS, {
    list: () => agent.lds.listLds(),
    create: async ({ body }) => {
      if (body['size'] === undefined && body['attr'] !== 'ssv') {
        throw BODY_FIELD_REQUIRED({ k: 'size', description: 'the virtual capacity, e.g. "10GiB"' });
      }
      const l = await agent.lds.createLd({
        name: body['name'] as string,
        pool: body['pool'] as string,
        size: (body['size'] as number | undefined) ?? 0,
        attr: body['attr'] as string | undefined,
        force: body['force'] as boolean | undefined,
      });
      changed('KURA-I4010', `ld/${l.name}`, `LD ${l.name} (${hex4(l.number)}h) created in pool ${l.pool} (${bytesText(l.capacity)}).`);
      return l;
    },
    show: ({ params }) => agent.lds.getLd(ref(params['ref']!)),
    expand: async ({ params, body }) => {
      const r = ref(params['ref']!);
      const before = agent.lds.getLd(r);
      const l = await agent.lds.expandLd(r, growth(body, 'total', before.capacity, `LD ${before.name}`));
      changed('KURA-I4011', `ld/${l.name}`, `LD ${l.name} expanded to ${bytesText(l.capacity)}.`);
      return l;
    },
    delete: async ({ params, query }) => {
      const l = agent.lds.getLd(ref(params['ref']!));
      const force = query['force'] === true;
      const done = await agent.lds.deleteLd(l.number, { fcvforce: query['fcvforce'] === true, force });
      changed('KURA-I4012', `ld/${l.name}`, `LD ${l.name} deleted.`);
      // A forced delete tells what it did; a plain one has nothing to tell (204).
      return force ? done : undefined;
    },
    setQos: async ({ params, body }) => {
      const l = await agent.qos.setQos(ref(params['ref']!), { upper: body['upper'] as number | undefined, lower: body['lower'] as number | undefined });
      changed('KURA-I4013', `ld/${l.name}`, `LD ${l.name} I/O limits set to upper ${l.qos.upper}, lower ${l.qos.lower} IOPS.`);
      return l;
    },
    setNbdPlain: async ({ params, body }) => {
      const l = await agent.hosts.setLdNbdPlain(ref(params['ref']!), body['plain'] as boolean);
      changed(
        'KURA-I6122',
        `ld/${l.name}`,
        l.nbdPlain ? `LD ${l.name} is open to plain (unidentified) NBD clients.` : `LD ${l.name} is closed to plain NBD clients.`,
      );
      return l;
    },
  });
}
