// Runs `kura serve` (KURA_REAL_BIN) under the V8 CPU profiler, driven by signals
// from bench/profile.ts: SIGUSR1 starts a profile, SIGUSR2 stops it and writes it
// to KURA_PROF_DIR/<the name in KURA_PROF_DIR/next>, then KURA_PROF_DIR/done.
import fs from 'node:fs';
import inspector from 'node:inspector';

const dir = process.env.KURA_PROF_DIR!;
const session = new inspector.Session();
session.connect();
const post = <T>(method: string, params: object = {}): Promise<T> =>
  new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r as T))));

// 1 ms samples keep a 5 s profile near 50 KB.
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 1000 });
process.on('SIGUSR1', () => void post('Profiler.start'));
process.on('SIGUSR2', () => {
  void post<{ profile: unknown }>('Profiler.stop').then(({ profile }) => {
    const name = fs.readFileSync(`${dir}/next`, 'utf8').trim();
    fs.writeFileSync(`${dir}/${name}`, JSON.stringify(profile));
    fs.writeFileSync(`${dir}/done`, '1');
  });
});
process.argv.splice(1, 1, process.env.KURA_REAL_BIN!);
await import(process.env.KURA_REAL_BIN!);
