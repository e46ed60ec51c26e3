// The deployment's state in etcd, under one prefix (roles and membership only;
// management data never goes through etcd):
//   /kura/config/admin-token          the API token every manager accepts (the first manager's)
//   /kura/managers/NAME               {name, url, lease}       with the manager's lease
//   /kura/arrays/ID                   {id, name, url, token}   the registered arrays (no lease)
//   /kura/roles/ID/active             {name}                   with the active's lease; its create
//                                                              revision is the fencing token
//   /kura/roles/ID/standby            {name, confirmed}        with the standby's lease
import type { Etcd3 } from 'etcd3';

export const PREFIX = '/kura/';
export const ADMIN_TOKEN_KEY = `${PREFIX}config/admin-token`;
export const managerKey = (name: string) => `${PREFIX}managers/${name}`;
export const arrayKey = (id: string) => `${PREFIX}arrays/${id}`;
export const activeKey = (id: string) => `${PREFIX}roles/${id}/active`;
export const standbyKey = (id: string) => `${PREFIX}roles/${id}/standby`;
/**
 * The managers whose copy holds every event acknowledged for an array (without a
 * lease: it outlives them). When the active and standby keys vanish together (every
 * lease lapsed at once), a live holder claims the array, not a manager with an older copy.
 */
export const holdersKey = (id: string) => `${PREFIX}holders/${id}`;

/** The value of holdersKey. */
export const holdersValue = (names: string[]) => JSON.stringify({ names });

export interface ManagerRecord {
  name: string;
  /** The manager's API, http://HOST:PORT. */
  url: string;
  /** Its etcd lease id (decimal string): the standby key a recruiter writes is bound to it. */
  lease: string;
}

export interface ArrayRecord {
  /** The array's serial. */
  id: string;
  name: string;
  /** Its agent API, http://HOST:PORT. */
  url: string;
  /** Its agent token. */
  token: string;
}

export interface ActiveRecord {
  name: string;
}

export interface StandbyRecord {
  name: string;
  confirmed: boolean;
}

export interface RoleView {
  active: (ActiveRecord & { token: number; lease: string }) | null;
  standby: (StandbyRecord & { raw: string; lease: string }) | null;
}

/** One consistent read of everything under the prefix. */
export interface DeploymentView {
  revision: number;
  managers: Map<string, ManagerRecord>;
  arrays: Map<string, ArrayRecord>;
  roles: Map<string, RoleView>;
  /** Per array, the managers holding every acknowledged event (holdersKey). */
  holders: Map<string, string[]>;
}

export async function readView(etcd: Etcd3): Promise<DeploymentView> {
  const res = await etcd.getAll().prefix(PREFIX).exec();
  const view: DeploymentView = { revision: Number(res.header.revision), managers: new Map(), arrays: new Map(), roles: new Map(), holders: new Map() };
  const roleOf = (id: string): RoleView => {
    let r = view.roles.get(id);
    if (!r) view.roles.set(id, (r = { active: null, standby: null }));
    return r;
  };
  for (const kv of res.kvs) {
    const key = kv.key.toString();
    const raw = kv.value.toString();
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue; // not ours
    }
    const rest = key.slice(PREFIX.length).split('/');
    if (rest[0] === 'managers' && rest.length === 2) view.managers.set(rest[1]!, value as ManagerRecord);
    else if (rest[0] === 'arrays' && rest.length === 2) view.arrays.set(rest[1]!, value as ArrayRecord);
    else if (rest[0] === 'holders' && rest.length === 2) {
      const names = (value as { names?: unknown }).names;
      if (Array.isArray(names)) view.holders.set(rest[1]!, names.map(String));
    } else if (rest[0] === 'roles' && rest.length === 3) {
      const r = roleOf(rest[1]!);
      if (rest[2] === 'active') r.active = { ...(value as ActiveRecord), token: Number(kv.create_revision), lease: String(kv.lease) };
      else if (rest[2] === 'standby') r.standby = { ...(value as StandbyRecord), raw, lease: String(kv.lease) };
    }
  }
  for (const id of view.arrays.keys()) roleOf(id);
  return view;
}

/** How many array roles (active or standby) each live manager holds. */
export function rolesHeld(view: DeploymentView): Map<string, number> {
  const held = new Map<string, number>([...view.managers.keys()].map((n) => [n, 0]));
  for (const r of view.roles.values()) {
    for (const name of [r.active?.name, r.standby?.name]) if (name !== undefined && held.has(name)) held.set(name, held.get(name)! + 1);
  }
  return held;
}

/**
 * The recruitment rule (the patent leaves it open): among live managers that hold no
 * role for this array, the one holding the fewest array roles, then the lowest name.
 */
export function chooseStandby(view: DeploymentView, arrayId: string, exclude: ReadonlySet<string> = new Set()): string | null {
  const role = view.roles.get(arrayId);
  const held = rolesHeld(view);
  const candidates = [...held]
    .filter(([name]) => name !== role?.active?.name && name !== role?.standby?.name && !exclude.has(name))
    .sort(([a, na], [b, nb]) => na - nb || (a < b ? -1 : a > b ? 1 : 0));
  return candidates[0]?.[0] ?? null;
}
