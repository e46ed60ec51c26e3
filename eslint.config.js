import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports flow down the layers (docs: ARCHITECTURE "Source layout"): a folder may
// not import from the folders listed for it here. Files at src/ (errors, names,
// units), src/limits, the error catalogue (src/catalogue), src/io (the chunk
// queue both protocols read sockets with) and src/api (the REST route
// descriptions the manager and the CLI share) import none of the layers.
// vvol (the VVOL provider) sits on array and manager services; only manager and cli may use it.
// vsim (the hypervisor simulator) is a REST and NBD client like the CLI: it may use api, nbd (the client) and the types of array and vvol; only cli uses it.
const ABOVE = {
  io: ['block', 'limits', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  api: ['block', 'limits', 'io', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  block: ['scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  limits: ['block', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  catalogue: ['block', 'limits', 'scsi', 'iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  scsi: ['iscsi', 'nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  iscsi: ['nbd', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  nbd: ['scsi', 'iscsi', 'array', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  array: ['manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  // ops (metrics, alerts, performance history, log collection) sits on the array agent; the manager serves it.
  ops: ['manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'cluster', 'console'],
  manager: ['pathmgr', 'cli', 'vsim', 'cluster'],
  vvol: ['pathmgr', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  pathmgr: ['array', 'manager', 'vvol', 'cli', 'vsim', 'ops', 'cluster', 'console'],
  // vsim takes from array and vvol only their types (import type): the REST answers' shapes.
  vsim: ['block', 'limits', 'scsi', 'iscsi', 'manager', 'pathmgr', 'cli', 'cluster', 'console', 'ops'],
  // cluster (the cluster node agent) reaches the array only through pathd's control API and etcd: leaves only; only cli uses it.
  cluster: ['block', 'limits', 'scsi', 'iscsi', 'nbd', 'array', 'ops', 'manager', 'vvol', 'pathmgr', 'cli', 'vsim', 'console'],
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
            message: `src/${dir} may not import from ${above.join(', ')}: imports flow down the layers (block <- scsi <- iscsi/nbd <- array <- ops/vvol <- manager/console <- cli; pathmgr on iscsi/scsi/nbd/block; vsim and cluster are clients of the REST and pathd APIs).`,
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

// The web console: its server side (src/console) sits beside the manager; its
// front end (src/console/web, bundled for the browser) speaks only the REST API:
// it may import the route descriptions (src/api) and, as types only, the shapes
// the API answers with.
const consoleServer = {
  files: ['src/console/**/*.ts'],
  ignores: ['src/console/web/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: ['../pathmgr/*', '../cli/*', '../../pathmgr/*', '../../cli/*'], message: 'src/console may not import pathmgr or cli.' }] },
    ],
  },
};
const consoleWeb = {
  files: ['src/console/web/**/*.ts', 'src/console/web/**/*.tsx'],
  languageOptions: { globals: { window: 'readonly', document: 'readonly', EventSource: 'readonly', location: 'readonly', performance: 'readonly' } },
  rules: {
    'no-restricted-imports': 'off',
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            // Up out of src/console/web (two or more levels) to anything but src/api.
            regex: '^(\\.\\./){2,}(?!\\.\\./|api/)',
            allowTypeImports: true,
            message:
              'src/console/web runs in the browser and speaks only the REST API: it imports src/api and, as types only, the shapes the API answers with.',
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
  // The launcher is CommonJS on purpose (bin/package.json): it sizes libuv's thread pool before it starts.
  {
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
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
  consoleServer,
  consoleWeb,
);
