// docs/errors.md from the catalogue (npm run docs:errors writes it; the
// catalogue test checks the committed file is what this renders).
import type { CatalogueId, Text } from '../errors.js';
import { catalogueIds } from './index.js';

/** Ids given to forms that shared an id with a different error. */
export const FORMERLY: Readonly<Record<string, string>> = {
  'KURA-E2700': 'KURA-E2306',
  'KURA-E6012': 'KURA-E6010',
  'KURA-E6131': 'KURA-E6128',
  'KURA-E7076': 'KURA-E7035',
  'KURA-E7077': 'KURA-E7035',
};

// Templates only interpolate their parameters, so every parameter read gives "{name}".
const PLACEHOLDERS = new Proxy({}, { get: (_t, key) => `{${String(key)}}` });

function show(t: Text<never>): string {
  return typeof t === 'string' ? t : (t as (p: unknown) => string)(PLACEHOLDERS);
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function section(e: CatalogueId): string[] {
  const kind = e.forms.every((f) => f.kind === 'event') ? (e.id.startsWith('KURA-W') ? 'warning' : 'error event') : 'error';
  const head = [`### ${e.id}`, ''];
  const facts = [`${kind}`, e.code ? `errno ${e.code}` : '', FORMERLY[e.id] ? `formerly ${FORMERLY[e.id]}` : ''].filter(Boolean).join(' · ');
  const lines = [...head, facts, ''];
  if (e.summary) lines.push(e.summary, '');
  if (e.forms.length === 1) {
    const f = e.forms[0]!;
    lines.push(`- ${f.kind === 'event' ? 'Text' : 'Message'}: ${show(f.message)}`, `- Action: ${show(f.action)}`, '');
    return lines;
  }
  lines.push('| form | message | action |', '|---|---|---|');
  e.forms.forEach((f, i) => lines.push(`| ${i + 1}${f.kind === 'event' ? ' (event)' : ''} | ${cell(show(f.message))} | ${cell(show(f.action))} |`));
  lines.push('');
  return lines;
}

export function errorsMarkdown(): string {
  const ids = [...catalogueIds()].sort((a, b) => a.id.slice(6).localeCompare(b.id.slice(6)) || a.id.localeCompare(b.id));
  const out = [
    '# Error and warning ids',
    '',
    '<!-- Generated from src/catalogue/ by `npm run docs:errors`; do not edit by hand. -->',
    '',
    'Every error Kura reports carries a stable id (`KURA-Ennnn`), an errno-like code, a sentence',
    'saying what happened and an action saying what to do; warnings (`KURA-Wnnnn`) and error events',
    'are logged or recorded as events. `{name}` marks a part of the sentence filled in when it is',
    'reported. An id with several forms is one failure reported about different inputs. The first',
    'digit tells the layer: 1 block engine, 2 disk array, 3 VVOL provider, 4 management API,',
    '5 `kura` command, 6 protocols and limits, 7 pathd, 9 internal.',
    '',
    `${ids.length} ids.`,
    '',
  ];
  for (const e of ids) out.push(...section(e));
  return out.join('\n');
}
