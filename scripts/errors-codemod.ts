// Converts inline error ids to the catalogue: for each given file, rewrites
//   new KuraError('KURA-E1030', 'ENOENT', `LD ${x} has been deleted.`, 'Reconnect ...')
// into LD_DELETED({ ld: x }), and event/log sites (`event(sev, 'KURA-W7006', text)`,
// `{ id: 'KURA-W2001', ..., text }`) into NAME.id / NAME({...}), and adds the import.
// A site is converted only when its id, errno and the fixed words of its message and
// action equal one form of the catalogue (so messages stay word for word); every
// other site is listed for a hand conversion. Usage (after npx tsc -p tsconfig.json):
//   node dist/scripts/errors-codemod.js src/block/engine.ts [more files]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CATALOGUE = [
  'src/errors.ts',
  ...fs
    .readdirSync(path.join(ROOT, 'src/catalogue'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/catalogue/${f}`),
];

/** A sentence as fixed words between holes, and the name of each hole's parameter. */
interface Shape {
  words: string[];
  holes: string[];
}
interface Form {
  name: string;
  file: string;
  id: string;
  code?: string;
  kind: 'error' | 'event';
  message: Shape;
  action?: Shape;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The shape of a catalogue template: a string, or `(p) => \`...${p.x}...\``. */
function templateShape(n: ts.Expression): Shape | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return { words: [n.text], holes: [] };
  if (ts.isArrowFunction(n) && ts.isTemplateExpression(n.body)) {
    const holes: string[] = [];
    for (const s of n.body.templateSpans) {
      if (!ts.isPropertyAccessExpression(s.expression)) return undefined;
      holes.push(s.expression.name.text);
    }
    return { words: [n.body.head.text, ...n.body.templateSpans.map((s) => s.literal.text)], holes };
  }
  if (ts.isArrowFunction(n) && (ts.isStringLiteral(n.body) || ts.isNoSubstitutionTemplateLiteral(n.body))) return { words: [n.body.text], holes: [] };
  return undefined;
}

/** The shape of a site's sentence, with the expression in each hole. */
function siteShape(n: ts.Expression): { words: string[]; exprs: ts.Expression[] } | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return { words: [n.text], exprs: [] };
  if (ts.isTemplateExpression(n))
    return { words: [n.head.text, ...n.templateSpans.map((s) => s.literal.text)], exprs: n.templateSpans.map((s) => s.expression) };
  return undefined;
}

