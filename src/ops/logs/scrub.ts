// Secrets out of anything a log collection gathers: values of keys that name
// a secret (secret, password, token, psk, key, community, authorization) in
// JSON or key=value text, bearer tokens, long hex strings (PSKs), URLs'
// passwords, and any exact string the caller knows to be secret (the API
// token). The collection scrubs every file, even those already built without
// secrets, so a secret that slips into a log line is still removed.

export const REDACTED = '[REDACTED]';

const KEY = '(?:[A-Za-z0-9_-]*(?:secret|password|passwd|token|psk|community|authorization|api[_-]?key|private[_-]?key)[A-Za-z0-9_-]*)';

export function scrubText(text: string, known: string[] = []): string {
  let t = text;
  for (const k of known) if (k.length >= 6) t = t.split(k).join(REDACTED);
  t = t.replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${REDACTED}`);
  // "key": "value" (JSON) and key=value / key: value (logs, configuration).
  t = t.replace(new RegExp(`("${KEY}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`);
  // key="value" and key='value' (XML attributes, shell).
  t = t.replace(new RegExp(`\\b(${KEY}\\s*=\\s*)(["'])[^"'\\n]*\\2`, 'gi'), `$1$2${REDACTED}$2`);
  t = t.replace(new RegExp(`\\b(${KEY}\\s*[=:]\\s*)(?!\\s*")([^\\s,;&"'}]+)`, 'gi'), `$1${REDACTED}`);
  // user:password@ in URLs.
  t = t.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^@\s/]+@/gi, `$1${REDACTED}@`);
  // Hex strings of 40 digits and more are keys (NBD PSKs are 64), not ids (NAA ids are 32 and prefixed "naa.", WWNs 16).
  t = t.replace(/(?<![.\w])[0-9a-fA-F]{40,}(?![\w])/g, REDACTED);
  return t;
}
