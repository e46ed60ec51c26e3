// Webhooks: one JSON POST per event. The URL comes from an administrator but
// is treated as untrusted all the same: only http and https, no redirect is
// followed (a 3xx is a failure: it could send events to another host), the
// whole exchange has a deadline, the answer's body is read no further than a
// small limit, and no header carries event data (nothing to inject into). The
// URL is never logged whole: its path and query are often the secret.
import http from 'node:http';
import https from 'node:https';
import type { AlertEvent } from './rules.js';

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of an answer read at most; a longer one is cut off (its status is all we need). */
export const WEBHOOK_MAX_RESPONSE = 64 * 1024;

export interface WebhookResult {
  ok: boolean;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** Why it failed, in words without the URL. */
  reason?: string;
  /** Worth trying again: network trouble, 408, 429, 5xx. */
  retry: boolean;
}

export function webhookBody(e: AlertEvent, arrayName: string): string {
  return JSON.stringify({ id: e.id, severity: e.severity, text: e.text, time: e.time, source: e.source, seq: e.seq ?? null, array: arrayName });
}

export function postWebhook(url: string, body: string, opts: { timeoutMs?: number; userAgent?: string } = {}): Promise<WebhookResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: WebhookResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ ok: false, reason: 'the URL is not valid', retry: false });
    }
    const mod = u.protocol === 'https:' ? https : http;
    const payload = Buffer.from(body, 'utf8');
    const req = mod.request(u, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': payload.length,
        'user-agent': opts.userAgent ?? 'kura-alerts',
      },
      // A fresh connection each time: no agent pool to keep sockets to a receiver open.
      agent: false,
    });
    const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, reason: `no answer within ${timeoutMs / 1000} s`, retry: true });
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, reason: e.code ?? e.message, retry: true }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > WEBHOOK_MAX_RESPONSE) res.destroy();
      });
      const finish = () => {
        if (status >= 200 && status < 300) return done({ ok: true, status, retry: false });
        const retry = status === 408 || status === 429 || status >= 500;
        const reason = status >= 300 && status < 400 ? `the receiver answered ${status} (redirects are not followed)` : `the receiver answered ${status}`;
        done({ ok: false, status, reason, retry });
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(payload);
  });
}
