// Errors as values. Every user-facing failure carries a stable id (KURA-Ennnn),
// a sentence saying what happened and an action saying what to do about it.
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

export function isKuraError(e: unknown): e is KuraError {
  return e instanceof KuraError;
}

/** Wraps an unexpected error (a bug or an OS error) so callers always get an id. */
export function asKuraError(e: unknown): KuraError {
  if (e instanceof KuraError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOSPC') {
    return new KuraError('KURA-E1003', 'ENOSPC', `The backing file system is full: ${err.message}.`, 'Free space on the file system that holds the data directory.');
  }
  return new KuraError('KURA-E9000', 'EIO', `Internal error: ${err?.message ?? String(e)}.`, 'Check the server log; report the problem if it persists.', 500);
}
