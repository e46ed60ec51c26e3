// REST routes of controllers and fault injection.
import type { ApiRoute } from './route.js';

export const FAULTS = {
  controllers: { method: 'GET', path: '/api/v1/controllers', tag: 'faults', summary: 'Controllers and host ports with their states' },
  inject: {
    method: 'POST',
    path: '/api/v1/faults',
    tag: 'faults',
    summary: 'Inject or clear a fault: controller-down/-up N, port-down/-up HOST:PORT',
    body: {
      action: { type: 'string', required: true, description: 'controller-down, controller-up, port-down or port-up' },
      target: {
        type: 'string',
        required: true,
        description: 'a string: the controller number ("0", "1") for controller-*, HOST:PORT of a host port for port-*',
      },
    },
  },
} satisfies Record<string, ApiRoute>;
