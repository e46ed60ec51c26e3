// Controllers and fault injection over REST.
import type { ControllerAgent } from '../../array/agent.js';
import { FAULTS } from '../../api/faults.js';
import { KuraError } from '../../errors.js';
import { parseNumber } from '../../units.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';

export function faultRoutes(agent: ControllerAgent, changed: Changed): Route[] {
  return bind(FAULTS, {
    controllers: () => agent.listControllers(),
    inject: async ({ body }) => {
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
}
