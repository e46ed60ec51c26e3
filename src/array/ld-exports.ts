// What the front ends serve: an LD's device stack (its layers over the LD), and
// the export lists NBD and in-process users open LDs by name through.
import type { BlockDevice } from '../block/device.js';
import type { BlockEngine } from '../block/engine.js';
import type { ExportProvider } from '../block/exports.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import { qosLayer } from '../block/qos.js';
import type { QosScheduler } from '../block/qos.js';
import { replicationLayer } from '../block/replication.js';
import type { Replicator } from '../block/replication.js';
import { buildStack } from '../block/stack.js';
import { ioStatsLayer } from '../block/io-stats.js';
import type { IoStats } from '../io/io-counters.js';
import type { LdInfo } from './agent.js';
import type { HostTable } from './hosts/table.js';
import { nbdExports } from './nbd-access.js';

export interface LdExportsDeps {
  engine: BlockEngine;
  hosts: HostTable;
  replicator: Replicator;
  qos: QosScheduler;
  /** Every LD's I/O counters: the top layer counts what front ends ask. */
  ioStats: IoStats;
  /** The LD behind each device handed to a front end (to tell whose sessions hold an LD). */
  deviceLds: WeakMap<BlockDevice, LogicalDisk>;
  ldInfos(): LdInfo[];
}

export class LdExports {
  constructor(private readonly deps: LdExportsDeps) {}

  /** An LD's data path as front ends serve it: its layers, bottom (on the LD) first. */
  deviceOf(l: LogicalDisk): BlockDevice {
    const d = buildStack(l, [replicationLayer(this.deps.replicator), qosLayer(this.deps.qos), ioStatsLayer(this.deps.ioStats)]);
    this.deps.deviceLds.set(d, l);
    return d;
  }

  /** Every LD by name, with no access check: for in-process users. Clients get nbdExports(). */
  exports(): ExportProvider {
    const { engine, ldInfos } = this.deps;
    return {
      list: () => ldInfos().map((l) => ({ name: l.name, description: `LD ${l.number.toString(16).padStart(4, '0')}h in pool ${l.pool}` })),
      open: (name: string) => {
        const l = engine.ldByName(name);
        return l ? this.deviceOf(l) : undefined;
      },
    };
  }

  /** The LDs an NBD client may list and open, decided by host entries (nbd-access.ts). */
  nbdExports(): ExportProvider {
    const { engine, hosts, ldInfos } = this.deps;
    return nbdExports({
      hosts,
      lds: () => [...engine.lds.values()],
      ldInfos,
      byId: (id) => engine.lds.get(id),
      device: (l) => this.deviceOf(l),
    });
  }

  /** The key of an NBD TLS-PSK identity (a host name), if that host has one. */
  nbdPsk(identity: string): Buffer | undefined {
    return this.deps.hosts.ofNbdIdentity(identity)?.nbdPsk;
  }
}
