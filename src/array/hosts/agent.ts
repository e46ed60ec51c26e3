// The hosts and access control slice of the array agent contract: host entries
// (initiators, LUN maps, CHAP, NBD keys), access control, and the iSCSI target.
import type { LdInfo } from '../lds/agent.js';

export interface HostInfo {
  name: string;
  initiators: string[];
  luns: Array<{ lun: number; ld: string; ldNumber: number }>;
  /** One-way CHAP the host's initiators must pass (the secret is never shown), or null. */
  chap: { user: string } | null;
  /** The TLS-PSK identity the host's NBD clients use (the key is never shown), or null. */
  nbdPsk: { identity: string } | null;
  /** Set (true) only in the answer to the host creation that turned access control on. */
  accessControlStarted?: boolean;
}

/** Access control: on, host entries decide which initiator sees which LD; off, every initiator sees every LD. */
export interface AccessControlInfo {
  enabled: boolean;
  /** Host entries defined (with access control on and none, no initiator sees any LD). */
  hosts: number;
}

/** The array's iSCSI target as initiators see it. */
export interface TargetInfo {
  name: string;
  portals: Array<{ host: string; port: number; controller: number; state: 'up' | 'down' }>;
  /** Mutual CHAP: the name the target answers initiators' challenges with (secret never shown), or null. */
  mutualChap: { user: string } | null;
}

export interface HostAgent {
  listHosts(): HostInfo[];
  createHost(name: string, initiators: string[]): Promise<HostInfo>;
  deleteHost(name: string): Promise<void>;
  addInitiator(host: string, iqn: string): Promise<HostInfo>;
  removeInitiator(host: string, iqn: string): Promise<HostInfo>;
  /** Maps an LD into a host's LUN space; lun defaults to the lowest free LUN. */
  mapLun(host: string, ld: string | number, lun?: number): Promise<HostInfo>;
  unmapLun(host: string, lun: number): Promise<HostInfo>;
  accessControl(): AccessControlInfo;
  /** Starts or stops access control; stopping needs force. */
  setAccessControl(enabled: boolean, force?: boolean): Promise<AccessControlInfo>;
  setHostChap(host: string, user: string, secret: string): Promise<HostInfo>;
  clearHostChap(host: string): Promise<HostInfo>;
  /** Gives a host's NBD clients a TLS pre-shared key (hex); their PSK identity is the host name. */
  setHostNbdPsk(host: string, key: string): Promise<HostInfo>;
  clearHostNbdPsk(host: string): Promise<HostInfo>;
  setLdNbdPlain(ld: string | number, on: boolean): Promise<LdInfo>;
}

export interface TargetAgent {
  targetInfo(): TargetInfo;
  setTargetChap(user: string, secret: string): Promise<TargetInfo>;
  clearTargetChap(): Promise<TargetInfo>;
}
