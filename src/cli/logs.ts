// kura logs collect: everything support asks for after a failure (VVM 5.1),
// gathered through the REST API into one .tar.gz: version information, the
// configuration (as the API shows it: secrets are never shown), events, the
// events pathd agents reported, the server's logs and relation files, and
// the output of kura check. Every file is scrubbed of secrets once more
// before it is written (src/ops/logs/scrub.ts), the API token included. A
// part the server cannot give is recorded in errors.txt instead of failing
// the whole collection.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ALERTS } from '../api/alerts.js';
import { ARRAY } from '../api/array.js';
import { EVENTS } from '../api/events.js';
import { FAULTS } from '../api/faults.js';
import { HOSTS } from '../api/hosts.js';
import { LDS } from '../api/lds.js';
import { LICENSES } from '../api/licenses.js';
import { PAIRS } from '../api/pairs.js';
import { PERF } from '../api/perf.js';
import { POOLS } from '../api/pools.js';
import type { ApiRoute } from '../api/route.js';
import { SUPPORT } from '../api/support.js';
import { CONTAINERS, PES, POLICIES } from '../api/vasa.js';
import { checkDataDir } from '../block/check.js';
import { asKuraError } from '../errors.js';
import { scrubText } from '../ops/logs/scrub.js';
import type { SupportFile } from '../ops/logs/server-files.js';
import { tarGz } from '../ops/logs/tar.js';
import type { TarEntry } from '../ops/logs/tar.js';
import { LOGS_OUTPUT_FAILED } from '../catalogue/ops.js';
import { checkText } from './check.js';
import type { CliContext } from './context.js';
import { print } from './format.js';
import { progressSink } from './progress.js';

/** The configuration, one file per noun, as the API lists it. */
const CONFIG: Array<[string, ApiRoute]> = [
  ['config/array.json', ARRAY.show],
  ['config/pools.json', POOLS.list],
  ['config/lds.json', LDS.list],
  ['config/hosts.json', HOSTS.list],
  ['config/target.json', HOSTS.target],
  ['config/access-control.json', HOSTS.access],
  ['config/controllers.json', FAULTS.controllers],
  ['config/licenses.json', LICENSES.list],
  ['config/pairs.json', PAIRS.list],
  ['config/alerts.json', ALERTS.list],
  ['config/vvol-containers.json', CONTAINERS.list],
  ['config/vvol-pes.json', PES.list],
  ['config/vvol-policies.json', POLICIES.list],
  ['config/perf-objects.json', PERF.list],
];

interface Event {
  seq: number;
  source: string;
}

function defaultOutput(): string {
  return `kura-logs-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
}

export function registerLogs(program: Command, ctx: CliContext): void {
  const logs = program.command('logs').description('log collection for support');
  logs
    .command('collect')
    .description('gather logs, configuration (secrets removed), events, relation files, pathd logs, kura check output and versions into one .tar.gz')
    .option('--output <file>', 'the archive to write (default kura-logs-TIME.tar.gz)')
    .option('--data <dir>', "the array's data directory, for kura check (a running server's is refused, and that is recorded)")
    .option('--pathd-dir <dir>', "a local pathd's directory (kura pathd --dir): its pathd.log is included")
    .action(async (o: { output?: string; data?: string; pathdDir?: string }) => {
      const out = o.output ?? defaultOutput();
      const client = ctx.client();
      const known = [process.env['KURA_TOKEN'] ?? '', program.opts<{ token?: string }>().token ?? ''].filter((s) => s.length >= 6);
      const entries: TarEntry[] = [];
      const errors: string[] = [];
      const add = (name: string, content: string) => entries.push({ name: `kura-logs/${name}`, content: scrubText(content, known) });
      const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
      const get = async (what: string, route: ApiRoute, query?: Record<string, string | number>): Promise<unknown> => {
        try {
          return await client.send(route, {}, undefined, query);
        } catch (e) {
          const k = asKuraError(e);
          errors.push(`${what}: ${k.id}: ${k.message}`);
          return undefined;
        }
      };
      const steps: Array<[string, () => Promise<void>]> = [
        [
          'version',
          async () => {
            const info = await get('version', ARRAY.show);
            add(
              'version.json',
              json({ cli: { version: program.version(), node: process.version, platform: `${process.platform} ${process.arch}` }, server: info ?? null }),
            );
          },
        ],
        [
          'configuration',
          async () => {
            for (const [file, route] of CONFIG) {
              const v = await get(file, route);
              if (v !== undefined) add(file, json(v));
            }
          },
        ],
        [
          'events',
          async () => {
            const ev = (await get('events', EVENTS.list, { limit: 10000 })) as Event[] | undefined;
            if (!ev) return;
            add('events.json', json(ev));
            // What pathd agents reported (their source is host:NAME).
            add('logs/pathd-events.json', json(ev.filter((e) => e.source.startsWith('host:'))));
          },
        ],
        [
          'server logs and relation files',
          async () => {
            const files = (await get('server files', SUPPORT.files)) as SupportFile[] | undefined;
            for (const f of files ?? [])
              if (!f.path.includes('..')) add(f.path, f.content + (f.truncated ? '\n[only the newest part of a longer file]\n' : ''));
          },
        ],
        [
          'local pathd log',
          async () => {
            if (!o.pathdDir) return;
            for (const f of ['pathd.log', 'pathd.log.1']) {
              const p = path.join(o.pathdDir, f);
              if (fs.existsSync(p)) add(`logs/pathd-local/${f}`, fs.readFileSync(p, 'utf8'));
            }
          },
        ],
        [
          'kura check',
          async () => {
            if (!o.data) {
              add('check.txt', 'kura check was not run: give kura logs collect --data DIR to check a stopped array (a running server holds its directory).\n');
              return;
            }
            try {
              add('check.txt', checkText(o.data, checkDataDir(o.data)) + '\n');
            } catch (e) {
              const k = asKuraError(e);
              add('check.txt', `${k.id}: ${k.message}\n  ${k.action}\n`);
            }
          },
        ],
      ];
      const bar = progressSink(process.stderr);
      for (const [i, [label, step]] of steps.entries()) {
        bar.update((i * 100) / (steps.length + 1), null, `collecting: ${label}`);
        await step();
      }
      if (errors.length) add('errors.txt', errors.join('\n') + '\n');
      bar.update((steps.length * 100) / (steps.length + 1), null, 'collecting: writing the archive');
      const archive = tarGz(entries);
      try {
        fs.writeFileSync(out, archive, { mode: 0o600 });
      } catch (e) {
        throw LOGS_OUTPUT_FAILED({ file: out, reason: (e as Error).message });
      }
      bar.update(100, 0, 'collecting: done');
      bar.done();
      const summary = { output: path.resolve(out), bytes: archive.length, files: entries.map((e) => e.name), errors };
      print(ctx.json(), summary, () =>
        [`Wrote ${summary.output} (${summary.bytes} bytes, ${entries.length} files).`, ...errors.map((e) => `  not collected: ${e}`)].join('\n'),
      );
    });
}
