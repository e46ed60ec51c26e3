// Error catalogue: The kura command (KURA-E5xxx): arguments, reaching the API, starting the server.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { CatalogueId, defineError } from '../errors.js';

export const NOT_A_SIZE = defineError(
  'KURA-E5001',
  'EINVAL',
  (p: { what: string; input: string }) => `${p.what} "${p.input}" is not a size.`,
  'Give a size like 512MiB, 10GiB, 1TiB or a number of bytes.',
);

/** An argument is not a number, or a number out of range. */
const KURA_E5002 = new CatalogueId('KURA-E5002', 'EINVAL', 'An argument is not a number, or a number out of range.');
export const NOT_A_NUMBER = KURA_E5002.error(
  (p: { what: string; input: string | number }) => `${p.what} "${p.input}" is not a number.`,
  'Give a decimal number or NEC-style hex such as 0001h.',
);
export const NOT_A_WHOLE_NUMBER = KURA_E5002.error(
  (p: { what: string; v: string }) => `${p.what} "${p.v}" is not a whole number.`,
  (p) => `Give ${p.what} as a whole number in decimal or NEC-style hex such as 0001h.`,
);
export const LIMIT_ARG_RANGE = KURA_E5002.error((p: { limit: number }) => `--limit ${p.limit} is out of range.`, 'Give --limit from 1 to 10000.');
export const USAGE_ERROR = defineError('KURA-E5003', 'EINVAL', (p: { problem: string }) => `${p.problem}`, 'See kura --help, or kura <noun> --help.');
export const NOT_A_PERCENTAGE = defineError(
  'KURA-E5005',
  'EINVAL',
  (p: { what: string; n: number }) => `${p.what} ${p.n} is not a percentage.`,
  (p) => `Give ${p.what} from 0 to 100.`,
);

