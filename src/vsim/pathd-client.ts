// The simulated ESXi host's storage stack is a running `kura pathd`: this is
// the little of its control API the simulator uses (docs/pathmanager.md):
// who the host is (its initiator name), which devices it exports over NBD
// (a bound VVOL is exported under its NAA id), and a rescan after a bind or
// unbind, as ESXi rescans when a PE reports REPORTED LUNS DATA HAS CHANGED.
import { VSIM_PATHD_ANSWER, VSIM_PATHD_UNREACHABLE } from '../catalogue/vsim.js';

export interface PathdStatus {
  initiator: string;
  /** NBD listener, HOST:PORT. */
  nbd: string;
  portals: string[];
}

export interface PathdDevice {
  /** The LU's id: naa.… for a bound VVOL, the same as its VVOL id. */
  id: string;
  /** NBD export name. */
  export: string;
  /** For a subsidiary LU: the PE (eui.…) it sits behind. */
  pe: string | null;
  slu: number | null;
  paths: Array<{ portal: string; state: string }>;
}

const TIMEOUT_MS = 30_000;

export class PathdClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.trim().replace(/\/+$/, '');
  }

  private async call<T>(method: string, route: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1${route}`, { method, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw VSIM_PATHD_UNREACHABLE({ url: this.url, reason: cause ?? (e as Error).message });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw VSIM_PATHD_ANSWER({ url: this.url, status: res.status, why: 'the answer is not JSON' });
    }
    if (!res.ok) {
      const err = (body as { error?: { id?: string; message?: string } } | undefined)?.error;
      throw VSIM_PATHD_ANSWER({ url: this.url, status: res.status, why: err ? `${err.id} ${err.message}` : text.slice(0, 200) });
    }
    return body as T;
  }

  async status(): Promise<PathdStatus> {
    const s = await this.call<Partial<PathdStatus>>('GET', '/status');
    if (typeof s?.initiator !== 'string' || typeof s.nbd !== 'string') {
      throw VSIM_PATHD_ANSWER({ url: this.url, status: 200, why: 'its status names no initiator or NBD listener' });
    }
    return { initiator: s.initiator, nbd: s.nbd, portals: Array.isArray(s.portals) ? s.portals : [] };
  }

  devices(): Promise<PathdDevice[]> {
    return this.call<PathdDevice[]>('GET', '/devices');
  }

  async rescan(): Promise<PathdDevice[]> {
    return (await this.call<{ devices: PathdDevice[] }>('POST', '/rescan')).devices;
  }

  /** nbd://HOST:PORT/NAME of an export. */
  static uri(nbd: string, exportName: string): string {
    return `nbd://${nbd}/${exportName}`;
  }
}
