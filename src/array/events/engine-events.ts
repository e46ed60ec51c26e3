// What the block engine reports (thresholds, space, PD failures, mirror resync,
// metadata commits) as array events.
import type { EngineEvent } from '../../block/engine.js';
import type { Emit } from './hub.js';

/** ENOSPC events for a pool are raised at most this often. */
const NO_SPACE_EVENT_INTERVAL_MS = 10_000;

/** A listener for BlockEngine.onEvent that raises the array's events. */
export function engineEventRelay(emit: Emit): (e: EngineEvent) => void {
  const lastNoSpace = new Map<number, number>();
  return (e) => {
    switch (e.kind) {
      case 'threshold':
        if (e.over) {
          emit({ id: 'KURA-W2001', severity: 'warning', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} used capacity reached ${e.pool.usagePercent().toFixed(1)}%, at or above its threshold of ${e.pool.threshold}%. Expand the pool or free space.` });
        } else {
          emit({ id: 'KURA-I2002', severity: 'info', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} used capacity fell to ${e.pool.usagePercent().toFixed(1)}%, below its threshold of ${e.pool.threshold}%.` });
        }
        return;
      case 'no-space': {
        const now = Date.now();
        if (now - (lastNoSpace.get(e.pool.id) ?? 0) < NO_SPACE_EVENT_INTERVAL_MS) return;
        lastNoSpace.set(e.pool.id, now);
        emit({ id: 'KURA-E2003', severity: 'error', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} is out of physical space: a write to LD ${e.ld.name} failed. Expand the pool (kura pool expand ${e.pool.name} --size SIZE) or free space.` });
        return;
      }
      case 'pd-failed':
        emit({ id: 'KURA-E2004', severity: 'error', source: `pool/${e.pool.name}`, text: `PD ${e.pd.number} (${e.pd.path}) of pool ${e.pool.name} failed: ${(e.error as Error)?.message ?? e.error}. Pool state is ${e.pool.state}.` });
        return;
      case 'resync-started':
        emit({ id: 'KURA-W2006', severity: 'warning', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: the array did not shut down cleanly; resyncing the mirrors of its allocated chunks in the background (reads use one mirror until a chunk is resynced).` });
        return;
      case 'resync-finished':
        emit({ id: 'KURA-I2007', severity: 'info', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: mirror resync finished; ${e.checked} allocated chunks checked, ${e.copied} copied to make the mirrors agree.` });
        return;
      case 'resync-failed':
        emit({ id: 'KURA-E2008', severity: 'error', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: mirror resync stopped: ${(e.error as Error)?.message ?? e.error}. Reads keep using one mirror; check the pool's PDs and restart the array to retry.` });
        return;
      case 'commit-failed':
        emit({ id: 'KURA-E2005', severity: 'error', source: 'array', text: `Metadata commit failed: ${(e.error as Error)?.message ?? e.error}. Check the data directory's file system.` });
        return;
    }
  };
}
