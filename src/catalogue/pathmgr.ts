// Error catalogue: Host multipath, pathd (KURA-E7xxx, KURA-W7xxx).
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { CatalogueId, defineError, defineEvent } from '../errors.js';

export const DISCOVERY_FAILED = defineError(
  'KURA-E7001',
  'EIO',
  (p: { host: string; port: number; reason: string }) => `iSCSI discovery on ${p.host}:${p.port} failed: ${p.reason}`,
  'Check that the portal address is right and the array is serving iSCSI there.',
);
export const POLICY_NOT_IN_CLUSTER_MODE = defineError(
  'KURA-E7002',
  'EPERM',
  (p: { policy: string }) => `policy ${p.policy} balances load dynamically, which cluster mode does not allow`,
  'Use policy failover, or turn cluster mode off first (kura path mode set --cluster off).',
);
export const NO_USABLE_PATH_LEFT = defineEvent(
  'KURA-E7003',
  (p: { name: string; arg: number }) => `${p.name}: no usable path is left; I/O is queued for up to ${p.arg} s`,
  'Bring a path back (kura path show) before the no-path-retry time ends.',
);

/** The one path a command was sent on cannot carry it. */
const KURA_E7008 = new CatalogueId('KURA-E7008', 'EIO', 'The one path a command was sent on cannot carry it.');
export const PATH_NOT_USABLE = KURA_E7008.error(
  (p: { name: string; number: string; state: string }) => `${p.name}: path ${p.number} is ${p.state}`,
  'Pick a path that is in use or active (kura path show).',
);
export const PATH_COMMAND_FAILED = KURA_E7008.error(
  (p: { name: string; number: string; reason: string }) => `${p.name}: path ${p.number} failed: ${p.reason}`,
  'Check the path with kura path show.',
);
export const PATH_ALUA_NOT_USABLE = KURA_E7008.error(
  (p: { name: string; number: string; alua: string }) => `${p.name}: path ${p.number} is ALUA ${p.alua}`,
  'Use another path.',
);
export const NO_USABLE_PATH = defineError(
  'KURA-E7009',
  'EIO',
  (p: { name: string; arg: number }) => `${p.name}: no usable path for ${p.arg} s; the I/O failed`,
  'Check the paths with kura path show and the array with kura fault/status; raise --queue-if-no-path to queue longer.',
);
export const COMMAND_FAILED_EVERYWHERE = defineError(
  'KURA-E7010',
  'EIO',
  (p: { name: string; maxAttempts: number }) => `${p.name}: the command failed ${p.maxAttempts} times on every path`,
  'See pathd log for the sense data of each attempt.',
);

/** Another host's persistent reservation fences this host. */
const KURA_E7011 = new CatalogueId('KURA-E7011', 'EIO', "Another host's persistent reservation fences this host.");
export const RESERVATION_CONFLICT = KURA_E7011.error(
  (p: { name: string }) => `${p.name}: RESERVATION CONFLICT: another host holds a persistent reservation on this logical unit`,
  'This host is fenced; register its key through kura path persist register if it should have access.',
);
export const RESERVATION_CONFLICT_EVENT = KURA_E7011.event(
  (p: { name: string }) => `${p.name}: RESERVATION CONFLICT: this host is fenced by another host's persistent reservation; its I/O fails`,
  "Register this host's key (kura path persist register) if it should have access.",
);
export const ARRAY_FAILED_COMMAND = defineError(
  'KURA-E7012',
  'EIO',
  (p: { name: string; arg: string; arg2: string; arg3: string }) => `${p.name}: the array failed the command 0x${p.arg} with status 0x${p.arg2}, ${p.arg3}`,
  'Check the array events (kura events); the error is not one a path switch can cure.',
);

