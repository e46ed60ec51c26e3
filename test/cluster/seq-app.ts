// The clustered application of the fencing test: it appends numbered records
// to the shared disk through its node's pathd (NBD). Block 0 holds the head
// {seq, gen}; record i sits in block i. A new incarnation (gen) continues from
// the head. A write the array refuses (RESERVATION CONFLICT: this node is
// fenced) is logged as "refused" and retried a few times before it gives up.
// Usage: node seq-app.js PORT EXPORT GEN LOGFILE
import fs from 'node:fs';
import { NbdClient } from '../../src/nbd/client.js';

const BS = 4096;
const [port, exportName, gen, logFile] = process.argv.slice(2) as [string, string, string, string];
const log = (l: string) => fs.appendFileSync(logFile, `${l}\n`);

export function encode(v: unknown): Buffer {
  const b = Buffer.alloc(BS);
  b.write(JSON.stringify(v));
  return b;
}

export function decode(b: Buffer): { seq: number; gen: string } | undefined {
  const s = b.toString('utf8').replace(/\0+$/, '');
  if (!s) return undefined;
  try {
    return JSON.parse(s) as { seq: number; gen: string };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const c = await NbdClient.connect({ host: '127.0.0.1', port: Number(port), exportName });
  const head = decode(await c.read(0, BS));
  let seq = head?.seq ?? 0;
  log(`start gen=${gen} from=${seq}`);
  let refused = 0;
  for (;;) {
    const next = seq + 1;
    try {
      await c.write(next * BS, encode({ seq: next, gen }));
      await c.write(0, encode({ seq: next, gen }));
      seq = next;
    } catch (e) {
      refused++;
      log(`refused seq=${next}: ${(e as Error).message}`);
      if (refused >= 20) {
        log('giving up');
        process.exit(2);
      }
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The test runner loads every file under dist/test: only a run with the four arguments is the application.
if (process.argv[1]?.endsWith('seq-app.js') && process.argv.length === 6) void main();
