// Replication pairs over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { PAIRS } from '../../api/pairs.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { ref, bytesText } from './params.js';

const pairPath = (p: Record<string, string>) => `pair/${p['mv']}/${p['rv']}`;

export function pairRoutes(agent: Pick<ArrayAgent, 'pairs'>, changed: Changed): Route[] {
  return bind(PAIRS, {
    list: () => agent.pairs.listPairs(),
    create: async ({ body }) => {
      const p = await agent.pairs.createPair(ref(body['mv'] as string), ref(body['rv'] as string));
      changed('KURA-I2350', `pair/${p.mv}/${p.rv}`, `Replication pair ${p.mv} → ${p.rv} created.`);
      return p;
    },
    show: ({ params }) => agent.pairs.getPair(ref(params['mv']!), ref(params['rv']!)),
    replicate: async ({ params, body }) => {
      const p = await agent.pairs.replicatePair(ref(params['mv']!), ref(params['rv']!), { force: body['force'] as boolean | undefined });
      changed('KURA-I2351', pairPath(params), `Replicate started on pair ${p.mv} → ${p.rv} (${bytesText(p.copyDiffBytes)} to copy).`);
      return p;
    },
    separate: async ({ params, body }) => {
      const p = await agent.pairs.separatePair(ref(params['mv']!), ref(params['rv']!), {
        rvAccess: body['rvAccess'] as string | undefined,
        force: body['force'] as boolean | undefined,
      });
      changed('KURA-I2352', pairPath(params), `Separate ${body['force'] ? '(forced) ' : ''}on pair ${p.mv} → ${p.rv}: ${p.sync}, RV access ${p.rvAccess}.`);
      return p;
    },
    restore: async ({ params }) => {
      const p = await agent.pairs.restorePair(ref(params['mv']!), ref(params['rv']!));
      changed('KURA-I2353', pairPath(params), `Restore started on pair ${p.mv} → ${p.rv} (${bytesText(p.copyDiffBytes)} to copy).`);
      return p;
    },
    delete: async ({ params, query }) => {
      const p = await agent.pairs.deletePair(ref(params['mv']!), ref(params['rv']!), { force: query['force'] === true });
      changed('KURA-I2354', pairPath(params), `Replication pair ${p.mv} → ${p.rv} deleted${query['force'] ? ' by force' : ''}.`);
      return p;
    },
  });
}