/** The named multipath device or path does not exist. */
const KURA_E7017 = new CatalogueId('KURA-E7017', 'ENOENT', 'The named multipath device or path does not exist.');
export const NO_SUCH_DEVICE = KURA_E7017.error(
  (p: { ref: string }) => `no multipath device ${p.ref}`,
  'See kura path show for the device names (export) and ids.',
);
export const NO_SUCH_PATH = KURA_E7017.error((p: { ref: string }) => `no path ${p.ref}`, 'See kura path show for the path numbers.');
export const PATH_REF_AMBIGUOUS = defineError(
  'KURA-E7018',
  'EINVAL',
  (p: { ref: string; length: number }) => `${p.ref} names ${p.length} paths`,
  'Use the path number (kura path show), or name the device with --device.',
);
export const PATH_FAILED_REFUSED = defineError(
  'KURA-E7019',
  'EBUSY',
  (p: { arg: string; reason: string }) => `path ${p.arg} has failed (${p.reason})`,
  'Wait for the recovery check to bring it back, or fix the path first.',
);
export const PRIORITY_RANGE = defineError(
  'KURA-E7020',
  'EINVAL',
  (p: { priority: number }) => `priority ${p.priority} is not an integer from 1 to 254`,
  'Give a priority from 1 (lowest) to 254 (highest).',
);
export const PRIORITY_TAKEN = defineError(
  'KURA-E7021',
  'EEXIST',
  (p: { number: string; dev: string; priority: number }) => `path ${p.number} of ${p.dev} already has priority ${p.priority}`,
  'Priorities are unique per logical unit: pick another one, or use kura path swap.',
);
export const SWAP_ACROSS_LUS = defineError(
  'KURA-E7023',
  'EINVAL',
  (p: { a: string; b: string }) => `paths ${p.a} and ${p.b} lead to different logical units`,
  'Swap two paths of the same device.',
);
export const POLICY_UNKNOWN = defineError(
  'KURA-E7024',
  'EINVAL',
  (p: { policy: string; arg: string }) => `unknown policy ${p.policy}`,
  (p) => `Use one of: ${p.arg}.`,
);
export const PATROL_RANGE = defineError(
  'KURA-E7025',
  'EINVAL',
  (p: { k: string; arg: string }) => `patrol ${p.k} ${p.arg} is out of range`,
  (p) => `Give ${p.k} in seconds, from 1 to 86400.`,
);

/** A pathd mode setting is not valid. */
const KURA_E7027 = new CatalogueId('KURA-E7027', 'EINVAL', 'A pathd mode setting is not valid.');
export const GROUPING_UNKNOWN = KURA_E7027.error(
  (p: { grouping: string }) => `path grouping ${p.grouping} is not alua or multibus`,
  'Use alua (optimized paths first) or multibus (all active paths alike).',
);
export const FAILBACK_UNKNOWN = KURA_E7027.error(
  (p: { failback: string }) => `failback mode ${p.failback} is not auto or manual`,
  'Use auto (a recovered path is used again) or manual (it waits in standby).',
);
export const NO_PATH_RETRY_RANGE = KURA_E7027.error(
  (p: { noPathRetry: number }) => `no-path-retry ${p.noPathRetry} is out of range`,
  'Give seconds from 0 to 86400.',
);

