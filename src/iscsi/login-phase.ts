// The login phase of one target connection (RFC 7143 6.3): Login Requests in,
// Login Responses out (11.12, 11.13). What to answer is decided by the login
// state machine in login.ts; this file carries its steps over the wire, binds
// a finished login to a session (new, reinstated or continued) and moves the
// connection into full feature phase, or ends the login with a status class
// and detail. Anything but a Login Request ends the login as well.
import type { Connection } from './connection.js';
import { LoginNegotiation, parseLoginRequest } from './login.js';
import type { LoginRequestFields } from './login.js';
import * as P from './pdu.js';
import type { Pdu, SeqNumbers } from './pdu.js';
import { QUEUE_DEPTH } from './session.js';
import { encodeText } from './text.js';

interface LoginAnswer {
  transit: boolean;
  csg: number;
  nsg: number;
  tsih: number;
  status: number;
  text: Buffer;
}

export class LoginPhase {
  private readonly conn: Connection;
  private readonly negotiation: LoginNegotiation;
  /** The first Login Request has set the CID and where StatSN starts. */
  private started = false;

  constructor(conn: Connection) {
    this.conn = conn;
    const host = conn.host;
    this.negotiation = new LoginNegotiation({
      targetName: host.targetName,
      alias: host.alias,
      portalGroupTag: conn.portal.portalGroupTag,
      chap: host.chap,
      offers: host.offers,
    });
  }

  onPdu(pdu: Pdu): void {
    const c = this.conn;
    if (P.opcodeOf(pdu.bhs) !== P.OP_LOGIN_REQUEST) {
      // Anything but a Login Request before full feature phase ends the login (RFC 7143 6.3).
      this.fail(pdu.bhs, P.LOGIN_INVALID_DURING_LOGIN, `${P.OPCODE_NAMES[P.opcodeOf(pdu.bhs)] ?? `opcode 0x${P.opcodeOf(pdu.bhs).toString(16)}`} during login`);
      return;
    }
    const req = parseLoginRequest(pdu.bhs);
    if (!this.started) {
      this.started = true;
      c.statSN = req.expStatSN;
      c.cid = req.cid;
    }
    const step = this.negotiation.step(req, pdu.data);
    switch (step.kind) {
      case 'fail':
        this.fail(pdu.bhs, step.status, step.reason);
        return;
      case 'more':
        this.respond(req, { transit: false, csg: step.csg, nsg: 0, tsih: 0, status: 0, text: Buffer.alloc(0) });
        return;
      case 'respond': {
        const params = this.negotiation.params;
        let tsih = 0;
        if (step.fullFeature) {
          const bound = c.host.bindSession(c, params, req);
          if ('status' in bound) {
            this.fail(pdu.bhs, bound.status, bound.reason);
            return;
          }
          c.session = bound.session;
          tsih = bound.session.tsih;
        }
        const text = encodeText(step.pairs);
        if (text.length > params.initiatorMaxRecvDataSegmentLength) {
          this.fail(pdu.bhs, P.LOGIN_TARGET_ERROR, 'login response longer than the initiator can receive');
          return;
        }
        this.respond(req, { transit: step.transit, csg: step.csg, nsg: step.nsg, tsih, status: 0, text });
        if (step.fullFeature) c.enterFullFeature(params);
        return;
      }
    }
  }

  private respond(req: LoginRequestFields, r: LoginAnswer): void {
    const c = this.conn;
    const s = c.session;
    const seq: SeqNumbers = {
      statSN: c.statSN,
      expCmdSN: s ? s.expCmdSN : req.cmdSN,
      maxCmdSN: s ? s.maxCmdSN : P.snAdd(req.cmdSN, QUEUE_DEPTH - 1),
    };
    c.statSN = P.snAdd(c.statSN, 1);
    const h = P.loginResponse({
      transit: r.transit,
      csg: r.csg,
      nsg: r.nsg,
      isid: req.isid,
      tsih: r.tsih,
      itt: req.itt,
      statusClass: r.status >> 8,
      statusDetail: r.status & 0xff,
      seq,
      dataLength: r.text.length,
    });
    c.send(h, r.text);
  }

  /** A Login Response with an error status; the connection closes once it is sent. */
  private fail(bhs: Buffer, status: number, reason: string): void {
    const c = this.conn;
    c.host.log(
      `iscsi: ${c.remote}: login rejected (${(status >> 8).toString(16).padStart(2, '0')}/${(status & 0xff).toString(16).padStart(2, '0')}): ${reason}`,
    );
    const isLogin = P.opcodeOf(bhs) === P.OP_LOGIN_REQUEST;
    const req = isLogin ? parseLoginRequest(bhs) : undefined;
    const h = P.loginResponse({
      transit: false,
      csg: 0,
      nsg: 0,
      isid: req?.isid ?? Buffer.alloc(6),
      tsih: 0,
      itt: P.ittOf(bhs),
      statusClass: status >> 8,
      statusDetail: status & 0xff,
      seq: { statSN: c.statSN, expCmdSN: req?.cmdSN ?? 0, maxCmdSN: req?.cmdSN ?? 0 },
      dataLength: 0,
    });
    c.send(h);
    c.state = 'logged-out';
    c.endGracefully();
  }
}
