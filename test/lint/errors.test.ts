// The error catalogue (src/catalogue/, src/errors.ts): every KURA-E/W id is
// defined once, with an errno (errors), a sentence and an action; no id is
// written as a literal anywhere else in src; docs/errors.md is generated from
// it and up to date (npm run docs:errors).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { catalogueIds } from '../../src/catalogue/index.js';
import { errorsMarkdown, FORMERLY } from '../../src/catalogue/markdown.js';
import { ROOT } from '../helpers/cli.js';

const ID = /KURA-[EW]\d{4}/g;
const CATALOGUE_FILES = (f: string) => f.startsWith('src/catalogue/') || f === 'src/errors.ts';

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${d.name}`;
    if (d.isDirectory()) out.push(...sourceFiles(rel));
    else if (d.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Ids in string and template literals of a file (comments may name ids). */
function idLiterals(file: string): Array<{ id: string; line: number }> {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: Array<{ id: string; line: number }> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) {
      for (const m of n.text.matchAll(ID)) found.push({ id: m[0], line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const defined = new Set(catalogueIds().map((e) => e.id));

test('every catalogued id is defined once, with errno (errors), sentence and action', () => {
  const seen = new Map<string, number>();
  for (const e of catalogueIds()) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  assert.deepEqual(
    [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    [],
    'ids defined more than once',
  );
  for (const e of catalogueIds()) {
    assert.ok(e.forms.length > 0, `${e.id} has no form`);
    if (e.forms.some((f) => f.kind === 'error')) assert.ok(e.code, `${e.id} is thrown but has no errno`);
    if (e.id.startsWith('KURA-W'))
      assert.ok(
        e.forms.every((f) => f.kind === 'event'),
        `${e.id} is a warning but is thrown`,
      );
    if (e.forms.length > 1) assert.ok(e.summary, `${e.id} has ${e.forms.length} forms but no summary saying what they share`);
    for (const f of e.forms) {
      for (const t of [f.message, f.action]) {
        // Templates only interpolate their parameters: rendering with placeholders must work.
        const s = typeof t === 'string' ? t : (t as (p: unknown) => string)(new Proxy({}, { get: (_o, k) => `{${String(k)}}` }));
        assert.ok(s.trim().length > 0, `${e.id} has an empty sentence or action`);
        assert.doesNotMatch(s, /undefined|\bTODO\b/, `${e.id}: ${s}`);
      }
    }
  }
  for (const [now, before] of Object.entries(FORMERLY)) {
    assert.ok(defined.has(now), `${now} (formerly ${before}) is not in the catalogue`);
  }
});

test('no id literal outside the catalogue', () => {
  const stray: string[] = [];
  for (const file of sourceFiles('src')) {
    if (CATALOGUE_FILES(file)) continue;
    for (const { id, line } of idLiterals(file)) stray.push(`${file}:${line} ${id}`);
  }
  assert.deepEqual(stray, [], 'write these through the catalogue (src/catalogue/), not as literals');
});

test('docs/errors.md is generated from the catalogue and up to date', () => {
  const committed = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  for (const id of defined) assert.ok(committed.includes(`### ${id}\n`), `${id} is missing from docs/errors.md`);
  assert.equal(committed, errorsMarkdown(), 'docs/errors.md is out of date: run npm run docs:errors');
});
