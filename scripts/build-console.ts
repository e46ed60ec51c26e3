// Bundles the console's front end (src/console/web) with esbuild into
// dist/console/app.js and app.css, which the manager serves under /assets/.
// Run by `npm run build` after tsc; prints the bundle's size (the first load's
// JavaScript, kept under 300 KB).
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = process.cwd();
const outdir = path.join(root, 'dist', 'console');
const result = await build({
  entryPoints: { app: path.join(root, 'src', 'console', 'web', 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const sizes = Object.entries(result.metafile.outputs).map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(1)} KiB`);
const js = fs.statSync(path.join(outdir, 'app.js')).size;
console.log(`console: ${sizes.join(', ')} in ${path.relative(root, outdir)}`);
if (js > 300 * 1024) {
  console.error(`console: app.js is ${js} bytes, over the 300 KB first-load budget`);
  process.exit(1);
}
