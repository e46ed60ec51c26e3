// Binding handlers to route descriptions: a noun's route module gives one
// handler per description of its table (the compiler checks that none is
// missing), and gets back the manager's routes in the table's order.
import type { ApiRoute } from '../../api/route.js';
import type { Route } from '../router.js';

export type Handler = Route['handler'];

/** One handler for each route of a table. */
export type Handlers<T extends Record<string, ApiRoute>> = { [K in keyof T]: Handler };

/** Records the configuration change a mutating route made (an info event). */
export type Changed = (id: string, source: string, text: string) => void;

export function bind<T extends Record<string, ApiRoute>>(table: T, handlers: Handlers<T>): Route[] {
  return Object.keys(table).map((k) => ({ ...table[k]!, handler: handlers[k]! }));
}
