// Writes docs/errors.md from the error catalogue (npm run docs:errors).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorsMarkdown } from '../src/catalogue/markdown.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
fs.writeFileSync(path.join(root, 'docs/errors.md'), errorsMarkdown());
console.log('docs/errors.md written');
