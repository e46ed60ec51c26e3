// Rewrites callers of the flat array agent to the noun-keyed one:
//   array.createPool(req)  ->  array.pools.createPool(req)
//   array.lunsFor(iqn)     ->  array.frontEnd.lunsFor(iqn)
//   array.hosts.list()     ->  array.hostTable.list()    (the tables KuraArray used to expose)
// A call site is rewritten only when the type checker says its receiver is a KuraArray or an
// ArrayAgent or one of its old slices (read from the program as it stands before the change), so a pool's own
// `createPool` or an unrelated `hosts` field is left alone. Run it on the tree before the
// contract changes, or on a branch written against the flat contract after merging:
//   npx tsc -p tsconfig.json; node dist/scripts/noun-agent-codemod.js [--dry-run] [files...]
// Without files it rewrites every file of the program except src/array/array.ts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Which noun answers each verb of the old flat contract. */
const NOUN_OF_SLICE: Record<string, string> = {
  pools: 'createPool deletePool expandPool getPool listPools setPoolThreshold',
  lds: 'createLd deleteLd expandLd getLd listLds',
  snapshots: 'createSnapshot deleteOldestSnapshots deleteSnapshot listSnapshots restoreSnapshot setSnapshotAccess',
  clones: 'createClone',
  qos: 'setPoolQosDefaults setPoolQosMode setQos',
  licenses: 'listLicenses unlockLicense',
  hosts:
    'accessControl addInitiator clearHostChap clearHostNbdPsk createHost deleteHost listHosts mapLun removeInitiator setAccessControl setHostChap setHostNbdPsk setLdNbdPlain unmapLun',
  target: 'clearTargetChap setTargetChap targetInfo',
  controllers: 'listControllers setControllerState setPortState',
  pairs: 'createPair deletePair getPair listPairs replicatePair restorePair separatePair',
  lock: 'acquireLock checkLock lockInfo releaseLock',
  events: 'onEvent',
  vvols: 'allocatedBitmap bindSubsidiary createVvolLd subsidiaries tagVvolLd unbindSubsidiary unsharedBitmap',
  frontEnd:
    'administrativeOf allLds bindHostPort chapConfig conglomerateOf deviceOf exports getFrontEndState hostPorts isThin ldByNumber ldExists ldNumberOf lunsFor nbdExports nbdPsk onAccessChanged portGroupsOf registerFrontEnd registerSessionSource sessionsOf setFrontEndState subsidiaryFor subsidiaryIdsFor targetName',
};
const NOUN_OF: Map<string, string> = new Map(Object.entries(NOUN_OF_SLICE).flatMap(([noun, verbs]) => verbs.split(' ').map((v) => [v, noun] as const)));
/** KuraArray fields renamed because their names became nouns of the contract. */
const RENAMED: Record<string, string> = { hosts: 'hostTable', licenses: 'licenseTable', qos: 'qosScheduler', controllers: 'controllerTable' };
/** Receiver types whose verbs move: the array, its contract, and the contract's old slices (the route handlers took those). */
const RECEIVERS = new Set([
  'KuraArray',
  'ArrayAgent',
  'PoolAgent',
  'LdAgent',
  'SnapshotAgent',
  'CloneAgent',
  'QosAgent',
  'LicenseAgent',
  'HostAgent',
  'TargetAgent',
  'ControllerAgent',
  'PairAgent',
  'LockAgent',
  'EventAgent',
  'VvolLdAgent',
]);

function receiverIsArray(checker: ts.TypeChecker, e: ts.Expression): boolean {
  const t = checker.getNonNullableType(checker.getTypeAtLocation(e));
  const names = (t.isUnionOrIntersection() ? t.types : [t]).map((x) => (x.aliasSymbol ?? x.getSymbol())?.getName());
  return names.some((n) => n !== undefined && RECEIVERS.has(n));
}

function main(): void {
  const args = process.argv.slice(2);
  const dry = args[0] === '--dry-run';
  const only = new Set((dry ? args.slice(1) : args).map((f) => path.resolve(f)));
  const cfg = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!cfg) throw new Error('tsconfig.json not readable');
  const program = ts.createProgram(cfg.fileNames, cfg.options);
  const checker = program.getTypeChecker();
  let total = 0;
  for (const sf of program.getSourceFiles()) {
    const file = path.resolve(sf.fileName);
    if (sf.isDeclarationFile || !file.startsWith(ROOT + path.sep) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (only.size > 0 ? !only.has(file) : file === path.join(ROOT, 'src/array/array.ts')) continue;
    const edits: Array<{ pos: number; end: number; text: string }> = [];
    const visit = (n: ts.Node): void => {
      if (ts.isPropertyAccessExpression(n) && n.expression.kind !== ts.SyntaxKind.ThisKeyword) {
        const name = n.name.text;
        const noun = NOUN_OF.get(name);
        const renamed = RENAMED[name];
        if ((noun !== undefined || renamed !== undefined) && receiverIsArray(checker, n.expression)) {
          if (renamed !== undefined && noun === undefined) edits.push({ pos: n.name.getStart(sf), end: n.name.end, text: renamed });
          else edits.push({ pos: n.expression.end, end: n.expression.end, text: `.${noun}` });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    if (edits.length === 0) continue;
    let text = sf.getFullText();
    for (const e of edits.sort((a, b) => b.pos - a.pos)) text = text.slice(0, e.pos) + e.text + text.slice(e.end);
    total += edits.length;
    console.log(`${path.relative(ROOT, file)}: ${edits.length}`);
    if (!dry) fs.writeFileSync(file, text);
  }
  console.log(`${total} site(s)${dry ? ' (dry run)' : ''}`);
}

main();
