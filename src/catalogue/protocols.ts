// Error catalogue: Protocols and limits (KURA-E6xxx, KURA-W6xxx): iSCSI target, CHAP, NBD pre-shared keys, connection and memory limits.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { CatalogueId, defineError, defineEvent } from '../errors.js';

export const TARGET_NAME_INVALID = defineError(
  'KURA-E6001',
  'EINVAL',
  (p: { arg: string }) => `Target name ${p.arg} is not a valid iSCSI name.`,
  'Use an iqn.YYYY-MM.reversed.domain:name, eui. or naa. name.',
);
export const TARGET_WITHOUT_PORTALS = defineError('KURA-E6002', 'EINVAL', 'The iSCSI target has no portals.', 'Give at least one host:port per controller.');
export const PORTAL_TWICE = defineError(
  'KURA-E6003',
  'EINVAL',
  (p: { key: string }) => `Portal ${p.key} is configured twice.`,
  'Give each host port its own address and port.',
);
export const PORTAL_GROUP_TAG_RANGE = defineError(
  'KURA-E6004',
  'EINVAL',
  (p: { key: string; portalGroupTag: number }) => `Portal ${p.key} has portal group tag ${p.portalGroupTag}; it must be 1..65535.`,
  'Number target portal groups from 1.',
);
export const RELATIVE_PORT_ID_RANGE = defineError(
  'KURA-E6005',
  'EINVAL',
  (p: { key: string; relativeTargetPortId: number }) => `Portal ${p.key} has relative target port id ${p.relativeTargetPortId}; it must be 1..65535.`,
  "Number the array's target ports from 1.",
);
export const TARGET_SECRET_WITHOUT_USER = defineError(
  'KURA-E6006',
  'EINVAL',
  'A CHAP target secret is set without a user name.',
  'Set chap.targetUser together with chap.targetSecret.',
);
export const MUTUAL_SECRET_WITHOUT_USER = defineError(
  'KURA-E6007',
  'EINVAL',
  'A mutual CHAP secret is set without a user name.',
  'Set chap.mutualUser together with chap.mutualSecret.',
);
export const PORTAL_ADDRESS_IN_USE = defineError(
  'KURA-E6010',
  'EBUSY',
  (p: { host: string; boundPort: number; reason: string }) => `iSCSI portal ${p.host}:${p.boundPort} cannot listen: ${p.reason}.`,
  'Free the port or configure another host port for this controller.',
);
/** Formerly KURA-E6010 (with errno EIO). */
export const PORTAL_CANNOT_LISTEN = defineError(
  'KURA-E6012',
  'EIO',
  (p: { host: string; boundPort: number; reason: string }) => `iSCSI portal ${p.host}:${p.boundPort} cannot listen: ${p.reason}.`,
  'Free the port or configure another host port for this controller.',
);
export const NO_SUCH_PORTAL = defineError(
  'KURA-E6011',
  'ENOENT',
  (p: { host: string; port: number }) => `No iSCSI portal ${p.host}:${p.port}.`,
  'Give a host:port the target was configured with.',
);
export const TARGET_FAILED_MUTUAL_CHAP = defineError(
  'KURA-E6101',
  'EPERM',
  'The target failed mutual CHAP authentication.',
  'Check the mutual CHAP user and secret on both sides.',
);
export const PSK_NOT_HEX = defineError(
  'KURA-E6120',
  'EINVAL',
  'The NBD pre-shared key is not a string of hex digit pairs.',
  'Give the key as hex, as psktool writes it (e.g. 64 hex digits for 32 bytes).',
);
export const PSK_LENGTH = defineError(
  'KURA-E6121',
  'EINVAL',
  (p: { length: number; minPsk: number; maxPsk: number }) => `The NBD pre-shared key has ${p.length} bytes; it needs ${p.minPsk} to ${p.maxPsk}.`,
  'Use a random key of 32 bytes (64 hex digits), e.g. from kura host set-nbd-psk --generate.',
);
export const PSK_USED_BY_HOST = defineError(
  'KURA-E6123',
  'EEXIST',
  (p: { name: string }) => `Host ${p.name} already uses this NBD pre-shared key.`,
  'Give every host a key of its own (kura host set-nbd-psk --generate makes one).',
);
export const HOST_HAS_NO_PSK = defineError(
  'KURA-E6124',
  'ENOENT',
  (p: { name: string }) => `Host ${p.name} has no NBD pre-shared key.`,
  'Nothing to clear; kura host list shows which hosts have one.',
);
export const PSK_FILE_EMPTY = defineError(
  'KURA-E6125',
  'EINVAL',
  'The PSK file holds no "identity:hexkey" line.',
  (p: { identity: string }) => `Give a file with a line "${p.identity}:HEXKEY", or let kura write one (--generate).`,
);
export const PSK_FILE_NO_IDENTITY = defineError(
  'KURA-E6126',
  'EINVAL',
  (p: { wanted: string; ids: string; identity: string }) =>
    `The PSK file has no key for identity ${p.wanted} (it has ${p.ids}); a host's NBD PSK identity is its name.`,
  (p) => `Give a file with a line "${p.identity}:HEXKEY", or let kura write one (--generate).`,
);
export const PSK_FILE_UNREADABLE = defineError(
  'KURA-E6127',
  'EINVAL',
  (p: { file: string; reason: string }) => `Cannot read the PSK file ${p.file}: ${p.reason}.`,
  'Give a readable file, or --generate to write a new one.',
);
export const PSK_FILE_EXISTS = defineError(
  'KURA-E6128',
  'EEXIST',
  (p: { file: string }) => `The PSK file ${p.file} already exists; --generate does not overwrite a key.`,
  'Give a new file name, or drop --generate to use the key in that file.',
);
/** Formerly KURA-E6128 (with errno EINVAL). */
export const PSK_FILE_CREATE_FAILED = defineError(
  'KURA-E6131',
  'EINVAL',
  (p: { file: string; reason: string }) => `Cannot create the PSK file ${p.file}: ${p.reason}.`,
  'Give a path in a directory you can write to.',
);
export const NOT_ON_OR_OFF = defineError(
  'KURA-E6129',
  'EINVAL',
  (p: { v: string; ref: string }) => `"${p.v}" is neither on nor off.`,
  (p) => `Give kura ld set-nbd-plain ${p.ref} on, or off.`,
);
export const NBD_TLS_MODE_UNKNOWN = defineError(
  'KURA-E6130',
  'EINVAL',
  (p: { nbdTls: string }) => `--nbd-tls "${p.nbdTls}" is not a TLS mode.`,
  'Give --nbd-tls off, allowed or required.',
);
export const LIMIT_FLAG_RANGE = defineError(
  'KURA-E6200',
  'EINVAL',
  (p: { flag: string; n: number }) => `${p.flag} ${p.n} is out of range.`,
  (p) => `Give ${p.flag} from 1 to 1000000.`,
);
export const TIMEOUT_FLAG_RANGE = defineError(
  'KURA-E6201',
  'EINVAL',
  (p: { flag: string; v: string }) => `${p.flag} "${p.v}" is not a number of seconds from 0.1 to 86400.`,
  (p) => `Give ${p.flag} in seconds, e.g. ${p.flag} 10.`,
);
export const IO_MEMORY_TOO_SMALL = defineError(
  'KURA-E6202',
  'EINVAL',
  (p: { ioMemory: string; minMib: number }) => `--io-memory ${p.ioMemory} is below ${p.minMib}MiB.`,
  (p) => `Give --io-memory at least ${p.minMib}MiB: one largest NBD request (32 MiB) must fit twice.`,
);
export const NO_PORTAL_NUMBER = defineError(
  'KURA-E6210',
  'EINVAL',
  (p: { index: number; arg: number }) => `No portal number ${p.index}.`,
  (p) => `Give a portal index from 0 to ${p.arg}.`,
);

