// The array as a whole over REST: the API document and the array's identity.
import type { ArrayAgent } from '../../array/agent.js';
import { ARRAY } from '../../api/array.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function arrayRoutes(agent: Pick<ArrayAgent, 'info' | 'controllers'>, openapi: () => unknown): Route[] {
  return bind(ARRAY, {
    document: () => openapi(),
    show: () => ({ ...agent.info(), controllers: agent.controllers.listControllers() }),
  });
}
