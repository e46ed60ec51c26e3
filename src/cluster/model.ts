// The cluster's data model: failover groups, their resources and what is kept
// in etcd about them. Pure: parsing and validation only, no I/O.
import type { KuraError } from '../errors.js';
import { FAILBACK_INVALID, GROUP_NAME_INVALID, GROUP_NEEDS_SERVERS, GROUP_SERVER_TWICE, RESOURCE_SPEC_INVALID } from '../catalogue/cluster.js';

export type GroupState = 'online' | 'offline' | 'starting' | 'stopping' | 'failed';
export type Failback = 'auto' | 'manual';
/** The seed's ARMS_EVENT: how the group came to run where it runs. */
export type ArmsEvent = 'START' | 'FAILOVER' | 'RECOVER';

/** A shared disk: a multipath device of the node's pathd, reserved with SCSI-3 PR. */
export interface DiskResource {
  kind: 'disk';
  device: string;
}
/** A floating IP: ADDRESS/PREFIX on INTERFACE of the node (in the node's network namespace, if it has one). */
export interface IpResource {
  kind: 'ip';
  address: string;
  prefix: number;
  iface: string;
}
/** Start and stop commands (run through sh -c in the node's data directory). */
export interface ExecResource {
  kind: 'exec';
  start: string;
  stop?: string;
}
/** A process the node starts and watches; its exit fails the group over (or shuts the node down). */
export interface MonitorResource {
  kind: 'monitor';
  id: string;
  command: string;
  onExit: 'failover' | 'shutdown';
}
/** A configuration key that follows the group: saved from the node's file on stop, written back before start. */
export interface SyncResource {
  kind: 'sync';
  key: string;
}
export type Resource = DiskResource | IpResource | ExecResource | MonitorResource | SyncResource;

export interface GroupConfig {
  name: string;
  /** Priority order; servers[0] is the primary (HOME). */
  servers: string[];
  resources: Resource[];
  startScript?: string;
  stopScript?: string;
  failback: Failback;
}

/** What the administrator asked for; the nodes carry it out. */
export interface GroupIntent {
  desired: 'online' | 'offline';
  /** A manual move's target; cleared by a plain start. */
  target?: string;
  /** The event the next start carries (START for group start, RECOVER after a cluster comes back). */
  startEvent: ArmsEvent;
  /** Changes on every request, so a node can tell a new request from an old one. */
  serial: number;
  /** Servers the group failed to start on since the last request. */
  failedOn: string[];
}

/** What the node that runs (or last ran) the group reports. */
export interface GroupStatus {
  state: GroupState;
  server: string | null;
  event?: ArmsEvent;
  since: string;
  reason?: string;
}

export interface GroupView {
  name: string;
  state: GroupState;
  server: string | null;
  servers: string[];
  failback: Failback;
  resources: Resource[];
  desired: 'online' | 'offline';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(name: string): KuraError | undefined {
  return NAME.test(name) ? undefined : GROUP_NAME_INVALID({ name });
}

export function parseServers(list: string): string[] | KuraError {
  const servers = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) return GROUP_NEEDS_SERVERS();
  const seen = new Set<string>();
  for (const s of servers) {
    const bad = checkName(s);
    if (bad) return bad;
    if (seen.has(s)) return GROUP_SERVER_TWICE({ server: s });
    seen.add(s);
  }
  return servers;
}

export function parseFailback(v: string | undefined): Failback | KuraError {
  if (v === undefined || v === 'manual') return 'manual';
  if (v === 'auto') return 'auto';
  return FAILBACK_INVALID({ value: v });
}

/**
 * One resource from its command-line form:
 * disk:DEVICE, ip:ADDRESS/PREFIX@INTERFACE, exec:START[::STOP], monitor[!]:ID=COMMAND
 * (monitor! shuts the node down when the process exits), sync:KEY.
 */
export function parseResource(spec: string): Resource | KuraError {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  const bad = (reason: string) => RESOURCE_SPEC_INVALID({ spec, reason });
  switch (kind) {
    case 'disk':
      return rest ? { kind: 'disk', device: rest } : bad('name the pathd device (disk:mpatha or disk:naa.6...)');
    case 'ip': {
      const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})@([A-Za-z0-9._-]{1,15})$/.exec(rest);
      if (!m) return bad('write ip:ADDRESS/PREFIX@INTERFACE, e.g. ip:10.0.0.100/24@eth0');
      const prefix = Number(m[2]);
      if (prefix < 1 || prefix > 32 || m[1]!.split('.').some((o) => Number(o) > 255)) return bad('not an IPv4 address and prefix');
      return { kind: 'ip', address: m[1]!, prefix, iface: m[3]! };
    }
    case 'exec': {
      if (!rest) return bad('give the start command (exec:START or exec:START::STOP)');
      const sep = rest.indexOf('::');
      return sep < 0 ? { kind: 'exec', start: rest } : { kind: 'exec', start: rest.slice(0, sep), stop: rest.slice(sep + 2) || undefined };
    }
    case 'monitor':
    case 'monitor!': {
      const eq = rest.indexOf('=');
      if (eq <= 0 || eq === rest.length - 1) return bad('write monitor:ID=COMMAND');
      const id = rest.slice(0, eq);
      if (checkName(id)) return bad(`the id ${id} has characters other than letters, digits, dots, dashes and underscores`);
      return { kind: 'monitor', id, command: rest.slice(eq + 1), onExit: kind === 'monitor!' ? 'shutdown' : 'failover' };
    }
    case 'sync':
      return /^[A-Za-z0-9._-]{1,128}$/.test(rest) ? { kind: 'sync', key: rest } : bad('a key is 1-128 letters, digits, dots, dashes or underscores');
    default:
      return bad(`the kind ${kind} is not disk, ip, exec, monitor or sync`);
  }
}

export function resourceText(r: Resource): string {
  switch (r.kind) {
    case 'disk':
      return `disk:${r.device}`;
    case 'ip':
      return `ip:${r.address}/${r.prefix}@${r.iface}`;
    case 'exec':
      return r.stop ? `exec:${r.start}::${r.stop}` : `exec:${r.start}`;
    case 'monitor':
      return `monitor${r.onExit === 'shutdown' ? '!' : ''}:${r.id}=${r.command}`;
    case 'sync':
      return `sync:${r.key}`;
  }
}

/** A node's 64-bit persistent-reservation key, stable for its name (never 0). */
export function reservationKey(node: string): bigint {
  // FNV-1a 64: a fixed function of the name, so every node computes every other node's key.
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(node, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h === 0n ? 1n : h;
}
