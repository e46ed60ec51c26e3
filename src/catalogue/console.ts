// Error catalogue: the web console (KURA-E82xx): login, session cookie, CSRF and
// origin checks, the live event stream and the built front end.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError } from '../errors.js';

export const SESSION_ENDED = defineError(
  'KURA-E8200',
  'EPERM',
  'The console session has expired or was ended (logout, idle time, manager restart).',
  'Log in again at /login with the API token; API clients send "Authorization: Bearer TOKEN" instead of the cookie.',
  401,
);
export const CSRF_TOKEN_INVALID = defineError(
  'KURA-E8201',
  'EPERM',
  'A change sent with the console session cookie has no valid X-CSRF-Token header.',
  'Make changes from the console page (it sends the token of its session); scripts send "Authorization: Bearer TOKEN" instead of the cookie.',
  403,
);
export const ORIGIN_REFUSED = defineError(
  'KURA-E8202',
  'EPERM',
  (p: { origin: string }) => `A request with the console session cookie came from another site or origin (${p.origin}); it is refused.`,
  'Use the console only from its own address; another site cannot act with your session.',
  403,
);
export const LOGIN_TOKEN_WRONG = defineError(
  'KURA-E8203',
  'EPERM',
  'The token given at login is not the API token.',
  'Enter the token from DATA/admin.token of the server (kura serve prints where the data directory is).',
  401,
);
export const LOGIN_THROTTLED = defineError(
  'KURA-E8204',
  'EPERM',
  (p: { seconds: number }) => `Too many failed logins from this address; logins are refused for ${p.seconds} s.`,
  'Wait, then log in with the token from DATA/admin.token.',
  429,
);
export const STREAM_LIMIT = defineError(
  'KURA-E8205',
  'EBUSY',
  (p: { limit: number; scope: string }) => `The live event stream is refused: ${p.limit} streams are open ${p.scope} already.`,
  'Close other console tabs, or wait: the console retries by itself and falls back to reloading on refresh.',
  503,
);
export const CONSOLE_NOT_BUILT = defineError(
  'KURA-E8206',
  'EIO',
  (p: { file: string }) => `The console front end is not built: ${p.file} is missing.`,
  'Run "npm run build" (it bundles src/console/web into dist/console), then restart kura serve.',
  503,
);
export const LOGIN_FORM_INVALID = defineError(
  'KURA-E8207',
  'EINVAL',
  'The login form is not a URL-encoded form with a "token" field of at most 512 characters.',
  'Log in from the page at /login.',
);
