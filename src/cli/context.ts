// What every noun's commands share: the API client and the output mode, both
// from the global options.
import type { Command } from 'commander';
import { ApiClient, segmentError } from './client.js';
import { dotNameError, isDotSegment } from '../names.js';
import { CliArgError } from './units.js';

export interface CliContext {
  client(): ApiClient;
  json(): boolean;
}

export function makeContext(program: Command): CliContext {
  return {
    client: () => {
      const o = program.opts<{ url?: string; token?: string; owner?: string; array?: string }>();
      return new ApiClient({ url: o.url, token: o.token, owner: o.owner, array: o.array });
    },
    json: () => program.opts<{ json?: boolean }>().json === true,
  };
}

/**
 * A name or number the user gave for a path parameter (pathOf encodes it).
 * "." and ".." are refused here, before anything is sent: URL libraries and
 * proxies resolve them (even as %2e%2e), so `kura snapshot delete v ..` would
 * otherwise become DELETE /lds/v.
 */
export function segArg(s: string): string {
  const e = segmentError(s);
  if (e) throw new CliArgError(e.id, e.message, e.action);
  return s;
}

/** A name for a new object: "." and ".." are refused here with the server's id (they could never be addressed). */
export function nameArg(s: string): string {
  if (isDotSegment(s)) {
    const e = dotNameError('name', s);
    throw new CliArgError(e.id, e.message, e.action);
  }
  return s;
}
