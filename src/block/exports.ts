// What a front end (the NBD server of the array or of pathd, in-process users)
// sees of a set of named block devices: one interface for every provider.
import type { BlockDevice } from './device.js';

export interface ExportEntry {
  name: string;
  description?: string;
}

/** Who is asking: the identity the client proved (an NBD TLS-PSK identity), or null for an unidentified client. */
export interface ExportPeer {
  identity: string | null;
}

/**
 * Named block devices. list and open answer for one peer (no peer: an
 * in-process user); an export the peer may not use is absent from both.
 */
export interface ExportProvider {
  list(peer?: ExportPeer): ExportEntry[];
  open(name: string, peer?: ExportPeer): BlockDevice | undefined;
  /** True when unidentified peers see only part of the exports (identifying, e.g. by TLS, would show more). */
  plainRestricted?(): boolean;
}
