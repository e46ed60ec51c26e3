// NBD pre-shared key files in the format psktool, nbdkit, libnbd and QEMU
// share: one "identity:hexkey" a line. The CLI reads the key a host's clients
// will use, or makes a new one, so the key never travels back from the API.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { PSK_FILE_CREATE_FAILED, PSK_FILE_EXISTS, PSK_FILE_EMPTY, PSK_FILE_NO_IDENTITY, PSK_FILE_UNREADABLE } from '../catalogue/protocols.js';

/** psktool's default key size. */
const NEW_KEY_BYTES = 32;

/**
 * The key of `identity` in a PSK file's text. The identity is everything
 * before the last colon (hex keys have none), so names with colons work.
 */
export function pskFromText(text: string, identity: string): string {
  const entries = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => ({ id: l.slice(0, Math.max(0, l.lastIndexOf(':'))), key: l.slice(l.lastIndexOf(':') + 1) }));
  const mine = entries.find((e) => e.id === identity);
  if (mine) return mine.key;
  if (entries.length === 0) throw PSK_FILE_EMPTY({ identity });
  const ids = entries
    .slice(0, 5)
    .map((e) => JSON.stringify(e.id.slice(0, 64)))
    .join(', ');
  throw PSK_FILE_NO_IDENTITY({ wanted: JSON.stringify(identity), ids, identity });
}

export function readPskFile(file: string, identity: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw PSK_FILE_UNREADABLE({ file, reason: (e as Error).message });
  }
  return pskFromText(text, identity);
}

/**
 * Writes a new random key for `identity` to a file that must not exist yet
 * (mode 0600). Returns the key in hex and a function that removes the file
 * again (when the server refuses the key).
 */
export function generatePskFile(file: string, identity: string): { key: string; discard: () => void } {
  const key = crypto.randomBytes(NEW_KEY_BYTES).toString('hex');
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw PSK_FILE_EXISTS({ file });
    throw PSK_FILE_CREATE_FAILED({ file, reason: (e as Error).message });
  }
  try {
    fs.writeSync(fd, `${identity}:${key}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return { key, discard: () => fs.rmSync(file, { force: true }) };
}
