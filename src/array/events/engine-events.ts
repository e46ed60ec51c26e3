// What the block engine reports (thresholds, space, PD failures, mirror resync,
// metadata commits) as array events.
import type { EngineEvent } from '../../block/engine.js';
import type { Emit } from './hub.js';
import {
  METADATA_COMMIT_FAILED_EVENT,
  PD_FAILED,
  POOL_OUT_OF_SPACE,
  POOL_RESYNC_STARTED,
  POOL_THRESHOLD_REACHED,
  RESYNC_STOPPED,
} from '../../catalogue/array.js';

/** ENOSPC events for a pool are raised at most this often. */
const NO_SPACE_EVENT_INTERVAL_MS = 10_000;

/** A listener for BlockEngine.onEvent that raises the array's events. */
export function engineEventRelay(emit: Emit): (e: EngineEvent) => void {
  const lastNoSpace = new Map<number, number>();
  return (e) => {
    switch (e.kind) {
      case 'threshold':
        if (e.over) {
          emit({
            id: POOL_THRESHOLD_REACHED.id,
            severity: 'warning',
            source: `pool/${e.pool.name}`,
            text: POOL_THRESHOLD_REACHED({ pool: e.pool.name, percent: e.pool.usagePercent().toFixed(1), threshold: e.pool.threshold }),
          });
        } else {
          emit({
            id: 'KURA-I2002',
            severity: 'info',
            source: `pool/${e.pool.name}`,
            text: `Pool ${e.pool.name} used capacity fell to ${e.pool.usagePercent().toFixed(1)}%, below its threshold of ${e.pool.threshold}%.`,
          });
        }
        return;
      case 'no-space': {
        const now = Date.now();
        if (now - (lastNoSpace.get(e.pool.id) ?? 0) < NO_SPACE_EVENT_INTERVAL_MS) return;
        lastNoSpace.set(e.pool.id, now);
        emit({ id: POOL_OUT_OF_SPACE.id, severity: 'error', source: `pool/${e.pool.name}`, text: POOL_OUT_OF_SPACE({ pool: e.pool.name, ld: e.ld.name }) });
        return;
      }
      case 'pd-failed':
        emit({
          id: PD_FAILED.id,
          severity: 'error',
          source: `pool/${e.pool.name}`,
          text: PD_FAILED({ number: e.pd.number, path: e.pd.path, pool: e.pool.name, reason: (e.error as Error)?.message ?? e.error, state: e.pool.state }),
        });
        return;
      case 'resync-started':
        emit({ id: POOL_RESYNC_STARTED.id, severity: 'warning', source: `pool/${e.pool.name}`, text: POOL_RESYNC_STARTED({ pool: e.pool.name }) });
        return;
      case 'resync-finished':
        emit({
          id: 'KURA-I2007',
          severity: 'info',
          source: `pool/${e.pool.name}`,
          text: `Pool ${e.pool.name}: mirror resync finished; ${e.checked} allocated chunks checked, ${e.copied} copied to make the mirrors agree.`,
        });
        return;
      case 'resync-failed':
        emit({
          id: RESYNC_STOPPED.id,
          severity: 'error',
          source: `pool/${e.pool.name}`,
          text: RESYNC_STOPPED({ pool: e.pool.name, reason: (e.error as Error)?.message ?? e.error }),
        });
        return;
      case 'commit-failed':
        emit({
          id: METADATA_COMMIT_FAILED_EVENT.id,
          severity: 'error',
          source: 'array',
          text: METADATA_COMMIT_FAILED_EVENT({ reason: (e.error as Error)?.message ?? e.error }),
        });
        return;
    }
  };
}
