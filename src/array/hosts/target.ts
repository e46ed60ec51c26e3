// The array's iSCSI target as the hosts' side sees it: its name and portals,
// the mutual CHAP credentials it answers with, and the CHAP configuration the
// login checks (host entries' credentials keyed by initiator, plus mutual).
import type { MetaStore } from '../../block/meta-store.js';
import { scrubWal } from '../../block/meta-store.js';
import type { ChapConfig } from '../../iscsi/chap.js';
import type { ConfigQueue } from '../config-queue.js';
import type { HostPort } from '../controllers/controllers.js';
import type { FrontEnds } from '../front-ends.js';
import type { TargetAgent, TargetInfo } from './agent.js';
import { validateChap } from './table.js';
import type { ChapCredentials, HostTable } from './table.js';
import { MUTUAL_SECRET_IS_HOST_SECRET, TARGET_HAS_NO_MUTUAL_CHAP } from '../../catalogue/array.js';

/** Front-end state key of the target's mutual CHAP credentials. */
const MUTUAL_CHAP_KEY = 'iscsi/mutual-chap';

export interface TargetDeps {
  hosts: HostTable;
  config: ConfigQueue;
  frontEnds: FrontEnds;
  store: MetaStore;
  arrayName: string;
  hostPorts(): HostPort[];
}

export class TargetService implements TargetAgent {
  constructor(private readonly deps: TargetDeps) {}

  /** The array's iSCSI target name. */
  targetName(): string {
    return `iqn.2026-11.io.kura:${this.deps.arrayName}`;
  }

  targetInfo(): TargetInfo {
    const mutual = this.mutualChap();
    return {
      name: this.targetName(),
      portals: this.deps.hostPorts().map((p) => ({ host: p.host, port: p.port, controller: p.controller, state: p.state })),
      mutualChap: mutual ? { user: mutual.user } : null,
    };
  }

  setTargetChap(user: string, secret: string): Promise<TargetInfo> {
    const { hosts, frontEnds } = this.deps;
    return this.deps.config.run(() =>
      frontEnds.authChangedAfter(() => {
        const c = validateChap(user, secret);
        // RFC 7143, 12.1.3: the secret a target answers with must differ from every initiator's.
        const host = hosts.hostWithSecret(c.secret);
        if (host !== undefined) {
          throw MUTUAL_SECRET_IS_HOST_SECRET({ host });
        }
        const replaced = this.mutualChap()?.secret;
        frontEnds.setState(MUTUAL_CHAP_KEY, JSON.stringify(c));
        if (replaced !== undefined && replaced !== c.secret) scrubWal(this.deps.store.db);
        return this.targetInfo();
      }),
    );
  }

  clearTargetChap(): Promise<TargetInfo> {
    const { frontEnds } = this.deps;
    return this.deps.config.run(() =>
      frontEnds.authChangedAfter(() => {
        if (!this.mutualChap()) throw TARGET_HAS_NO_MUTUAL_CHAP();
        frontEnds.setState(MUTUAL_CHAP_KEY, undefined);
        // The secret's old page images live in the WAL until a checkpoint.
        scrubWal(this.deps.store.db);
        return this.targetInfo();
      }),
    );
  }

  mutualChap(): ChapCredentials | undefined {
    const v = this.deps.frontEnds.getState(MUTUAL_CHAP_KEY);
    return v === undefined ? undefined : (JSON.parse(v) as ChapCredentials);
  }

  /**
   * What the iSCSI login checks: the credentials of every host entry with CHAP
   * (keyed by its initiators), and the target's own for mutual CHAP. Initiators
   * of hosts without CHAP log in without it.
   */
  chapConfig(): ChapConfig {
    const initiators: Record<string, { user: string; secret: string }> = {};
    for (const h of this.deps.hosts.list()) if (h.chap) for (const i of h.initiators) initiators[i] = { ...h.chap };
    const mutual = this.mutualChap();
    return { initiators, unlistedMaySkip: true, mutualUser: mutual?.user, mutualSecret: mutual?.secret };
  }
}
