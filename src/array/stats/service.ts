// The array's I/O statistics as the agent hands them out: the counters of
// every live LD (named, with its pool) and of every front-end port. Counters
// of LDs that no longer exist are dropped here, so the set stays as large as
// the LD list.
import type { BlockEngine } from '../../block/engine.js';
import type { IoStats } from '../../io/io-counters.js';
import type { HostPort } from '../controllers/controllers.js';
import { iscsiPortKey } from '../iscsi-front-end.js';
import type { ArrayIoStats, PortIoStats } from './agent.js';

export const NBD_PORT_KEY = 'nbd';

export function ioStatsOf(stats: IoStats, engine: BlockEngine, hostPorts: HostPort[]): ArrayIoStats {
  const snaps = stats.ldSnapshots();
  const lds: ArrayIoStats['lds'] = [];
  for (const [id, io] of snaps) {
    const l = engine.lds.get(id);
    if (!l) {
      stats.forgetLd(id);
      continue;
    }
    lds.push({ ld: l.rec.name, number: l.rec.number, pool: l.pool.name, io });
  }
  lds.sort((a, b) => a.number - b.number);
  const portSnaps = stats.portSnapshots();
  const ports: PortIoStats[] = [];
  const nbd = portSnaps.get(NBD_PORT_KEY);
  if (nbd) ports.push({ port: NBD_PORT_KEY, protocol: 'nbd', controller: null, io: nbd });
  for (const p of hostPorts) {
    const key = iscsiPortKey(p);
    const io = portSnaps.get(key);
    if (io) ports.push({ port: key, protocol: 'iscsi', controller: p.controller, io });
  }
  return { lds, ports };
}
