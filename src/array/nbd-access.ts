// Which LDs an NBD client may list and open: the iSCSI access model applied to
// NBD. Access control off: every LD to every client. On: a client identified
// by TLS-PSK as host H gets H's mapped LDs; every client (identified or not)
// gets the LDs the operator opened to plain NBD clients. A snapshot follows its
// base LD, so a host that may use an LD may read its snapshots.
import type { LogicalDisk } from '../block/logical-disk.js';
import type { BlockDevice } from '../block/device.js';
import type { ExportPeer, ExportProvider } from '../block/exports.js';
import type { LdInfo } from './agent.js';
import type { HostTable } from './hosts/table.js';

/** What the rule needs of the array. */
export interface NbdAccessDeps {
  hosts: HostTable;
  lds(): LogicalDisk[];
  ldInfos(): LdInfo[];
  byId(id: number): LogicalDisk | undefined;
  device(l: LogicalDisk): BlockDevice;
}

const PLAIN: ExportPeer = { identity: null };

/** LD numbers that stand for an LD in access decisions: its own, and its base LD's for a snapshot. */
function accessNumbers(l: LogicalDisk, deps: NbdAccessDeps): number[] {
  const esv = (l.rec.attrs as { esv?: { base: number } }).esv;
  const base = esv ? deps.byId(esv.base) : undefined;
  return base ? [l.rec.number, base.rec.number] : [l.rec.number];
}

export function nbdMayUse(l: LogicalDisk, peer: ExportPeer, deps: NbdAccessDeps): boolean {
  if (!deps.hosts.accessControlOn()) return true;
  const nums = accessNumbers(l, deps);
  if (nums.some((n) => deps.hosts.isNbdPlain(n))) return true;
  if (peer.identity === null) return false;
  const h = deps.hosts.ofNbdIdentity(peer.identity);
  if (!h) return false;
  const mapped = new Set(h.luns.values());
  return nums.some((n) => mapped.has(n));
}

export function nbdExports(deps: NbdAccessDeps): ExportProvider {
  return {
    list: (peer = PLAIN) => {
      const ok = new Set(
        deps
          .lds()
          .filter((l) => nbdMayUse(l, peer, deps))
          .map((l) => l.rec.number),
      );
      return deps
        .ldInfos()
        .filter((l) => ok.has(l.number))
        .map((l) => ({ name: l.name, description: `LD ${l.number.toString(16).padStart(4, '0')}h in pool ${l.pool}` }));
    },
    open: (name, peer = PLAIN) => {
      const l = deps.lds().find((x) => x.rec.name === name);
      return l && nbdMayUse(l, peer, deps) ? deps.device(l) : undefined;
    },
    plainRestricted: () => deps.hosts.accessControlOn(),
  };
}

/** One line for the start-up banner: what the NBD listener exposes now. */
export function nbdExposure(hosts: HostTable, tlsMode: 'off' | 'allowed' | 'required'): string {
  const keyed = hosts.list().filter((h) => h.nbdPsk).length;
  if (!hosts.accessControlOn()) {
    if (tlsMode !== 'required') return 'every LD to every client (access control off: no host entries)';
    return keyed
      ? 'TLS-PSK required; every LD to every host with an NBD key (access control off)'
      : 'TLS-PSK required, but no host has an NBD key: no client can connect';
  }
  const plain = `${hosts.nbdPlainCount()} LD(s) opened with kura ld set-nbd-plain`;
  const tls = `hosts with an NBD key (${keyed}) see their mapped LDs over TLS-PSK`;
  if (tlsMode === 'required') return `TLS-PSK required: ${tls}, plus the ${plain}; plain clients see nothing`;
  if (tlsMode === 'off') return `TLS off: plain clients see the ${plain}; host keys are not used`;
  return `${tls}; plain clients see the ${plain}`;
}
