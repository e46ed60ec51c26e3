// Error catalogue: cluster node agent and failover groups (KURA-E84xx-E85xx, KURA-W84xx).
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError, defineEvent } from '../errors.js';

export const CLUSTER_NEEDS_ETCD = defineError(
  'KURA-E8400',
  'EINVAL',
  'no etcd endpoints were given for the cluster',
  'Pass --etcd http://HOST:PORT[,...] or set KURA_ETCD.',
);
export const CLUSTER_ETCD_UNREACHABLE = defineError(
  'KURA-E8401',
  'EIO',
  (p: { endpoints: string; reason: string }) => `etcd at ${p.endpoints} did not answer: ${p.reason}`,
  'Check that the etcd cluster is running and reachable from this host (etcdctl endpoint health).',
);
export const GROUP_NOT_FOUND = defineError(
  'KURA-E8402',
  'ENOENT',
  (p: { group: string }) => `failover group ${p.group} does not exist`,
  'List the groups with kura cluster group list.',
);
export const GROUP_EXISTS = defineError(
  'KURA-E8403',
  'EEXIST',
  (p: { group: string }) => `failover group ${p.group} already exists`,
  'Pick another name, or delete the group first (kura cluster group delete).',
);
export const GROUP_NAME_INVALID = defineError(
  'KURA-E8404',
  'EINVAL',
  (p: { name: string }) => `"${p.name}" is not a valid group or node name`,
  'Use 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
);
export const GROUP_NEEDS_SERVERS = defineError(
  'KURA-E8405',
  'EINVAL',
  'a failover group needs at least one server',
  'Give the servers in priority order: --servers n1,n2,n3 (the first is the primary).',
);
export const GROUP_SERVER_TWICE = defineError(
  'KURA-E8406',
  'EINVAL',
  (p: { server: string }) => `server ${p.server} appears twice in the priority list`,
  'List each server once, highest priority first.',
);
export const GROUP_MOVE_TARGET = defineError(
  'KURA-E8407',
  'EINVAL',
  (p: { group: string; node: string }) => `node ${p.node} is not one of group ${p.group}'s servers`,
  'Move the group to one of its servers (kura cluster group show), or add the node to its priority list first.',
);
export const GROUP_RUNNING = defineError(
  'KURA-E8408',
  'EBUSY',
  (p: { group: string; state: string }) => `failover group ${p.group} is ${p.state}`,
  'Stop it first (kura cluster group stop).',
);
export const RESOURCE_SPEC_INVALID = defineError(
  'KURA-E8409',
  'EINVAL',
  (p: { spec: string; reason: string }) => `resource "${p.spec}" cannot be used: ${p.reason}`,
  'Resources are disk:DEVICE, ip:ADDRESS/PREFIX@INTERFACE[%NETNS], exec:START[:STOP], monitor:ID=COMMAND, sync:KEY (see docs/cluster.md).',
);
export const FAILBACK_INVALID = defineError(
  'KURA-E8410',
  'EINVAL',
  (p: { value: string }) => `--failback ${p.value} is not auto or manual`,
  'Use --failback auto or --failback manual.',
);
export const SECONDS_INVALID = defineError(
  'KURA-E8411',
  'EINVAL',
  (p: { option: string; value: string }) => `${p.option} ${p.value} is not a positive number of seconds`,
  'Give a number of seconds greater than zero.',
);
export const NODE_NAME_TAKEN = defineError(
  'KURA-E8412',
  'EEXIST',
  (p: { node: string }) => `another agent is already running as cluster node ${p.node}`,
  'Stop the other agent, or give this one another --name.',
);
export const NODE_DATA_DIR = defineError(
  'KURA-E8413',
  'EIO',
  (p: { dir: string; reason: string }) => `the node data directory ${p.dir} cannot be used: ${p.reason}`,
  'Give a writable --data directory.',
);
export const AGENT_UNREACHABLE = defineError(
  'KURA-E8414',
  'EIO',
  (p: { socket: string; reason: string }) => `the cluster node agent at ${p.socket} did not answer: ${p.reason}`,
  'armload, armkill and armloadc run inside a group script (KURA_CLUSTER_SOCKET is set there); check that the node agent runs.',
);
export const WATCH_ID_UNKNOWN = defineError(
  'KURA-E8415',
  'ENOENT',
  (p: { id: string }) => `no process is watched under id ${p.id}`,
  'Use the id given to kura cluster armload.',
);
export const WATCH_START_FAILED = defineError(
  'KURA-E8416',
  'EIO',
  (p: { id: string; reason: string }) => `the process watched as ${p.id} did not start: ${p.reason}`,
  'Check the command and its path; the start script stops here as after ERRORLEVEL 1.',
);
export const ARMLOAD_NEEDS_COMMAND = defineError(
  'KURA-E8417',
  'EINVAL',
  'armload needs an id and a command after --',
  'Write kura cluster armload ID [--monitor] [--fov] -- COMMAND [ARGS...].',
);
export const DISK_RESERVE_FAILED = defineEvent(
  'KURA-E8418',
  (p: { group: string; device: string; reason: string }) => `group ${p.group}: the shared disk ${p.device} could not be reserved: ${p.reason}`,
  'Check the paths of the device (kura path show) and who holds its reservation (kura path persist read-reservation).',
);
export const GROUP_START_FAILED = defineEvent(
  'KURA-E8419',
  (p: { group: string; node: string; reason: string }) => `group ${p.group} failed to start on ${p.node}: ${p.reason}`,
  'See the node log (DATA/cluster.log); the group tries its next server. kura cluster group start clears the failure.',
);
export const POWER_CONFIRMATION_TOO_SHORT = defineError(
  'KURA-E8420',
  'EINVAL',
  (p: { confirmation: number; needed: number }) =>
    `the control terminal's power-failure confirmation of ${p.confirmation} s is shorter than the ${p.needed} s the cluster shutdown needs (linked confirmation + 8 s + cluster-shutdown timeout + 60 s + 2 s per UPS)`,
  'Raise --confirmation to at least the needed time, or shorten the cluster-shutdown timeout.',
);
export const POWER_EVENT_INVALID = defineError(
  'KURA-E8421',
  'EINVAL',
  (p: { event: string }) => `power event ${p.event} is not ONBATT, ONLINE, LOWBATT or FSD`,
  'Give one of the NUT notify types ONBATT, ONLINE, LOWBATT, FSD.',
);
export const NODE_LOST_ETCD = defineEvent(
  'KURA-W8400',
  (p: { node: string; seconds: number }) => `node ${p.node}: etcd has not answered for ${p.seconds} s; its groups are stopped before its lease can expire`,
  'Check the network between this node and etcd; the groups fail over to another server.',
);
export const WATCHED_PROCESS_EXITED = defineEvent(
  'KURA-W8401',
  (p: { group: string; id: string; code: string; action: string }) => `group ${p.group}: watched process ${p.id} exited (${p.code}); ${p.action}`,
  'See the process output in DATA/groups/GROUP/ID.log.',
);
export const FOREIGN_KEY_PREEMPTED = defineEvent(
  'KURA-W8402',
  (p: { group: string; device: string; key: string }) =>
    `group ${p.group}: key ${p.key} of another node was registered on ${p.device}; it is preempted (that node is fenced)`,
  'None; the node that held it can no longer write the shared disk.',
);
export const NODE_NEEDS_NAME_DATA = defineError(
  'KURA-E8422',
  'EINVAL',
  'kura cluster node needs --name and --data',
  'Write kura cluster node --etcd URLS --name NODE --data DIR.',
);
export const POWER_EVENT_NEEDS_UPS = defineError(
  'KURA-E8423',
  'EINVAL',
  'power-event needs the name of the UPS',
  'Pass --ups NAME (upsmon sets UPSNAME for its NOTIFYCMD).',
);
export const UPS_SPEC_INVALID = defineError(
  'KURA-E8424',
  'EINVAL',
  (p: { spec: string }) => `--ups ${p.spec} cannot be used`,
  'Write NAME:server:NODE[+NODE...][:CONFIRM_S] or NAME:disk[:CONFIRM_S[:WARMUP_RANK]].',
);
export const AGENT_NO_ROUTE = defineError(
  'KURA-E8425',
  'ENOENT',
  (p: { route: string }) => `the node agent has no command ${p.route}`,
  'Use armload, armkill, armloadc or armlog from the same Kura version as the agent.',
);
export const JOB_ACTIVE = defineError(
  'KURA-E8426',
  'EBUSY',
  (p: { group: string; id: string }) => `job ${p.id} of group ${p.group} is queued or running`,
  'Wait for it to end (kura cluster job list GROUP), or use another id.',
);
export const JOB_NOT_FOUND = defineError(
  'KURA-E8427',
  'ENOENT',
  (p: { group: string; id: string }) => `group ${p.group} has no job ${p.id}`,
  'See the jobs with kura cluster job list GROUP.',
);
export const JOB_CUT_OFF = defineEvent(
  'KURA-W8403',
  (p: { group: string; id: string; node: string; rerun: boolean }) =>
    `group ${p.group}: job ${p.id} was cut off by a failover on ${p.node} (marked 0xFFFFFFFF6)${p.rerun ? '; it runs again from the start' : ''}`,
  'None with auto-restart; otherwise submit it again (kura cluster job submit) if it must run.',
);
export const GARP_FAILED = defineEvent(
  'KURA-W8404',
  (p: { group: string; address: string; reason: string }) => `group ${p.group}: no gratuitous ARP was sent for ${p.address}: ${p.reason}`,
  'The address is up; clients reach it once their ARP entries expire. Install iputils-arping to announce it at once.',
);