/** A persistent reservation request is not valid. */
const KURA_E7031 = new CatalogueId('KURA-E7031', 'EINVAL', 'A persistent reservation request is not valid.');
export const RESERVATION_TYPE_UNKNOWN = KURA_E7031.error(
  (p: { typeName: string; arg: string }) => `unknown reservation type ${p.typeName}`,
  (p) => `Use one of: ${p.arg}.`,
);
export const PERSIST_NEEDS_KEY = KURA_E7031.error(
  (p: { action: string; what: string }) => `persist ${p.action} needs --${p.what}`,
  (p) => `Give --${p.what} as a hexadecimal (0x...) or decimal number.`,
);
export const PERSIST_KEY_INVALID = KURA_E7031.error(
  (p: { what: string; v: string }) => `${p.what} ${p.v} is not a 64-bit number`,
  (p) => `Give --${p.what} as 0x followed by up to 16 hex digits, or a decimal number.`,
);
export const DEVICE_HAS_NO_USABLE_PATH = defineError(
  'KURA-E7032',
  'EIO',
  (p: { dev: string }) => `${p.dev} has no usable path`,
  'Bring a path back first (kura path show).',
);
export const PERSIST_ACTION_UNKNOWN = defineError(
  'KURA-E7033',
  'EINVAL',
  (p: { action: string }) => `unknown persist action ${p.action}`,
  'Use register, unregister, reserve, release, preempt, clear, read-keys or read-reservation.',
);
export const CONTROL_FIELD_MISSING = defineError(
  'KURA-E7035',
  'EINVAL',
  (p: { what: string }) => `the request needs ${p.what}`,
  (p) => `Give ${p.what}.`,
);
/** Formerly KURA-E7035. */
export const CONTROL_BODY_TOO_LARGE = defineError('KURA-E7076', 'EINVAL', 'request body larger than 1 MiB', 'Send a smaller request.');
/** Formerly KURA-E7035. */
export const CONTROL_BODY_NOT_JSON = defineError('KURA-E7077', 'EINVAL', 'request body is not JSON', 'Send a JSON object.');
export const PATH_STATE_NOT_SETTABLE = defineError(
  'KURA-E7036',
  'EINVAL',
  (p: { state: string }) => `path state ${p.state} cannot be set`,
  'Set a path available, standby or unavailable.',
);
export const CONTROL_NO_ROUTE = defineError(
  'KURA-E7037',
  'ENOENT',
  (p: { method: string | undefined; pathname: string }) => `no route ${p.method} ${p.pathname}`,
  'See docs/pathmanager.md for the control API.',
);
export const LOG_COLLECTION_FAILED = defineError(
  'KURA-E7038',
  'EIO',
  (p: { reason: string }) => `collecting the logs failed: ${p.reason}`,
  'Check that tar is installed and the temporary directory is writable.',
);

/** An option of kura pathd is not valid. */
const KURA_E7039 = new CatalogueId('KURA-E7039', 'EINVAL', 'An option of kura pathd is not valid.');
export const PATHD_SECONDS_ARG = KURA_E7039.error(
  (p: { what: string; v: string; min: number }) => `${p.what} "${p.v}" is not a number of seconds from ${p.min} to 86400.`,
  (p) => `Give ${p.what} in seconds, e.g. ${p.what} 5.`,
);
export const PATHD_NEEDS_PORTAL = KURA_E7039.error(
  'kura pathd needs at least one --portal.',
  'Give --portal HOST:PORT once per path to the array, e.g. one per controller.',
);
export const PATHD_POLICY_ARG = KURA_E7039.error(
  (p: { policy: string; policies: string }) => `--policy "${p.policy}" is unknown.`,
  (p) => `Use one of: ${p.policies}.`,
);
export const PATHD_FAILBACK_ARG = KURA_E7039.error(
  (p: { failback: string }) => `--failback "${p.failback}" is not auto or manual.`,
  'Give --failback auto or --failback manual.',
);
export const PATHD_GROUPING_ARG = KURA_E7039.error(
  (p: { pathGrouping: string }) => `--path-grouping "${p.pathGrouping}" is not alua or multibus.`,
  'Give --path-grouping alua or --path-grouping multibus.',
);
export const PATHD_CANNOT_LISTEN = defineError(
  'KURA-E7043',
  'EBUSY',
  (p: { reason: string }) => `pathd cannot listen: ${p.reason}`,
  'Choose other addresses with --nbd / --control / --unix (port 0 picks a free one).',
);
export const PATHD_UNREACHABLE = defineError(
  'KURA-E7045',
  'EIO',
  (p: { base: string; reason: string }) => `cannot reach pathd at ${p.base}: ${p.reason}`,
  'Start it with kura pathd, or point --pathd / KURA_PATHD_URL at its --control address.',
);

/** pathd answered with an error, or with a body that is not JSON. */
const KURA_E7046 = new CatalogueId('KURA-E7046', 'EIO', 'pathd answered with an error, or with a body that is not JSON.');
export const PATHD_ANSWER_NOT_JSON = KURA_E7046.error(
  (p: { base: string; status: number }) => `${p.base} answered ${p.status} with a body that is not JSON`,
  "Check that --pathd / KURA_PATHD_URL points at pathd's control address.",
);
export const PATHD_ANSWER_ERROR = KURA_E7046.error((p: { status: number }) => `pathd answered ${p.status}`, "See pathd's log.");

