// Where a failover group should run, decided the same way on every node from
// the same view of etcd: the intent, the live nodes and the current owner.
import type { GroupConfig, GroupIntent } from './model.js';

export interface PlacementView {
  /** Nodes whose lease is alive and that are not detached (power, shutdown). */
  alive: ReadonlySet<string>;
  /** The node holding the group's owner key, if any. */
  owner: string | undefined;
}

/**
 * The node the group belongs on now, or undefined (offline, or no server left).
 * A running group stays where it is unless moved, or failback is automatic and
 * a higher-priority server is back (the seed's manual and automatic failback).
 */
export function placement(cfg: GroupConfig, intent: GroupIntent, view: PlacementView): string | undefined {
  if (intent.desired !== 'online') return undefined;
  const candidates = cfg.servers.filter((s) => view.alive.has(s) && !intent.failedOn.includes(s));
  if (intent.target && candidates.includes(intent.target)) return intent.target;
  if (view.owner && candidates.includes(view.owner) && cfg.failback === 'manual' && !intent.target) return view.owner;
  if (view.owner && candidates.includes(view.owner) && intent.target && !candidates.includes(intent.target)) return view.owner;
  return candidates[0];
}

/** HOME on the highest-priority server, OTHER elsewhere (ARMS_SERVER). */
export function serverRole(cfg: GroupConfig, node: string): 'HOME' | 'OTHER' {
  return cfg.servers[0] === node ? 'HOME' : 'OTHER';
}
