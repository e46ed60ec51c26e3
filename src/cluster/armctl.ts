// The script commands armload, armkill, armloadc, armsleep and armlog as a small
// program of their own: the wrappers in DATA/bin run it instead of the whole
// `kura` CLI, which takes seconds to load on a busy node and would lengthen every
// start chain (and so every failover). Same arguments as `kura cluster armload`
// etc.; errors print as "KURA-Ennnn: message" and exit 1 (2 for bad usage).
import http from 'node:http';
import type { KuraError } from '../errors.js';
import { AGENT_UNREACHABLE, ARMLOAD_NEEDS_COMMAND } from '../catalogue/cluster.js';

interface Reply {
  error?: { id: string; message: string; action: string };
  pid?: number;
}

function call(route: string, body: unknown): Promise<Reply> {
  const socket = process.env['KURA_CLUSTER_SOCKET'] ?? '';
  return new Promise((resolve, reject) => {
    if (!socket) {
      reject(asError(AGENT_UNREACHABLE({ socket: '(KURA_CLUSTER_SOCKET unset)', reason: 'not run from a group script' })));
      return;
    }
    const req = http.request({ socketPath: socket, path: route, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let raw = '';
      res.on('data', (c: Buffer) => (raw += c.toString()));
      res.on('end', () => resolve((raw ? JSON.parse(raw) : {}) as Reply));
    });
    req.on('error', (e) => reject(asError(AGENT_UNREACHABLE({ socket, reason: e.message }))));
    req.end(JSON.stringify(body));
  });
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A catalogued error as the line the kura CLI prints for it. */
function asError(e: KuraError): Error {
  return new Error(`${e.id}: ${e.message}\n  ${e.action}`);
}

function usage(text: string): never {
  const e = ARMLOAD_NEEDS_COMMAND();
  process.stderr.write(`${e.id}: ${text}\n  ${e.action}\n`);
  process.exit(2);
}

export async function armctl(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const group = process.env['ARMS_GROUPNAME'] ?? process.env['KURA_GROUPNAME'] ?? '';
  let r: Reply;
  switch (verb) {
    case 'armload': {
      const dash = rest.indexOf('--');
      const opts = dash < 0 ? rest : rest.slice(0, dash);
      const command = dash < 0 ? [] : rest.slice(dash + 1);
      const id = opts.find((o, i) => !o.startsWith('--') && opts[i - 1] !== '--wait');
      if (!id || command.length === 0) usage('armload needs an id and a command after --');
      const w = opts.indexOf('--wait');
      const wait = w >= 0 ? Number(opts[w + 1]) : 0.5;
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
      r = await call('/armload', {
        group,
        id,
        command: command.map(quote).join(' '),
        monitor: opts.includes('--monitor'),
        fov: opts.includes('--fov'),
        wait: Number.isFinite(wait) && wait >= 0 ? wait : 0.5,
        env,
      });
      break;
    }
    case 'armkill':
      if (!rest[0]) usage('armkill needs the id given to armload');
      r = await call('/armkill', { group, id: rest[0] });
      break;
    case 'armloadc':
      if (!rest[0]) usage('armloadc needs the id given to armload');
      r = await call('/armloadc', { group, id: rest[0], pause: rest.includes('--pause') && !rest.includes('--resume') });
      break;
    case 'armsleep': {
      const s = Number(rest[0]);
      if (!Number.isFinite(s) || s < 0) usage('armsleep needs a number of seconds');
      await new Promise((res) => setTimeout(res, s * 1000));
      return 0;
    }
    case 'armlog':
      r = await call('/armlog', { group, text: rest.join(' ') });
      break;
    default:
      usage(`unknown command ${verb ?? ''}: use armload, armkill, armloadc, armsleep or armlog`);
  }
  if (r.error) {
    process.stderr.write(`${r.error.id}: ${r.error.message}\n  ${r.error.action}\n`);
    return 1;
  }
  return 0;
}

// Run as a program: node armctl.js VERB ARGS...
if (process.argv[1]?.endsWith('armctl.js')) {
  armctl(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
