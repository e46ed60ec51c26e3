// TLS for NBD (NBD_OPT_STARTTLS) with pre-shared keys: the PSK identity says
// who the client is, the key proves it; no certificates. TLS 1.3 (OpenSSL
// takes the PSK through the same callback; libnbd's gnutls and QEMU pick it
// first) or TLS 1.2 with PSK suites that use an AEAD cipher, ECDHE where the
// client offers it.
import crypto from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';

/** Like nbdkit's --tls: off, allowed (the client chooses), required (nothing but STARTTLS before TLS). */
export type NbdTlsMode = 'off' | 'allowed' | 'required';

export const NBD_TLS_MODES: readonly NbdTlsMode[] = ['off', 'allowed', 'required'];

export interface NbdTlsOptions {
  mode: NbdTlsMode;
  /** The key of a PSK identity, or undefined when the identity has none. */
  psk(identity: string): Buffer | undefined;
}

/** TLS 1.2 suites; TLS 1.3 uses OpenSSL's default suites (all AEAD). */
const TLS12_PSK_CIPHERS = ['ECDHE-PSK-CHACHA20-POLY1305', 'PSK-AES256-GCM-SHA384', 'PSK-AES128-GCM-SHA256', 'PSK-CHACHA20-POLY1305'].join(':');

let context: tls.SecureContext | undefined;

/** One context for every connection: building it costs more than a handshake. */
function secureContext(): tls.SecureContext {
  context ??= tls.createSecureContext({ ciphers: TLS12_PSK_CIPHERS, minVersion: 'TLSv1.2' });
  return context;
}

export interface TlsUpgrade {
  socket: tls.TLSSocket;
  /** The PSK identity the client offered last (valid once the handshake is done). */
  identity(): string | undefined;
}

/**
 * Wraps a plain socket (after the server's NBD_REP_ACK to STARTTLS) in a
 * server-side TLS socket. The caller listens for 'secure' and 'error'.
 */
export function upgradeToTls(raw: net.Socket, opts: NbdTlsOptions): TlsUpgrade {
  let offered: string | undefined;
  // TLSSocket honours the server's pskCallback option; @types/node lists it for servers only.
  const options: tls.TLSSocketOptions & Pick<tls.TlsOptions, 'pskCallback'> = {
    isServer: true,
    secureContext: secureContext(),
    requestCert: false,
    pskCallback: (_s, identity) => {
      offered = identity;
      // An unknown identity gets a random key, so the handshake fails the same
      // way as with a wrong key and host names cannot be probed.
      return opts.psk(identity) ?? crypto.randomBytes(32);
    },
  };
  const socket = new tls.TLSSocket(raw, options);
  return { socket, identity: () => offered };
}

/** An identity fit for a log line (clients choose it freely). */
export function printableIdentity(id: string | undefined): string {
  if (id === undefined) return '(none)';
  return JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}...` : id);
}
