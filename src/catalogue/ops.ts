// Error catalogue: Operations (KURA-E83xx, KURA-W83xx): metrics, alerts,
// performance history and log collection.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError, defineEvent } from '../errors.js';

export const ALERT_EXISTS = defineError(
  'KURA-E8300',
  'EEXIST',
  (p: { name: string }) => `An alert named ${p.name} already exists.`,
  'Choose another name, or delete the old alert first (kura alert delete NAME).',
);
export const ALERT_NOT_FOUND = defineError(
  'KURA-E8301',
  'ENOENT',
  (p: { name: string }) => `There is no alert named ${p.name}.`,
  'See the alerts there are with kura alert list.',
  404,
);
export const ALERT_DESTINATION_COUNT = defineError(
  'KURA-E8302',
  'EINVAL',
  (p: { count: number }) => `An alert needs exactly one destination; ${p.count} were given.`,
  'Give one of --webhook URL, --syslog HOST:PORT or --snmp HOST:PORT.',
);
export const WEBHOOK_URL_INVALID = defineError(
  'KURA-E8303',
  'EINVAL',
  (p: { reason: string }) => `The webhook URL is not usable: ${p.reason}.`,
  'Give an http:// or https:// URL of at most 2048 characters, e.g. https://chat.example.com/hooks/kura.',
);
export const ALERT_HOSTPORT_INVALID = defineError(
  'KURA-E8304',
  'EINVAL',
  (p: { value: string }) => `"${p.value}" is not HOST:PORT with a port from 1 to 65535.`,
  'Give the receiver as HOST:PORT, e.g. 192.0.2.10:514 or [2001:db8::1]:162.',
);
export const ALERT_EVENT_PATTERN_INVALID = defineError(
  'KURA-E8305',
  'EINVAL',
  (p: { pattern: string }) => `"${p.pattern}" is not an event id pattern.`,
  'Give event ids like KURA-E1001, or a prefix ending in * like KURA-E1*.',
);
export const ALERT_TEST_FAILED = defineError(
  'KURA-E8306',
  'EIO',
  (p: { name: string; reason: string }) => `The test event did not reach alert ${p.name}: ${p.reason}.`,
  'Check that the receiver runs and is reachable from the array, then run kura alert test NAME again.',
  502,
);
export const ALERT_COMMUNITY_INVALID = defineError(
  'KURA-E8307',
  'EINVAL',
  'The SNMP community must be 1 to 64 printable ASCII characters.',
  'Give --community with the community your trap receiver accepts (snmptrapd: authCommunity log COMMUNITY).',
);
export const ALERTS_FILE_UNREADABLE = defineError(
  'KURA-E8308',
  'EIO',
  (p: { file: string; reason: string }) => `The alert configuration ${p.file} cannot be read: ${p.reason}.`,
  'Restore the file from a backup or remove it (the alerts are then gone) and restart the server.',
);
export const ALERT_OPTION_MISPLACED = defineError(
  'KURA-E8309',
  'EINVAL',
  (p: { option: string; kind: string }) => `${p.option} does not apply to a ${p.kind} alert.`,
  'Give --community only with --snmp and --transport only with --syslog.',
);
export const PERF_OBJECT_NOT_FOUND = defineError(
  'KURA-E8310',
  'ENOENT',
  (p: { kind: string; name: string }) => `There is no performance history of ${p.kind} ${p.name}.`,
  'See the objects with history in kura perf list; an LD gets history once the manager has sampled it (every 10 seconds).',
  404,
);
export const PERF_SINCE_INVALID = defineError(
  'KURA-E8311',
  'EINVAL',
  (p: { since: string }) => `"${p.since}" is not a duration of up to 7 days.`,
  'Give --since as a number with s, m, h or d, e.g. 90s, 15m, 1h, 2d.',
);
export const PERF_STORE_FAILED = defineError(
  'KURA-E8312',
  'EIO',
  (p: { dir: string; reason: string }) => `The performance history in ${p.dir} cannot be used: ${p.reason}.`,
  'Check the permissions and free space of the data directory; removing DATA/perf discards the history and lets the server start afresh.',
);
export const LOGS_OUTPUT_FAILED = defineError(
  'KURA-E8320',
  'EIO',
  (p: { file: string; reason: string }) => `The log archive ${p.file} cannot be written: ${p.reason}.`,
  'Give --output a path in a writable directory with free space.',
);
export const ALERT_DELIVERY_FAILED = defineEvent(
  'KURA-W8300',
  (p: { name: string; kind: string; reason: string }) => `Alert ${p.name} (${p.kind}) could not deliver events: ${p.reason}.`,
  'Check the receiver; deliveries are retried with back-off, and kura alert test NAME tries at once.',
);
export const PERF_OBJECTS_CAPPED = defineEvent(
  'KURA-W8301',
  (p: { max: number }) => `The performance history keeps at most ${p.max} objects; newer LDs, ports or pools get none.`,
  'Delete unused LDs; the history of deleted objects is removed after a week.',
);
export const ALERT_NAME_INVALID = defineError(
  'KURA-E8313',
  'EINVAL',
  (p: { kind: string; name: string; why: string; max: number }) => `The ${p.kind} name ${p.name} is not valid: ${p.why}.`,
  (p: { max: number }) => `Use 1 to ${p.max} letters, digits, "_", ".", ":" or "-", not only digits.`,
);
export const ALERTS_TOO_MANY = defineError(
  'KURA-E8314',
  'EINVAL',
  (p: { max: number }) => `There are already ${p.max} alerts, the most the manager keeps.`,
  'Delete an alert you no longer need (kura alert delete NAME), or send several kinds of event to one receiver.',
);
export const PERF_KIND_UNKNOWN = defineError(
  'KURA-E8315',
  'EINVAL',
  (p: { kind: string }) => `"${p.kind}" is not a kind of object with performance history.`,
  'Give --kind ld, port or pool.',
);
export const PATH_REPORT_INVALID = defineError(
  'KURA-E8330',
  'EINVAL',
  (p: { what: string; why: string }) => `The path state report is not valid: ${p.what} ${p.why}.`,
  'Send what kura pathd sends: per path its device, path number, portal, state and ALUA state (see docs/pathmanager.md, Reporting to the manager).',
);
export const PATH_REPORT_TOO_LARGE = defineError(
  'KURA-E8331',
  'EINVAL',
  (p: { count: number; max: number }) => `The report lists ${p.count} paths; one host may report at most ${p.max}.`,
  'Report fewer logical units from this host, or split them between pathd instances with different --initiator names.',
);
export const PATH_REPORTS_FULL = defineError(
  'KURA-E8332',
  'EBUSY',
  (p: { host: string; what: string }) => `The report of host ${p.host} is refused: the manager already keeps ${p.what}.`,
  'Stop pathd agents that no longer report (their reports are dropped once stale), or send them to another manager.',
  503,
);
export const PATH_REPORT_NOT_SENT = defineEvent(
  'KURA-W8310',
  (p: { url: string; reason: string }) => `pathd could not report its path states to the manager at ${p.url}: ${p.reason}.`,
  'Check --manager and the API token; pathd keeps trying, and the console shows this host as stale meanwhile.',
);
