// Logout Request and Response (RFC 7143 11.14, 11.15) on one target
// connection: closing the session or this connection (ErrorRecoveryLevel 0
// has no connection recovery). The connection takes no new commands from the
// request on; the tasks in flight finish and are answered first, then the
// Logout Response goes out and the connection closes behind it.
import type { Connection, ConnectionState } from './connection.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';

/** How long a logout waits for the Data-Out of tasks in flight. */
const LOGOUT_GRACE_MS = 10_000;

export async function onLogout(c: Connection, pdu: Pdu): Promise<void> {
  const s = c.session!;
  const bhs = pdu.bhs;
  const reason = bhs[1]! & 0x7f;
  const itt = P.ittOf(bhs);
  const cid = bhs.readUInt16BE(20);
  let response = P.LOGOUT_RSP_SUCCESS;
  if (reason === P.LOGOUT_REMOVE_FOR_RECOVERY) response = P.LOGOUT_RSP_RECOVERY_NOT_SUPPORTED;
  else if (reason === P.LOGOUT_CLOSE_CONNECTION && cid !== c.cid) response = P.LOGOUT_RSP_CID_NOT_FOUND;
  else if (reason !== P.LOGOUT_CLOSE_SESSION && reason !== P.LOGOUT_CLOSE_CONNECTION) {
    c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    return;
  }
  if (response === P.LOGOUT_RSP_SUCCESS) {
    // No new commands; the tasks in flight finish (and are answered) first. A
    // task whose Data-Out does not come within LOGOUT_GRACE_MS is dropped.
    c.state = 'logging-out';
    const tasks = [...s.tasks.values()];
    const all = Promise.all(tasks.map((t) => t.finished));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), LOGOUT_GRACE_MS)));
    if ((await Promise.race([all, late])) === 'late') {
      for (const t of tasks) if (t.state === 'collecting') c.abortTask(t);
      await all;
    }
    clearTimeout(timer);
    if ((c.state as ConnectionState) === 'closed') return;
    c.state = 'logged-out';
  }
  c.send(P.logoutResponse({ itt, response, time2Wait: s.params.defaultTime2Wait, time2Retain: 0, seq: c.seq(true) }));
  if (response === P.LOGOUT_RSP_SUCCESS) {
    c.endGracefully();
    // The session is over now, not when the peer gets round to closing its end.
    c.host.connectionClosed(c);
  }
}
