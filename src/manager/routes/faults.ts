// Controllers and fault injection over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { FAULTS } from '../../api/faults.js';
import { parseNumber } from '../../units.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { FAULT_ACTION_UNKNOWN, FAULT_PORT_NOT_HOST_PORT, FAULT_TARGET_NOT_CONTROLLER } from '../../catalogue/manager.js';

export function faultRoutes(agent: Pick<ArrayAgent, 'controllers'>, changed: Changed): Route[] {
  return bind(FAULTS, {
    controllers: () => agent.controllers.listControllers(),
    inject: async ({ body }) => {
      const action = body['action'] as string;
      const target = body['target'] as string;
      let out;
      if (action === 'controller-down' || action === 'controller-up') {
        // A controller number only: not a port, not "1.5", not an id from the CLI's number parser.
        const n = /^\d{1,3}$/.test(target) ? Number(target) : parseNumber(target, 'controller', true);
        if (n === undefined) {
          throw FAULT_TARGET_NOT_CONTROLLER({ target: JSON.stringify(target).slice(0, 60), action });
        }
        out = await agent.controllers.setControllerState(n, action === 'controller-down' ? 'down' : 'online');
      } else if (action === 'port-down' || action === 'port-up') {
        const m = /^(.+):(\d{1,5})$/.exec(target);
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw FAULT_PORT_NOT_HOST_PORT({ target: target.slice(0, 60) });
        out = await agent.controllers.setPortState(m[1]!, Number(m[2]), action === 'port-down' ? 'down' : 'up');
      } else {
        throw FAULT_ACTION_UNKNOWN({ action: action.slice(0, 40) });
      }
      changed('KURA-I4040', 'faults', `Fault injection: ${action} ${target}.`);
      return out;
    },
  });
}