/** A host port argument cannot be used. */
const KURA_E5006 = new CatalogueId('KURA-E5006', 'EINVAL', 'A host port argument cannot be used.');
export const NOT_HOST_PORT = KURA_E5006.error(
  (p: { what: string; s: string }) => `${p.what} "${p.s}" is not HOST:PORT.`,
  (p) => `Give ${p.what} as HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:9940.`,
);
export const ISCSI_NEEDS_TWO_PORTS = KURA_E5006.error(
  (p: { length: number }) => `--iscsi needs two host ports (one per controller), got ${p.length}.`,
  'Give --iscsi HOST:PORT0,HOST:PORT1, e.g. 127.0.0.1:3260,127.0.0.1:3261.',
);
export const ISCSI_SAME_PORT = KURA_E5006.error(
  (p: { port: string }) => `--iscsi gives the same host port ${p.port} to both controllers.`,
  'Give each controller its own HOST:PORT.',
);
export const RAID_ARG_UNKNOWN = defineError(
  'KURA-E5007',
  'EINVAL',
  (p: { v: string }) => `--raid "${p.v}" is not a RAID type Kura builds.`,
  'Give --raid 1 (mirror), 10 (striped mirrors) or 0 (stripe, no redundancy).',
);
export const LD_CREATE_NEEDS_SIZE = defineError(
  'KURA-E5008',
  'EINVAL',
  (p: { name: string }) => `ld create ${p.name} needs --size.`,
  'Give the virtual capacity, e.g. --size 10GiB (only --attr ssv takes no size).',
);
export const SEVERITY_UNKNOWN = defineError(
  'KURA-E5009',
  'EINVAL',
  (p: { severity: string }) => `--severity "${p.severity}" is not a severity.`,
  'Give --severity info, warning or error.',
);
export const API_UNREACHABLE = defineError(
  'KURA-E5010',
  'EIO',
  (p: { url: string; reason: string }) => `Cannot reach the Kura API at ${p.url}: ${p.reason}.`,
  'Start it with kura serve, or point --url / KURA_URL at it.',
);
export const API_ANSWER_NOT_JSON = defineError(
  'KURA-E5011',
  'EIO',
  (p: { url: string; status: number }) => `The server at ${p.url} answered ${p.status} with a body that is not JSON.`,
  'Check that --url / KURA_URL points at a Kura API.',
);
export const API_ANSWER_WITHOUT_BODY = defineError(
  'KURA-E5012',
  'EIO',
  (p: { status: number; statusText: string }) => `The API answered ${p.status} ${p.statusText} without an error body.`,
  'Check that --url / KURA_URL points at a Kura API, and the server log.',
);
export const API_TOKEN_NOT_FOUND = defineError(
  'KURA-E5013',
  'EPERM',
  'No API token was given and none was found in ./kura-data/admin.token.',
  'Give --token, or set KURA_TOKEN to the contents of DATA/admin.token of the server.',
);
export const API_URL_INVALID = defineError(
  'KURA-E5014',
  'EINVAL',
  (p: { url: string; defaultUrl: string }) => `The API URL "${p.url}" is not an http:// or https:// URL.`,
  (p) => `Give --url or KURA_URL like ${p.defaultUrl}.`,
);
export const API_TIMEOUT = defineError(
  'KURA-E5015',
  'EIO',
  (p: { url: string; method: string; route: string; seconds: number }) => `The API at ${p.url} did not answer ${p.method} ${p.route} within ${p.seconds} s.`,
  'Check the server log; the change may still complete (look with kura events).',
);
export const LISTEN_FAILED = defineError(
  'KURA-E5020',
  'EBUSY',
  (p: { phase: string; reason: string }) => `Cannot open ${p.phase}: ${p.reason}.`,
  'Stop whatever uses that address, or choose another with --http / --nbd / --iscsi (port 0 picks a free one).',
);
export const DATA_DIR_CREATE_FAILED = defineError(
  'KURA-E5021',
  'EIO',
  (p: { dataDir: string; reason: string }) => `Cannot create the data directory ${p.dataDir}: ${p.reason}.`,
  'Give --data a directory you can write to.',
);
export const SECRET_GIVEN_TWICE = defineError('KURA-E5031', 'EINVAL', 'Both --secret and --secret-file were given.', 'Give one of them.');
export const SECRET_FILE_UNREADABLE = defineError(
  'KURA-E5032',
  'EINVAL',
  (p: { secretFile: string; reason: string }) => `Cannot read the secret file ${p.secretFile}: ${p.reason}.`,
  'Give a readable file holding the secret on one line.',
);
export const SECRET_MISSING = defineError(
  'KURA-E5033',
  'EINVAL',
  'No CHAP secret was given.',
  'Give --secret SECRET or --secret-file FILE (12 to 255 characters).',
);
export const API_ANSWER_INCOMPLETE = defineError(
  'KURA-E5040',
  'EIO',
  (p: { url: string; method: string; route: string; reason: string }) =>
    `The server at ${p.url} closed the connection without a complete answer to ${p.method} ${p.route} (${p.reason}).`,
  'Check that --url / KURA_URL points at a Kura API and look at the server log; a change may or may not have been made (kura events shows it).',
);
export const PATHD_ANSWER_INCOMPLETE = defineError(
  'KURA-E5041',
  'EIO',
  (p: { base: string; method: string; route: string; reason: string }) =>
    `pathd at ${p.base} closed the connection without a complete answer to ${p.method} ${p.route} (${p.reason}).`,
  "Check that --pathd / KURA_PATHD_URL points at pathd's control address, and pathd's log.",
);
export const COMMAND_STOPPED_WAITING = defineError(
  'KURA-E5042',
  'EINVAL',
  'The command stopped waiting: a request ended without an answer or an error.',
  'Run it again; if it repeats, check the server log and report the command line.',
);
export const EXPAND_ADD_OR_SIZE = defineError(
  'KURA-E5043',
  'EINVAL',
  (p: { verb: string; notBoth: string }) => `kura ${p.verb} needs exactly one of --add and --size${p.notBoth}.`,
  'Give --add SIZE to add capacity, or --size TOTAL for the new total capacity.',
);

