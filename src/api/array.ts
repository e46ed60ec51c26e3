// REST routes of the array as a whole: the API document itself and the array's identity.
import type { ApiRoute } from './route.js';

export const ARRAY = {
  document: { method: 'GET', path: '/api/v1/openapi.json', tag: 'meta', summary: 'This API document', public: true },
  show: { method: 'GET', path: '/api/v1/array', tag: 'array', summary: 'Array identity, version, controllers and memory use' },
} satisfies Record<string, ApiRoute>;