function loadCatalogue(): Form[] {
  const forms: Form[] = [];
  for (const file of CATALOGUE) {
    const sf = parse(file);
    const families = new Map<string, { id: string; code?: string }>();
    for (const st of sf.statements) {
      if (!ts.isVariableStatement(st)) continue;
      for (const d of st.declarationList.declarations) {
        const init = d.initializer;
        if (!ts.isIdentifier(d.name) || !init) continue;
        if (ts.isNewExpression(init) && init.expression.getText(sf) === 'CatalogueId') {
          const [id, code] = init.arguments ?? [];
          families.set(d.name.text, { id: (id as ts.StringLiteral).text, code: code && ts.isStringLiteral(code) ? code.text : undefined });
          continue;
        }
        if (!ts.isCallExpression(init)) continue;
        const callee = init.expression.getText(sf);
        const a = init.arguments;
        let f: Omit<Form, 'message' | 'action'> & { msg: ts.Expression; act?: ts.Expression };
        if (callee === 'defineError')
          f = { name: d.name.text, file, id: (a[0] as ts.StringLiteral).text, code: (a[1] as ts.StringLiteral).text, kind: 'error', msg: a[2]!, act: a[3] };
        else if (callee === 'defineEvent') f = { name: d.name.text, file, id: (a[0] as ts.StringLiteral).text, kind: 'event', msg: a[1]! };
        else if (/^\w+\.(error|event)$/.test(callee) && families.has(callee.split('.')[0]!)) {
          const fam = families.get(callee.split('.')[0]!)!;
          const kind = callee.endsWith('.error') ? 'error' : 'event';
          f = { name: d.name.text, file, id: fam.id, code: fam.code, kind, msg: a[0]!, act: kind === 'error' ? a[1] : undefined };
        } else continue;
        const message = templateShape(f.msg);
        const action = f.act ? templateShape(f.act) : undefined;
        if (!message || (f.act && !action)) continue; // shared template functions: converted by hand
        forms.push({ name: f.name, file: f.file, id: f.id, code: f.code, kind: f.kind, message, action });
      }
    }
  }
  return forms;
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Parameter object text for a site matched to a form, or undefined when the holes disagree. */
function params(form: Form, parts: Array<[Shape, ReturnType<typeof siteShape>]>, sf: ts.SourceFile): string | undefined {
  const values = new Map<string, string>();
  for (const [shape, site] of parts) {
    shape.holes.forEach((h, i) => {
      const e = site!.exprs[i]!.getText(sf);
      if (values.has(h) && values.get(h) !== e) values.set(h, '\u0000');
      else values.set(h, e);
    });
  }
  if ([...values.values()].includes('\u0000')) return undefined;
  if (values.size === 0) return '';
  return `{ ${[...values].map(([k, v]) => (k === v ? k : `${k}: ${v}`)).join(', ')} }`;
}

function match(
  forms: Form[],
  id: string,
  kind: 'error' | 'event',
  code: string | undefined,
  msg: ts.Expression,
  act: ts.Expression | undefined,
  sf: ts.SourceFile,
): { form: Form; args: string } | undefined {
  const m = siteShape(msg);
  const a = act ? siteShape(act) : undefined;
  if (!m || (act && !a)) return undefined;
  for (const f of forms) {
    if (f.id !== id || f.kind !== kind || (kind === 'error' && f.code !== code)) continue;
    if (!same(f.message.words, m.words) || (f.action && !same(f.action.words, a!.words))) continue;
    const args = params(
      f,
      f.action
        ? [
            [f.message, m],
            [f.action, a],
          ]
        : [[f.message, m]],
      sf,
    );
    if (args !== undefined) return { form: f, args };
  }
  return undefined;
}

function convert(file: string, forms: Form[]): void {
  const sf = parse(file);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const used = new Map<string, Set<string>>();
  const left: string[] = [];
  const use = (f: Form) => {
    if (!used.has(f.file)) used.set(f.file, new Set());
    used.get(f.file)!.add(f.name);
  };
  const isId = (n: ts.Node | undefined): n is ts.StringLiteral => !!n && ts.isStringLiteral(n) && /^KURA-[EW]\d{4}$/.test(n.text);
  const visit = (n: ts.Node): void => {
    const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    if (ts.isNewExpression(n) && n.expression.getText(sf) === 'KuraError' && isId(n.arguments?.[0])) {
      const [id, code, msg, act, status] = n.arguments!;
      const hit = !status && code && ts.isStringLiteral(code) ? match(forms, (id as ts.StringLiteral).text, 'error', code.text, msg!, act, sf) : undefined;
      if (hit) {
        use(hit.form);
        edits.push({ start: n.getStart(sf), end: n.getEnd(), text: `${hit.form.name}(${hit.args})` });
        return;
      }
      left.push(`${file}:${line} ${(id as ts.StringLiteral).text}`);
    }
    if (ts.isCallExpression(n) && /(^|\.)event$/.test(n.expression.getText(sf)) && isId(n.arguments[1])) {
      const hit = match(forms, n.arguments[1].text, 'event', undefined, n.arguments[2]!, undefined, sf);
      if (hit) {
        use(hit.form);
        edits.push({ start: n.arguments[1].getStart(sf), end: n.arguments[1].getEnd(), text: `${hit.form.name}.id` });
        edits.push({ start: n.arguments[2]!.getStart(sf), end: n.arguments[2]!.getEnd(), text: `${hit.form.name}(${hit.args})` });
        return;
      }
      left.push(`${file}:${line} ${n.arguments[1].text}`);
    }
    if (ts.isObjectLiteralExpression(n)) {
      const prop = (k: string) => n.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(sf) === k);
      const id = prop('id');
      const text = prop('text');
      if (id && text && isId(id.initializer)) {
        const hit = match(forms, id.initializer.text, 'event', undefined, text.initializer, undefined, sf);
        if (hit) {
          use(hit.form);
          edits.push({ start: id.initializer.getStart(sf), end: id.initializer.getEnd(), text: `${hit.form.name}.id` });
          edits.push({ start: text.initializer.getStart(sf), end: text.initializer.getEnd(), text: `${hit.form.name}(${hit.args})` });
          return;
        }
        left.push(`${file}:${line} ${id.initializer.text}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  let text = sf.text;
  for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  // Imports: merge into an existing import of the same module, or add one after the last import.
  for (const [catFile, names] of used) {
    let rel = path.relative(path.dirname(file), catFile).replace(/\.ts$/, '.js');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    const re = new RegExp(`import \\{([^}]*)\\} from '${rel.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}';`);
    const m = text.match(re);
    if (m) {
      const all = new Set([
        ...m[1]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        ...names,
      ]);
      text = text.replace(re, `import { ${[...all].sort().join(', ')} } from '${rel}';`);
    } else {
      const imports = [...text.matchAll(/^import [^;]*;$/gms)];
      const at = imports.length ? imports[imports.length - 1]!.index! + imports[imports.length - 1]![0].length : 0;
      text = `${text.slice(0, at)}\nimport { ${[...names].sort().join(', ')} } from '${rel}';${text.slice(at)}`;
    }
  }
  // The KuraError import goes when nothing else in the file uses it.
  if ((text.match(/\bKuraError\b/g) ?? []).length === 1) text = text.replace(/import \{ KuraError \} from '[./]*errors\.js';\n/, '');
  fs.writeFileSync(path.join(ROOT, file), text);
  console.log(`${file}: ${edits.length} edit(s)${left.length ? `; by hand: ${left.join(', ')}` : ''}`);
}

const forms = loadCatalogue();
for (const f of process.argv.slice(2)) convert(f, forms);
