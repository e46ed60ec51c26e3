// Error catalogue: Management service (KURA-E4xxx): the REST API, its requests and bodies.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { CatalogueId, defineError } from '../errors.js';

export const API_TOKEN_MISSING = defineError(
  'KURA-E4001',
  'EPERM',
  'The request has no valid API token.',
  'Send "Authorization: Bearer TOKEN" with the token from DATA/admin.token.',
  401,
);
export const BODY_NOT_JSON = defineError(
  'KURA-E4002',
  'EINVAL',
  (p: { reason: string }) => `The request body is not valid JSON: ${p.reason}.`,
  'Send a JSON object with content-type application/json.',
);
export const BODY_TOO_LARGE = defineError(
  'KURA-E4003',
  'EINVAL',
  (p: { maxBody: number }) => `The request body exceeds ${p.maxBody} bytes.`,
  'Send a smaller body: API bodies are small JSON objects.',
  413,
);
export const PATH_SEGMENT_BAD_ENCODING = defineError(
  'KURA-E4004',
  'EINVAL',
  (p: { segment: string }) => `The path segment "${p.segment}" is not valid percent-encoding.`,
  'Encode names with encodeURIComponent.',
);
export const NO_API_RESOURCE = defineError(
  'KURA-E4006',
  'ENOENT',
  (p: { path: string }) => `There is no API resource at ${p.path}.`,
  'See /api/v1/openapi.json for the API.',
  404,
);
export const API_TOKEN_UNREADABLE = defineError(
  'KURA-E4007',
  'EIO',
  (p: { policy: string; reason: string }) => `The API token ${p.policy} cannot be read: ${p.reason}.`,
  'Make the file readable by the user running kura serve, or delete it to have a new token made.',
);
export const API_TOKEN_INVALID = defineError(
  'KURA-E4008',
  'EINVAL',
  (p: { policy: string }) => `The API token in ${p.policy} is empty, too short or not printable.`,
  'Delete the file: the next start makes a new random token.',
);
export const REQUEST_TARGET_INVALID = defineError(
  'KURA-E4009',
  'EINVAL',
  'The request target is not a valid URL path.',
  'Send a path under /api/v1, e.g. /api/v1/lds.',
);
export const BODY_NOT_OBJECT = defineError(
  'KURA-E4010',
  'EINVAL',
  'The request body must be a JSON object.',
  'Send a JSON object with the fields the API document lists.',
);
export const BODY_UNKNOWN_FIELD = defineError(
  'KURA-E4011',
  'EINVAL',
  (p: { k: string; allowed: string }) => `Unknown field "${p.k}" in the request body.`,
  (p) => `Allowed fields: ${p.allowed}.`,
);
export const BODY_FIELD_REQUIRED = defineError(
  'KURA-E4012',
  'EINVAL',
  (p: { k: string; description: string }) => `The field "${p.k}" is required.`,
  (p) => `Give ${p.k}: ${p.description}.`,
);
export const BODY_FIELD_WRONG_TYPE = defineError(
  'KURA-E4013',
  'EINVAL',
  (p: { k: string; expected: string; got: string; description: string }) => `The field "${p.k}" must be ${p.expected}; got ${p.got}.`,
  (p) => `Give ${p.k}: ${p.description}.`,
);
export const NOTHING_TO_CHANGE = defineError('KURA-E4014', 'EINVAL', 'Nothing to change.', 'Give threshold, qosUpper, qosLower or qosMode.');
/** A query parameter the request does not take. */
const KURA_E4015 = new CatalogueId('KURA-E4015', 'EINVAL', 'A query parameter is not known.');
export const QUERY_UNKNOWN_PARAMETER = KURA_E4015.error(
  (p: { param: string; allowed: string }) => `Unknown query parameter "${p.param}".`,
  (p) => `Allowed query parameters: ${p.allowed}.`,
);
export const QUERY_NO_PARAMETERS = KURA_E4015.error(
  (p: { param: string }) => `Unknown query parameter "${p.param}".`,
  'This request takes no query parameters.',
);

/** A query parameter is given more than once or has the wrong type. */
const KURA_E4016 = new CatalogueId('KURA-E4016', 'EINVAL', 'A query parameter is given more than once or has the wrong type.');
export const QUERY_PARAMETER_REPEATED = KURA_E4016.error(
  (p: { k: string; length: number }) => `The query parameter "${p.k}" is given ${p.length} times.`,
  (p) => `Give ${p.k} once.`,
);
export const QUERY_PARAMETER_WRONG_TYPE = KURA_E4016.error(
  (p: { k: string; value: string; expected: string; description: string }) => `The query parameter ${p.k}=${p.value} is not ${p.expected}.`,
  (p) => `Give ${p.k}: ${p.description}.`,
);
export const VALUE_NOT_IN_ENUM = defineError(
  'KURA-E4017',
  'EINVAL',
  (p: { value: string; k: string; allowed: string }) => `${p.value} is not a valid value of "${p.k}".`,
  (p) => `Give ${p.k} as one of: ${p.allowed}.`,
);
export const FAULT_PORT_NOT_HOST_PORT = defineError(
  'KURA-E4020',
  'EINVAL',
  (p: { target: string }) => `"${p.target}" is not HOST:PORT.`,
  'Give the host port as HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:3260 (kura array show lists them).',
);
export const FAULT_ACTION_UNKNOWN = defineError(
  'KURA-E4021',
  'EINVAL',
  (p: { action: string }) => `Fault action "${p.action}" is not known.`,
  'Use controller-down, controller-up, port-down or port-up.',
);
export const EVENTS_LIMIT_RANGE = defineError(
  'KURA-E4022',
  'EINVAL',
  (p: { limit: number }) => `limit ${p.limit} is out of range.`,
  'Give a limit from 1 to 10000.',
);
export const BODY_TOO_DEEP = defineError(
  'KURA-E4031',
  'EINVAL',
  (p: { maxBodyDepth: number }) => `The request body nests arrays or objects more than ${p.maxBodyDepth} levels deep.`,
  'Send a flat JSON object with the fields the API document lists.',
);
export const FAULT_TARGET_NOT_CONTROLLER = defineError(
  'KURA-E4032',
  'EINVAL',
  (p: { target: string; action: string }) => `The target ${p.target} of ${p.action} is not a controller number.`,
  'Give the controller number as a string, e.g. "0" or "1" (kura array show lists them).',
);
/** An expand needs exactly one of add and total. */
const KURA_E4033 = new CatalogueId('KURA-E4033', 'EINVAL', 'An expand names both or neither of add and total.');
export const EXPAND_FIELDS_TOGETHER = KURA_E4033.error(
  (p: { fields: string }) => `The fields ${p.fields} were given together.`,
  'Give exactly one: add (capacity to add, e.g. "1GiB") or total (the new capacity).',
);
export const EXPAND_FIELD_MISSING = KURA_E4033.error(
  'Neither add nor total was given.',
  'Give exactly one: add (capacity to add, e.g. "1GiB") or total (the new capacity).',
);

