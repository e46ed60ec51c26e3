// The lint rule that keeps imports flowing down the layers: an upward import
// fails `npm run lint` (and so `npm test`), a downward one passes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { ROOT } from '../helpers/cli.js';

async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [r] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('an upward import fails lint; a downward one passes', { timeout: 60_000 }, async () => {
  const up: Array<[string, string]> = [
    ['src/block/x.ts', "import { KuraArray } from '../array/array.js';\nexport const a = KuraArray;\n"],
    ['src/scsi/x.ts', "import type { IscsiServerOptions } from '../iscsi/server.js';\nexport type A = IscsiServerOptions;\n"],
    ['src/nbd/x.ts', "import { Manager } from '../manager/manager.js';\nexport const a = Manager;\n"],
    ['src/array/x.ts', "import { registerLd } from '../cli/ld.js';\nexport const a = registerLd;\n"],
    ['src/pathmgr/x.ts', "import type { LdInfo } from '../array/agent.js';\nexport type A = LdInfo;\n"],
    ['src/block/raid/x.ts', "import { KuraArray } from '../../array/array.js';\nexport const a = KuraArray;\n"],
    ['src/api/x.ts', "import type { PoolInfo } from '../array/agent.js';\nexport type A = PoolInfo;\n"],
    ['src/array/y.ts', "import { VvolProvider } from '../vvol/provider.js';\nexport const a = VvolProvider;\n"],
    ['src/vvol/x.ts', "import { registerLd } from '../cli/ld.js';\nexport const a = registerLd;\n"],
    ['src/errors2.ts', "import { BlockEngine } from './block/engine.js';\nexport const a = BlockEngine;\n"],
    ['src/scsi/spec/x.ts', "import { ScsiError } from '../sense.js';\nexport const a = ScsiError;\n"],
    ['src/io/x.ts', "import { IoBudget } from '../limits/io-budget.js';\nexport const a = IoBudget;\n"],
    ['src/cluster/x.ts', "import { KuraArray } from '../array/array.js';\nexport const a = KuraArray;\n"],
    ['src/block/y.ts', "import { ClusterAgent } from '../cluster/agent.js';\nexport const a = ClusterAgent;\n"],
    ['src/ops/x.ts', "import { Manager } from '../manager/manager.js';\nexport const a = Manager;\n"],
    ['src/array/z.ts', "import { Operations } from '../ops/index.js';\nexport const a = Operations;\n"],
  ];
  for (const [file, code] of up) {
    const msgs = await lint(file, code);
    assert.equal(msgs.length, 1, `${file}: ${code.split('\n')[0]} should fail the layer rule`);
    assert.match(msgs[0]!, /imports? flow down the layers|import none|is a leaf/);
  }
  const down: Array<[string, string]> = [
    ['src/array/x.ts', "import { BlockEngine } from '../block/engine.js';\nexport const a = BlockEngine;\n"],
    ['src/iscsi/x.ts', "import { KuraError } from '../errors.js';\nexport const a = KuraError;\n"],
    ['src/nbd/x.ts', "import { ChunkQueue } from '../io/chunk-queue.js';\nexport const a = ChunkQueue;\n"],
    ['src/cli/x.ts', "import { Manager } from '../manager/manager.js';\nexport const a = Manager;\n"],
    ['src/cli/x.ts', "import { POOLS } from '../api/pools.js';\nexport const a = POOLS;\n"],
    ['src/manager/routes/x.ts', "import { POOLS } from '../../api/pools.js';\nexport const a = POOLS;\n"],
    ['src/pathmgr/x.ts', "import { cdb } from '../scsi/spec/index.js';\nexport const a = cdb;\n"],
    ['src/scsi/spec/x.ts', "import { GOOD } from './status.js';\nexport const a = GOOD;\n"],
    ['src/vvol/x.ts', "import { KuraError } from '../errors.js';\nexport const a = KuraError;\n"],
    ['src/cluster/x.ts', "import { KuraError } from '../errors.js';\nexport const a = KuraError;\n"],
    ['src/cli/x.ts', "import { ClusterAgent } from '../cluster/agent.js';\nexport const a = ClusterAgent;\n"],
  ];
  for (const [file, code] of down) assert.deepEqual(await lint(file, code), [], `${file} may import ${code.split("'")[1]}`);
});
