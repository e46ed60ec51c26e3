// The simulator's only state of its own: which simulated ESXi hosts exist and
// the control URL of the kura pathd behind each (the array cannot know it).
// Everything else (VMs, power state, snapshots) is read from the provider.
// A small JSON file: { "hosts": { "esx1": { "pathd": URL, "initiator": IQN, "added": ISO } } },
// written whole through a temporary file and a rename.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VSIM_STATE_UNREADABLE } from '../catalogue/vsim.js';

export interface SimHost {
  name: string;
  pathd: string;
  initiator: string;
  added: string;
}

/** --state, else KURA_VSIM_STATE, else the user's state directory (as pathd's default data directory). */
export function defaultStateFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env['KURA_VSIM_STATE']) return env['KURA_VSIM_STATE'];
  const base = env['XDG_STATE_HOME'] || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'kura', 'vsim', 'hosts.json');
}

export class HostList {
  constructor(readonly file: string) {}

  private read(): Record<string, SimHost> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw VSIM_STATE_UNREADABLE({ file: this.file, reason: (e as Error).message });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw VSIM_STATE_UNREADABLE({ file: this.file, reason: `not JSON (${(e as Error).message})` });
    }
    const hosts = (parsed as { hosts?: unknown } | null)?.hosts;
    if (!hosts || typeof hosts !== 'object' || Array.isArray(hosts)) throw VSIM_STATE_UNREADABLE({ file: this.file, reason: 'it has no "hosts" object' });
    return hosts as Record<string, SimHost>;
  }

  private write(hosts: Record<string, SimHost>): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ hosts }, null, 2) + '\n', { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (e) {
      throw VSIM_STATE_UNREADABLE({ file: this.file, reason: (e as Error).message });
    }
  }

  list(): SimHost[] {
    return Object.values(this.read()).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): SimHost | undefined {
    return this.read()[name];
  }

  put(h: SimHost): void {
    this.write({ ...this.read(), [h.name]: h });
  }

  remove(name: string): void {
    const all = this.read();
    delete all[name];
    this.write(all);
  }
}
