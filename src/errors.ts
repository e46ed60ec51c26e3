// Errors as values. Every user-facing failure carries a stable id (KURA-Ennnn),
// a sentence saying what happened and an action saying what to do about it.
// Ids are defined once, in the catalogue (src/catalogue/, with defineError and
// defineEvent below); docs/errors.md is generated from it (npm run docs:errors).
// This module imports nothing so that every layer may use it.

export type ErrorCode =
  | 'ENOSPC' // physical space exhausted
  | 'EINVAL' // bad argument
  | 'ENOENT' // no such object
  | 'EEXIST' // object already exists
  | 'EBUSY' // object in use
  | 'EIO' // device or media error
  | 'EROFS' // read-only device
  | 'ENOTREADY' // the volume cannot be used now (an RV while its pair copies or mirrors)
  | 'EPERM' // not allowed
  | 'ERANGE'; // out of range (LBA beyond end)

export class KuraError extends Error {
  readonly id: string;
  readonly code: ErrorCode;
  readonly action: string;
  readonly httpStatus: number;

  constructor(id: string, code: ErrorCode, message: string, action: string, httpStatus = statusFor(code)) {
    super(message);
    this.name = 'KuraError';
    this.id = id;
    this.code = code;
    this.action = action;
    this.httpStatus = httpStatus;
  }

  toJSON(): { id: string; code: ErrorCode; message: string; action: string } {
    return { id: this.id, code: this.code, message: this.message, action: this.action };
  }
}

function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'ENOENT':
      return 404;
    case 'EEXIST':
    case 'EBUSY':
    case 'ENOTREADY':
      return 409;
    case 'ENOSPC':
      return 507;
    case 'EIO':
      return 500;
    case 'EPERM':
      return 403;
    default:
      return 400;
  }
}

/** A sentence with named holes: a plain string, or a function of its parameters. Templates only interpolate their parameters (the docs render them with {name} in each hole). */
export type Text<P> = string | ((p: P) => string);

/** One sentence form of a catalogued id: the message (for events, the whole text) and the action. */
export interface CatalogueForm {
  readonly kind: 'error' | 'event';
  readonly message: Text<never>;
  readonly action: Text<never>;
  readonly httpStatus?: number;
}

/**
 * One id of the catalogue. Most ids have one form. An id has several forms when
 * the same failure is reported about different inputs (which option, which
 * field); the summary says what they have in common. A different cause gets an
 * id of its own.
 */
export class CatalogueId {
  readonly forms: CatalogueForm[] = [];

  constructor(
    readonly id: string,
    /** The errno of the id's errors; events carry none. */
    readonly code: ErrorCode | undefined,
    readonly summary?: string,
  ) {
    if (!/^KURA-[EW]\d{4}$/.test(id)) throw new Error(`catalogue: ${id} is not KURA-Ennnn or KURA-Wnnnn`);
    registry.push(this);
  }

  /** A thrown form: calling the result makes the KuraError. */
  error<P = void>(message: Text<P>, action: Text<P>, httpStatus?: number): ErrorDef<P> {
    if (this.code === undefined) throw new Error(`catalogue: ${this.id} has an error form but no errno`);
    const code = this.code;
    this.forms.push({ kind: 'error', message: message as Text<never>, action: action as Text<never>, httpStatus });
    const make = (p: P) => new KuraError(this.id, code, render(message, p), render(action, p), httpStatus);
    return Object.assign(make, { id: this.id, code });
  }

  /** A logged or emitted form (a warning, or an error event): calling the result makes the text. */
  event<P = void>(text: Text<P>, action: string): EventDef<P> {
    this.forms.push({ kind: 'event', message: text as Text<never>, action });
    return Object.assign((p: P) => render(text, p), { id: this.id });
  }
}

export interface ErrorDef<P> {
  (p: P): KuraError;
  readonly id: string;
  readonly code: ErrorCode;
}

export interface EventDef<P> {
  (p: P): string;
  readonly id: string;
}

const registry: CatalogueId[] = [];

/** Every id defined so far (import src/catalogue/index.ts first to have them all). */
export function catalogueIds(): readonly CatalogueId[] {
  return registry;
}

/** An id with one error form. */
export function defineError<P = void>(id: string, code: ErrorCode, message: Text<P>, action: Text<P>, httpStatus?: number): ErrorDef<P> {
  return new CatalogueId(id, code).error(message, action, httpStatus);
}

/** An id with one event form (warnings, and errors that are reported rather than thrown). */
export function defineEvent<P = void>(id: string, text: Text<P>, action: string): EventDef<P> {
  return new CatalogueId(id, undefined).event(text, action);
}

function render<P>(t: Text<P>, p: P): string {
  return typeof t === 'string' ? t : t(p);
}

/** The file system under the data directory is full (any layer may meet it). */
export const FILE_SYSTEM_FULL = new CatalogueId('KURA-E1003', 'ENOSPC', 'The file system that holds the data directory is full.');
export const BACKING_FILE_SYSTEM_FULL = FILE_SYSTEM_FULL.error(
  (p: { reason: string }) => `The backing file system is full: ${p.reason}.`,
  'Free space on the file system that holds the data directory.',
);
export const DATA_FILE_SYSTEM_FULL = FILE_SYSTEM_FULL.error('The file system holding the data directory is full.', 'Free space there or give a smaller size.');

/** A bug or an unexpected OS error. */
export const INTERNAL_ERROR = defineError(
  'KURA-E9000',
  'EIO',
  (p: { reason: string }) => `Internal error: ${p.reason}.`,
  'Check the server log; report the problem if it persists.',
  500,
);

export function isKuraError(e: unknown): e is KuraError {
  return e instanceof KuraError;
}

/** Wraps an unexpected error (a bug or an OS error) so callers always get an id. */
export function asKuraError(e: unknown): KuraError {
  if (e instanceof KuraError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOSPC') {
    return BACKING_FILE_SYSTEM_FULL({ reason: err.message });
  }
  return INTERNAL_ERROR({ reason: err?.message ?? String(e) });
}