// Connection caps (src/limits/conn-cap.ts): one id per listener family, one sentence.
export type CapReport = { listener: string; max: number; refused: number; option: string };
const capText = (p: CapReport) =>
  `${p.listener}: ${p.max} connections open, the cap; refused ${p.refused} new connection(s) since the last report. Raise ${p.option} or find the client holding connections open.`;
const capAction = 'Raise the cap option named in the text, or find the client holding connections open.';
export const NBD_CONNECTION_CAP = defineEvent('KURA-W6200', capText, capAction);
export const ISCSI_CONNECTION_CAP = defineEvent('KURA-W6202', capText, capAction);
export const API_CONNECTION_CAP = defineEvent('KURA-W6203', capText, capAction);

export const NBD_HANDSHAKE_TIMEOUT = defineEvent(
  'KURA-W6201',
  (p: { remote: string; ms: number }) => `nbd: ${p.remote}: no export chosen within ${p.ms} ms of connecting; closing (kura serve --nbd-handshake-timeout)`,
  'None if the client was a probe; otherwise raise --nbd-handshake-timeout.',
);
export const IO_BUDGET_CLOSING = defineEvent(
  'KURA-W6204',
  (p: { holder: string; why: string; mib: string }) => `closing ${p.holder}: ${p.why} (it held ${p.mib} MiB)`,
  'Raise --io-memory, or find the client whose requests hold the memory.',
);

/** The open-file limit is too low for the connection caps (src/limits/fd-limit.ts). */
const KURA_W6205 = new CatalogueId('KURA-W6205', undefined, 'The open-file limit is too low for the connection caps, so kura serve lowers them.');
type FdShortfall = { limit: number; nbd: number; iscsi: number; http: number; inUse: number; capNbd: number; capIscsi: number; capHttp: number };
const fdText = (more: string) => (p: FdShortfall) =>
  `the open-file limit (ulimit -n) is ${p.limit}: the connection caps NBD ${p.nbd}, iSCSI ${p.iscsi} per portal and API ${p.http} do not fit with ${p.inUse} descriptors in use, ` +
  `so NBD takes at most ${p.capNbd} and each iSCSI portal ${p.capIscsi} connections (the API keeps ${p.capHttp})${more}. Raise the limit (ulimit -n, LimitNOFILE=) before starting kura serve, or lower the caps.`;
export const FD_LIMIT_LOWERS_CAPS = KURA_W6205.event(fdText(''), 'Raise the limit (ulimit -n, LimitNOFILE=) before starting kura serve, or lower the caps.');
export const FD_LIMIT_TOO_LOW = KURA_W6205.event(
  fdText('; even these may exceed the limit'),
  'Raise the limit (ulimit -n, LimitNOFILE=) before starting kura serve, or lower the caps.',
);
