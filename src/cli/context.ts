// What every noun's commands share: the API client and the output mode, both
// from the global options.
import type { Command } from 'commander';
import { ApiClient } from './client.js';

export interface CliContext {
  client(): ApiClient;
  json(): boolean;
}

export function makeContext(program: Command): CliContext {
  return {
    client: () => {
      const o = program.opts<{ url?: string; token?: string; owner?: string }>();
      return new ApiClient({ url: o.url, token: o.token, owner: o.owner });
    },
    json: () => program.opts<{ json?: boolean }>().json === true,
  };
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}
