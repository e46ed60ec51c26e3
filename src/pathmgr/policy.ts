// Path selection, by the seed's rule (PM L61, L65): the highest-priority usable
// path carries the I/O; on its failure the next highest does. Candidates are
// ranked in tiers (paths whose priority is enabled, then standby paths whose
// priority is disabled, then marginal ones as a last resort); ports that cannot
// do media access now (ALUA standby/unavailable/offline/transitioning) come
// after every port that can. Inside the best set the highest priority leads;
// ALUA never outranks a priority the administrator gave.
import type { Path } from './path.js';

export type Policy = 'failover' | 'round-robin' | 'least-queue-depth' | 'service-time';
export const POLICIES: Policy[] = ['failover', 'round-robin', 'least-queue-depth', 'service-time'];

/** alua: only the paths of the best ALUA state form the group (dm group_by_prio); multibus: every active path does. */
export type Grouping = 'alua' | 'multibus';

export function isDynamic(p: Policy): boolean {
  return p !== 'failover';
}

function tier(p: Path): number {
  if (p.state === 'in-use' || p.state === 'active') return p.priorityDisabled ? 1 : 0;
  if (p.state === 'standby') return 1;
  if (p.state === 'unavailable' && p.marginal && !p.adminUnavailable) return 2;
  return -1;
}

/**
 * The paths a policy may choose from now, highest priority first: the first
 * one is the leader (what failover uses). With `alua` grouping the others are
 * the paths in the leader's ALUA state (dm-multipath group_by_prio: round robin
 * does not mix optimized and non-optimized ports); with `multibus` every path
 * of the leader's tier.
 */
export function bestGroup(paths: Path[], grouping: Grouping = 'alua'): Path[] {
  let best: Path[] = [];
  let bestKey = Infinity;
  for (const p of paths) {
    const t = tier(p);
    if (t < 0) continue;
    const key = (p.aluaRank >= 3 ? 10 : 0) + t;
    if (key < bestKey) {
      bestKey = key;
      best = [p];
    } else if (key === bestKey) best.push(p);
  }
  best.sort((a, b) => b.priority - a.priority);
  const leader = best[0];
  if (!leader || grouping === 'multibus') return best;
  return best.filter((p) => p.aluaRank === leader.aluaRank);
}

export class Selector {
  private next = 0;

  constructor(
    public policy: Policy,
    private readonly grouping: () => Grouping = () => 'alua',
  ) {}

  /** Picks a path for one I/O, or undefined when no path is usable. */
  pick(paths: Path[]): Path | undefined {
    const group = bestGroup(paths, this.grouping());
    if (group.length === 0) return undefined;
    switch (this.policy) {
      case 'failover':
        return group[0];
      case 'round-robin': {
        // Highest priority to lowest, one I/O each, then around again (the seed's rule).
        const p = group[this.next % group.length]!;
        this.next = (this.next + 1) % group.length;
        return p;
      }
      case 'least-queue-depth':
        return group.reduce((a, b) => (b.inflight < a.inflight ? b : a));
      case 'service-time': {
        const cost = (p: Path) => (p.inflight + 1) * Math.max(p.stats.serviceTimeMs, 0.05);
        return group.reduce((a, b) => (cost(b) < cost(a) ? b : a));
      }
    }
  }

  /** The paths that carry I/O under this policy (shown as "in use"). */
  inUse(paths: Path[]): Path[] {
    const group = bestGroup(paths, this.grouping());
    return this.policy === 'failover' ? group.slice(0, 1) : group;
  }
}
