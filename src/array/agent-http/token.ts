// The array agent's own token: DATA/agent.token, random, mode 0600, made at the
// first start. Managers send it as a bearer token (kura array register --token-file).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_TOKEN_FILE } from '../../catalogue/ha.js';

export const AGENT_TOKEN_FILE_NAME = 'agent.token';

export function ensureAgentToken(dataDir: string): { token: string; file: string; created: boolean } {
  const file = path.join(dataDir, AGENT_TOKEN_FILE_NAME);
  try {
    return { token: readAgentToken(file), file, created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  // The umask may have taken bits away, never added them; make the mode exact anyway.
  fs.chmodSync(file, 0o600);
  return { token, file, created: true };
}

/** Reads a token file; ENOENT passes through as it is (the caller may create one). */
export function readAgentToken(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    throw AGENT_TOKEN_FILE({ file, reason: (e as Error).message });
  }
  const token = text.trim();
  if (!/^[\x21-\x7e]{16,}$/.test(token)) throw AGENT_TOKEN_FILE({ file, reason: 'it is empty, too short or not printable' });
  return token;
}