/** An expand would not add capacity. */
const KURA_E4034 = new CatalogueId('KURA-E4034', 'EINVAL', 'An expand would not add capacity.');
export const EXPAND_ADD_NOT_POSITIVE = KURA_E4034.error(
  (p: { what: string; field: string }) => `${p.what}: ${p.field} must be more than 0 bytes.`,
  'Give the capacity to add, e.g. "1GiB".',
);
export const EXPAND_TOTAL_NOT_LARGER = KURA_E4034.error(
  (p: { pool: string; capacity: string; total: string }) => `Pool ${p.pool} is already ${p.capacity}; a total of ${p.total} would not grow it.`,
  'Give a total larger than the current capacity, or add: the capacity to add.',
);
export const PARAMETER_NOT_NUMBER = defineError(
  'KURA-E4035',
  'EINVAL',
  (p: { what: string; value: string }) => `${p.what} ${p.value} is not a number.`,
  (p) => `Give the ${p.what} as a whole number in decimal or NEC-style hex such as 0001h.`,
);
/** Node's HTTP parser refused the request; the answer's status (400, 408 or 431) is picked where it is written (router.ts answerClientError). */
export const REQUEST_NOT_HTTP = defineError(
  'KURA-E4036',
  'EINVAL',
  (p: { reason: string }) => `The request is not valid HTTP/1.1 (${p.reason}).`,
  'Send a well-formed request: a target of printable ASCII (percent-encode anything else), valid headers under 16 KiB.',
);
export const INITIATOR_GIVEN_TWICE = defineError(
  'KURA-E4037',
  'EINVAL',
  (p: { twice: string; name: string }) => `Initiator ${p.twice} is given twice for host ${p.name}.`,
  'Give each initiator once.',
);

/** A pool would hold more chunks than a pool may. */
const KURA_E4038 = new CatalogueId('KURA-E4038', 'EINVAL', 'A pool would hold more chunks than a pool may.');
export const POOL_SIZE_TOO_LARGE = KURA_E4038.error(
  (p: { size: number; arg: string; arg2: string }) => `Pool size ${p.size} is too large.`,
  (p) => `Give at most ${p.arg} with ${p.arg2} chunks.`,
);
export const POOL_CHUNKS_TOO_MANY = KURA_E4038.error(
  (p: { pool: string; arg: number; maxPoolChunks: number; max: string; arg2: string }) =>
    `Pool ${p.pool} would hold ${p.arg} chunks; at most ${p.maxPoolChunks} (${p.max} of ${p.arg2} chunks) are allowed.`,
  'Give a smaller size, or use a pool with larger chunks (--chunk up to 64MiB).',
);
export const PD_TOO_LARGE_FOR_FILE_SYSTEM = defineError(
  'KURA-E4039',
  'EINVAL',
  (p: { arg: string }) => `A PD of ${p.arg} is larger than the file system holding the data directory allows for one file.`,
  'Give a smaller size, or more PDs (--pds) so each holds less.',
);

export const METHOD_NOT_ALLOWED = defineError(
  'KURA-E4005',
  'EINVAL',
  (p: { method: string; path: string; allow: string }) => `Method ${p.method} is not allowed on ${p.path}.`,
  (p) => `Use ${p.allow}; /api/v1/openapi.json lists the methods of each path.`,
  405,
);

/** "." and ".." (and "/" in a path parameter) never name an object (src/names.ts). */
const KURA_E4030 = new CatalogueId('KURA-E4030', 'EINVAL', 'A name or path parameter is a dot segment or holds a "/", so it names no object.');
export const DOT_NAME = KURA_E4030.error(
  (p: { what: string; value: string }) => `The ${p.what} ${p.value} is not allowed: "." and ".." are path dot segments that would name the parent object.`,
  'Give the object by its real name or number; no pool, LD, snapshot, clone or host is called "." or "..".',
);
export const SLASH_IN_PATH_PARAMETER = KURA_E4030.error(
  (p: { param: string; value: string }) => `The path parameter {${p.param}} ${p.value} holds a "/" or "\\", which no name may hold.`,
  'Give the object by its real name or number.',
);
