import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports flow down the layers (docs: ARCHITECTURE "Source layout"): a folder may
// not import from the folders listed for it here. Files at src/ (errors, names,
// units), src/limits, the error catalogue (src/catalogue), src/io (the chunk
// queue both protocols read sockets with) and src/api (the REST route
// descriptions the manager and the CLI share) import none of the layers.
// vvol (the VVOL provider) sits on array and manager services; only manager and cli may use it.
const ABOVE = {
  io: ['block', 'limits', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  api: ['block', 'limits', 'io', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  block: ['scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  limits: ['block', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  catalogue: ['block', 'limits', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  scsi: ['iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  iscsi: ['nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  nbd: ['scsi', 'iscsi', 'array', 'manager', 'vvol', 'pathmgr', 'cli'],
  array: ['manager', 'vvol', 'pathmgr', 'cli'],
  // ops (metrics, alerts, performance history, log collection) sits on the array agent; the manager serves it.
  ops: ['manager', 'vvol', 'pathmgr', 'cli'],
  manager: ['pathmgr', 'cli'],
  vvol: ['pathmgr', 'cli'],
  pathmgr: ['array', 'manager', 'vvol', 'cli'],
};
const layerRules = Object.entries(ABOVE).map(([dir, above]) => ({
  files: [`src/${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: above.flatMap((a) => [`../${a}/*`, `../../${a}/*`, `../../../${a}/*`]),
            message: `src/${dir} may not import from ${above.join(', ')}: imports flow down the layers (block <- scsi <- iscsi/nbd <- array <- vvol/manager <- cli; pathmgr on iscsi/scsi/nbd/block).`,
          },
        ],
      },
    ],
  },
}));
// src/scsi/spec is the SCSI vocabulary the target, pathd and the tests share: a
// leaf that imports nothing outside its own folder (not even the rest of scsi).
const scsiSpec = {
  files: ['src/scsi/spec/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: ['../*', '../../*', '../../../*'], message: 'src/scsi/spec is a leaf: it imports nothing outside src/scsi/spec.' }] },
    ],
  },
};
const rootFiles = {
  files: ['src/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: ['./*/*', '!./catalogue/*'],
            message: 'src/errors.ts, names.ts and units.ts are imported by every layer and import none (the error catalogue aside).',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'kura-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layerRules,
  scsiSpec,
  rootFiles,
);