/** An argument of kura path is not valid. */
const KURA_E7047 = new CatalogueId('KURA-E7047', 'EINVAL', 'An argument of kura path is not valid.');
export const PATH_ARG_NOT_ON_OFF = KURA_E7047.error(
  (p: { what: string; v: string }) => `${p.what} "${p.v}" is not on or off.`,
  (p) => `Give ${p.what} on or off.`,
);
export const PATH_ARG_NOT_NUMBER = KURA_E7047.error(
  (p: { what: string; v: string }) => `${p.what} "${p.v}" is not a number.`,
  (p) => `Give ${p.what} as a number of seconds.`,
);
export const PATH_ARG_NOT_HITO = KURA_E7047.error(
  (p: { hito: string }) => `"${p.hito}" is not H:I:T:O.`,
  'Give four colon-separated fields, e.g. 3:1:1:5 or :90:: (empty fields stay as they are).',
);
export const PATH_ARG_CHECK_SELECTOR = KURA_E7047.error(
  (p: { selector: string }) => `check selector ${p.selector} is not 0-3.`,
  '0 = both off, 1 = health only, 2 = recovery only, 3 = both.',
);
export const OUTPUT_WRITE_FAILED = defineError(
  'KURA-E7048',
  'EIO',
  (p: { file: string; reason: string }) => `cannot write ${p.file}: ${p.reason}`,
  'Give --output a path you can write to.',
);
export const EVENT_ID_INVALID = defineError(
  'KURA-E7049',
  'EINVAL',
  (p: { id: string }) => `event id ${p.id} is not KURA-Ennnn, KURA-Wnnnn or KURA-Innnn.`,
  'Give the id of the event as its reporter logged it.',
);

/** A patrol round or recovery check failed unexpectedly. */
const KURA_E7052 = new CatalogueId('KURA-E7052', undefined, 'A patrol round or recovery check failed unexpectedly.');
export const PATROL_ROUND_FAILED = KURA_E7052.event(
  (p: { reason: string }) => `patrol round failed: ${p.reason}`,
  "Check pathd's log; the next round tries again.",
);
export const RECOVERY_CHECK_FAILED = KURA_E7052.event(
  (p: { reason: string }) => `recovery check failed: ${p.reason}`,
  "Check pathd's log; the next round tries again.",
);
export const FAILOVER_FAILED = defineEvent(
  'KURA-E7061',
  (p: { name: string; number: string; portal: string }) => `${p.name}: failover from path ${p.number} (${p.portal}) failed: no other path is usable`,
  'Bring a path back (kura path show); I/O waits for the no-path-retry time.',
);
export const FAILBACK_FAILED = defineEvent(
  'KURA-E7062',
  (p: { dev: string; number: string; portal: string; why: string }) =>
    `${p.dev}: failback of path ${p.number} (${p.portal}) failed: ${p.why}; the recovery check tries again`,
  'None: the recovery check tries again.',
);
export const PRIORITY_CHANGE_FAILED = defineEvent(
  'KURA-E7064',
  (p: { what: string; reason: string }) => `changing ${p.what} failed: ${p.reason}`,
  'See the error of the request.',
);
export const SORT_ARG_UNKNOWN = defineError(
  'KURA-E7074',
  'EINVAL',
  (p: { v: string }) => `--sort "${p.v}" is not priority or path.`,
  "Give --sort priority (or 2, the seed's -s2) or --sort path (or 1, -s1).",
);
export const PATHD_DATA_DIR_FAILED = defineError(
  'KURA-E7075',
  'EIO',
  (p: { data: string; reason: string }) => `pathd cannot use the data directory ${p.data}: ${p.reason}`,
  'Give --data a directory pathd may create and write (priorities and path states are kept there across restarts).',
);
export const PATH_MARGINAL = defineEvent(
  'KURA-W7005',
  (p: { name: string; number: string; portal: string; length: number; arg: number; arg2: number }) =>
    `${p.name}: path ${p.number} (${p.portal}) failed ${p.length} times within ${p.arg} s; it is marginal and stays out of use until it has been healthy for ${p.arg2} s`,
  'Fix the path; it is used again once healthy for the hold time.',
);
export const PATH_FAILED = defineEvent(
  'KURA-W7006',
  (p: { name: string; number: string; portal: string; why: string }) => `${p.name}: path ${p.number} (${p.portal}) failed: ${p.why}`,
  'Fix the path; the recovery check brings it back.',
);
export const FAILOVER_DONE = defineEvent(
  'KURA-W7007',
  (p: { name: string; number: string; portal: string; arg: string }) => `${p.name}: failover from ${p.number} (${p.portal}) to ${p.arg} done`,
  'Fix the failed path; the recovery check brings it back.',
);

