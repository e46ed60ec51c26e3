// kura pair ...: replication pairs (DynamicDataReplication), shown the way
// iSMrc_query shows them; --wait follows a copy to its end with a progress bar.
import type { Command } from 'commander';
import { PAIRS } from '../api/pairs.js';
import type { PairInfo } from '../array/agent.js';
import { humanSize } from '../units.js';
import type { ApiClient } from './client.js';
import { segArg } from './context.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { progressSink } from './progress.js';

/** How often --wait asks for the pair's state. */
const POLL_MS = 250;

/** Column of the values in iSMrc_query's view (VVM L1724-1739). */
const QUERY_KEY_WIDTH = 23;

/** iSMrc_query's spelling of a sync state: the seed shows a finished separate as "separated", the rest by their codes. */
function syncText(sync: string): string {
  return sync === 'sep/end' ? 'separated' : sync;
}

/** "2015/10/09 07:12:55", as iSMrc_query prints times (local time). */
export function queryTime(iso: string | null): string {
  if (iso === null) return '-';
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Differences in whole KB, as iSMrc_query prints them ("0KB"). */
function kb(bytes: number): string {
  return `${Math.ceil(bytes / 1024)}KB`;
}

/** One pair in the seed's iSMrc_query layout (VVM L1724-1739), then Kura's own lines. */
function pairText(p: PairInfo): string {
  const line = (k: string, v: string | number) => `${k.padEnd(QUERY_KEY_WIDTH)}${v}`;
  return [
    line('MV: Special File', '-'),
    line('     LD Name', p.mv),
    line('     Type', '-'),
    line('RV: Special File', '-'),
    line('     LD Name', p.rv),
    line('     Type', '-'),
    line('Activity State', p.activity),
    line('Sync State', syncText(p.sync)),
    line('Copy Control State', p.copyControl),
    line('Separate Start Time', queryTime(p.separateStart)),
    line('Separate End Time', queryTime(p.separateEnd)),
    line('Separate Diff', kb(p.separateDiffBytes)),
    line('Copy Diff', kb(p.copyDiffBytes)),
    line('RV Access', p.rvAccess),
    line('Previous Active', p.previousSync ?? '-'),
    line(
      'Copy Progress',
      p.sync.endsWith('/exec') ? `${p.progress}% (${p.remainingSeconds === null ? 'estimating' : `${p.remainingSeconds} s left`})` : `${p.progress}%`,
    ),
    line(
      'RV Data',
      p.rvComplete ? 'complete copy of the MV' : p.sync === 'fault' ? `incomplete (${p.fault ?? 'fault'})` : 'not a complete copy (copy not finished)',
    ),
  ].join('\n');
}

function pairTable(ps: PairInfo[]): string {
  return table(
    ['MV', 'RV', 'Activity', 'Sync', 'RV Access', 'Copy Diff', 'Progress'],
    ps.map((p) => [p.mv, p.rv, p.activity, p.sync, p.rvAccess, humanSize(p.copyDiffBytes), `${p.progress}%`]),
  );
}

/** Polls until the pair's copy is over; draws progress unless the output is JSON. */
async function waitForCopy(client: ApiClient, first: PairInfo, json: boolean): Promise<PairInfo> {
  let p = first;
  const sink = json ? undefined : progressSink();
  while (p.sync.endsWith('/exec')) {
    sink?.update(p.progress, p.remainingSeconds, `${p.mv} → ${p.rv} ${p.sync}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
    p = await client.send<PairInfo>(PAIRS.show, { mv: segArg(p.mv), rv: segArg(p.rv) });
  }
  if (sink && first.sync.endsWith('/exec')) {
    sink.update(100, 0, `${p.mv} → ${p.rv} ${p.sync}`);
    sink.done();
  }
  return p;
}

export function registerPair(program: Command, ctx: CliContext): void {
  const pair = program.command('pair').description('replication pairs: MV → RV (DynamicDataReplication)');
  const act = async (o: { wait?: boolean }, call: (c: ApiClient) => Promise<PairInfo>, say: (p: PairInfo) => string) => {
    const c = ctx.client();
    let p = await call(c);
    if (o.wait) p = await waitForCopy(c, p, ctx.json());
    print(ctx.json(), p, () => say(p));
  };
  pair
    .command('create <mv> <rv>')
    .description('pair two LDs of the same size; the RV must not be mapped to a host; the pair starts separated')
    .option('--wait', 'return when no copy is running (a new pair copies nothing until replicate)')
    .action((mv: string, rv: string, o: { wait?: boolean }) =>
      act(
        o,
        (c) => c.send<PairInfo>(PAIRS.create, {}, { mv, rv }),
        (p) => `Pair ${p.mv} → ${p.rv} created (MV ${p.mv}, RV ${p.rv}); ${humanSize(p.copyDiffBytes)} to copy on the first replicate.`,
      ),
    );
  pair
    .command('list')
    .description('every pair')
    .action(async () => {
      const ps = await ctx.client().send<PairInfo[]>(PAIRS.list);
      print(ctx.json(), ps, () => (ps.length ? pairTable(ps) : 'No replication pairs.'));
    });
  pair
    .command('show <mv> <rv>')
    .description('one pair (iSMrc_query fields)')
    .action(async (mv: string, rv: string) => {
      const p = await ctx.client().send<PairInfo>(PAIRS.show, { mv: segArg(mv), rv: segArg(rv) });
      print(ctx.json(), p, () => pairText(p));
    });
  pair
    .command('replicate <mv> <rv>')
    .description('copy MV → RV in the background (differences only after the first time); writes are mirrored from then on')
    .option('--force', 'replicate even after a restore was cut short (copies the partly restored MV over the RV)')
    .option('--wait', 'return when the copy is done, showing its progress')
    .action((mv: string, rv: string, o: { wait?: boolean; force?: boolean }) =>
      act(
        o,
        (c) => c.send<PairInfo>(PAIRS.replicate, { mv: segArg(mv), rv: segArg(rv) }, o.force ? { force: true } : undefined),
        (p) =>
          p.sync === 'rpl/sync'
            ? `Pair ${p.mv} → ${p.rv} is in sync (rpl/sync); ${humanSize(p.copiedBytes)} copied.`
            : `Replicate started: ${humanSize(p.copyDiffBytes)} to copy (kura pair show ${p.mv} ${p.rv}).`,
      ),
    );
  pair
    .command('separate <mv> <rv>')
    .description('freeze the RV and make it accessible (a running copy finishes first unless --force)')
    .option('--rv-access <mode>', 'RV access after the separate: rw (default) or ro')
    .option('--force', 'separate at once even if a copy is running (the RV is then incomplete)')
    .option('--wait', 'return when the separate has completed')
    .action((mv: string, rv: string, o: { wait?: boolean; rvAccess?: string; force?: boolean }) =>
      act(
        o,
        (c) =>
          c.send<PairInfo>(
            PAIRS.separate,
            { mv: segArg(mv), rv: segArg(rv) },
            { ...(o.rvAccess ? { rvAccess: o.rvAccess } : {}), ...(o.force ? { force: true } : {}) },
          ),
        (p) =>
          p.sync === 'sep/end'
            ? `Pair ${p.mv} → ${p.rv} separated; RV access ${p.rvAccess}.`
            : p.sync === 'fault'
              ? `Pair ${p.mv} → ${p.rv} separated by force; the RV is incomplete (${humanSize(p.copyDiffBytes)} not copied).`
              : `Separating (${p.sync}): the running copy finishes first (kura pair show ${p.mv} ${p.rv}).`,
      ),
    );
  pair
    .command('restore <mv> <rv>')
    .description('copy RV → MV in the background; the MV stays usable meanwhile')
    .option('--wait', 'return when the copy is done, showing its progress')
    .action((mv: string, rv: string, o: { wait?: boolean }) =>
      act(
        o,
        (c) => c.send<PairInfo>(PAIRS.restore, { mv: segArg(mv), rv: segArg(rv) }),
        (p) =>
          p.sync === 'rst/sync'
            ? `MV ${p.mv} restored from RV ${p.rv} (rst/sync).`
            : `Restore started: ${humanSize(p.copyDiffBytes)} to copy (kura pair show ${p.mv} ${p.rv}).`,
      ),
    );
  pair
    .command('delete <mv> <rv>')
    .description('unpair (a separated pair; --force in any state)')
    .option('--force', 'unpair even when not separated, stopping a running copy')
    .option('--wait', 'accepted for symmetry: deleting a pair copies nothing')
    .action(async (mv: string, rv: string, o: { force?: boolean }) => {
      const p = await ctx.client().send<PairInfo>(PAIRS.delete, { mv: segArg(mv), rv: segArg(rv) }, undefined, { force: o.force ? true : undefined });
      print(ctx.json(), p, () => `Pair ${p.mv} → ${p.rv} deleted; both LDs are IVs again.`);
    });
}