/** The CHAP options of kura pathd are incomplete. */
const KURA_E5050 = new CatalogueId('KURA-E5050', 'EINVAL', 'The CHAP options of kura pathd are incomplete.');
export const CHAP_OPTION_MISSING = KURA_E5050.error(
  (p: { missing: string; neededBy: string; u: string; f: string }) => `${p.missing} is missing: ${p.neededBy} needs it.`,
  (p) => `Give both ${p.u} NAME and ${p.f} FILE, or neither.`,
);
export const MUTUAL_CHAP_WITHOUT_CHAP = KURA_E5050.error(
  'Mutual CHAP (--chap-target-user) needs one-way CHAP first.',
  'Give --chap-user and --chap-secret-file as well.',
);

/** A CHAP secret file of kura pathd cannot be used. */
const KURA_E5051 = new CatalogueId('KURA-E5051', 'EINVAL', 'A CHAP secret file of kura pathd cannot be used.');
export const CHAP_SECRET_FILE_UNREADABLE = KURA_E5051.error(
  (p: { file: string; option: string; reason: string }) => `Cannot read the CHAP secret file ${p.file} (${p.option}): ${p.reason}.`,
  'Give a file readable by pathd that holds the secret on one line (mode 0600).',
);
export const CHAP_SECRET_FILE_EMPTY = KURA_E5051.error(
  (p: { file: string; option: string }) => `The CHAP secret file ${p.file} (${p.option}) is empty.`,
  'Put the secret on the first line of the file.',
);
/** pathd's login to a portal failed CHAP authentication (one side or the other). */
const KURA_E5052 = new CatalogueId('KURA-E5052', undefined, 'A login of pathd failed CHAP authentication.');
export const PATHD_TARGET_CHAP_FAILED = KURA_E5052.event(
  (p: { initiator: string; target: string; portal: string; user: string }) =>
    `login of ${p.initiator} to ${p.target} on ${p.portal}: the target failed mutual CHAP authentication (it does not answer as ${p.user} with the expected secret); check --chap-target-user and --chap-target-secret-file against kura target set-chap`,
  'Make --chap-target-user and --chap-target-secret-file match kura target set-chap.',
);
export const PATHD_CHAP_FAILED = KURA_E5052.event(
  (p: { initiator: string; target: string; portal: string; who: string; reason: string }) =>
    `login of ${p.initiator} to ${p.target} on ${p.portal} ${p.who} failed CHAP authentication: ${p.reason}; check --chap-user and --chap-secret-file against the array's host entry for this initiator (kura host set-chap)`,
  'Make --chap-user and --chap-secret-file match the host entry (kura host set-chap).',
);
export const CHAP_SECRETS_EQUAL = defineError(
  'KURA-E5053',
  'EINVAL',
  "The target's CHAP secret is the same as the initiator's.",
  'One secret must not authenticate both directions (RFC 7143, 12.1.3): use different secrets.',
);
export const CLI_INTERNAL_ERROR = defineError(
  'KURA-E5999',
  'EINVAL',
  (p: { stack: string }) => `Internal error in the kura command: ${p.stack}`,
  'Report this problem with the command line you ran.',
);

export const CHECK_FAILED = defineError(
  'KURA-E5030',
  'EIO',
  (p: { dir: string; reason: string }) => `kura check could not read ${p.dir}: ${p.reason}`,
  'Stop the server that uses this data directory, and check that it is a Kura data directory you can read.',
);
export const SERVE_FAILED = defineError(
  'KURA-E5022',
  'EIO',
  (p: { phase: string; reason: string }) => `Kura could not start (${p.phase}): ${p.reason}`,
  'Check the server log; report the problem if it persists.',
);