/** iSCSI discovery failed. */
const KURA_W7013 = new CatalogueId('KURA-W7013', undefined, 'iSCSI discovery failed.');
export const PORTAL_DISCOVERY_FAILED = KURA_W7013.event(
  (p: { name: string; reason: string }) => `discovery on ${p.name} failed: ${p.reason}`,
  'Check that the portal address is right and the array is serving iSCSI there.',
);
export const TARGET_DISCOVERY_FAILED = KURA_W7013.event(
  (p: { target: string; name: string; reason: string }) => `discovery of ${p.target} on ${p.name} failed: ${p.reason}`,
  'Check that the portal address is right and the array is serving iSCSI there.',
);
export const PR_KEY_REGISTER_FAILED = defineEvent(
  'KURA-W7030',
  (p: { dev: string; number: string; reason: string }) => `${p.dev}: registering the reservation key on path ${p.number} failed: ${p.reason}`,
  'Check the path; paths that return get the key.',
);
export const NO_LOGICAL_UNIT_FOUND = defineEvent(
  'KURA-W7042',
  (p: { portals: string }) => `no logical unit found behind ${p.portals}; kura path rescan looks again`,
  'Map an LD to this host on the array, then kura path rescan.',
);
export const STATE_FILE_WRITE_FAILED = defineEvent(
  'KURA-W7051',
  (p: { stateFile: string | undefined; reason: string }) => `cannot write the state file ${p.stateFile}: ${p.reason}; settings will not survive a restart`,
  "Make the state file's directory writable.",
);

/** A balancing policy change was refused (PathManager event 269). */
const KURA_W7066 = new CatalogueId('KURA-W7066', undefined, 'A balancing policy change was refused (PathManager event 269).');
export const POLICY_REFUSED_IN_CLUSTER_MODE = KURA_W7066.event(
  (p: { name: string; policy: string }) => `${p.name}: the balancing policy cannot be ${p.policy}: cluster mode allows no dynamic load balancing`,
  'Use a policy that kura path show lists, and no dynamic policy in cluster mode.',
);
export const POLICY_REFUSED_UNKNOWN = KURA_W7066.event(
  (p: { deviceRef: string; policy: string }) => `the balancing policy of ${p.deviceRef} cannot be ${p.policy}: no such policy`,
  'Use a policy that kura path show lists, and no dynamic policy in cluster mode.',
);

/** A path could not be set (PathManager event 276). */
const KURA_W7071 = new CatalogueId('KURA-W7071', undefined, 'A path could not be set (PathManager event 276).');
export const PATH_SET_FAILED = KURA_W7071.event(
  (p: { ref: string; to: string; reason: string }) => `setting path ${p.ref} ${p.to} failed: ${p.reason}`,
  'Fix the path first, or check the path number (kura path show).',
);
export const PATH_SET_REFUSED_FAILED = KURA_W7071.event(
  (p: { dev: string; number: string; portal: string; what: string; reason: string }) =>
    `${p.dev}: path ${p.number} (${p.portal}) cannot be set ${p.what}: it has failed (${p.reason}); the recovery check brings it back`,
  'Fix the path first, or check the path number (kura path show).',
);
export const PATHS_NOT_REDUNDANT = defineEvent(
  'KURA-W7072',
  (p: { name: string; arg: string }) => `${p.name}: ${p.arg}; the logical unit's paths are not redundant`,
  'Bring a second path back (kura path show).',
);

export const EVENTS_NOT_SENT = defineEvent(
  'KURA-W7050',
  (p: { url: string; reason: string }) => `cannot send events to the manager at ${p.url}: ${p.reason}; they stay in the local log`,
  "Check --manager and that the manager is up; the events stay in pathd's log meanwhile.",
);
