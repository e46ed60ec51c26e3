// kura lock ...: the configuration lock an administrator holds across commands.
import type { Command } from 'commander';
import { LOCK } from '../api/lock.js';
import type { LockInfo } from '../array/agent.js';
import type { CliContext } from './context.js';
import { details, print } from './format.js';
import { intArg } from './units.js';

function lockText(l: LockInfo): string {
  if (!l.held) return 'The configuration lock is free.';
  return details('Configuration Lock', [
    ['Owner', l.owner ?? '---'],
    ['Acquired', l.acquired ?? '---'],
    ['Expires', `${l.expires} (in ${l.remainingSeconds} s)`],
  ]);
}

export function registerLock(program: Command, ctx: CliContext): void {
  const lock = program.command('lock').description('the configuration lock ("another user is configuring")');
  lock
    .command('show')
    .description('who holds the lock, and until when')
    .action(async () => {
      const l = await ctx.client().send<LockInfo>(LOCK.show);
      print(ctx.json(), l, () => lockText(l));
    });
  lock
    .command('acquire')
    .description('take (or renew) the lock; other owners cannot change the configuration while it is held')
    .option('--ttl <seconds>', 'expires after this many seconds without a change by the holder (default 600)')
    .action(async (o: { ttl?: string }) => {
      const c = ctx.client();
      const l = await c.send<LockInfo>(LOCK.acquire, {}, { owner: c.owner, ...(o.ttl !== undefined ? { ttl: intArg(o.ttl, '--ttl') } : {}) });
      print(ctx.json(), l, () => `Configuration lock held by ${l.owner} until ${l.expires}.`);
    });
  lock
    .command('release')
    .description("release the lock (--force: release another owner's lock)")
    .option('--force', 'release it even when another owner holds it')
    .action(async (o: { force?: boolean }) => {
      const l = await ctx.client().send<LockInfo>(LOCK.release, {}, undefined, { force: o.force ? true : undefined });
      print(ctx.json(), l, () => 'Configuration lock released.');
    });
}
