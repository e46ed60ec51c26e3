// Text Request and Text Response (RFC 7143 11.10, 11.11) in full feature
// phase: SendTargets (Appendix C) and keys that may be negotiated anew
// (MaxRecvDataSegmentLength). A request's text may span several PDUs (C bit),
// and a response longer than the initiator's MaxRecvDataSegmentLength goes out
// in parts the initiator asks for with the Target Transfer Tag.
import type { Connection } from './connection.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import { negotiate } from './params.js';
import { encodeText, parseText } from './text.js';
import type { TextPair } from './text.js';

/** Longest request text collected over continued PDUs. */
const MAX_REQUEST_TEXT = 64 * 1024;

/** The Text exchange of one connection: the request being collected and the rest of a long response. */
export class TextExchange {
  private readonly conn: Connection;
  private textIn: { itt: number; parts: Buffer[]; length: number } | undefined;
  private textOut: { itt: number; ttt: number; rest: Buffer } | undefined;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  onText(pdu: Pdu): void {
    const c = this.conn;
    const s = c.session!;
    const bhs = pdu.bhs;
    const flags = bhs[1]!;
    const cont = (flags & P.TEXT_CONTINUE) !== 0;
    const itt = P.ittOf(bhs);
    const ttt = bhs.readUInt32BE(20);
    const lunField = bhs.subarray(8, 16);
    if (ttt !== P.RESERVED_TAG) {
      // The initiator asks for the rest of a long response.
      const out = this.textOut;
      if (!out || out.ttt !== ttt) return c.reject(P.REJECT_INVALID_PDU_FIELD, bhs);
      this.textOut = undefined;
      this.send(itt, lunField, out.rest);
      return;
    }
    this.textOut = undefined;
    if (pdu.dataDigestError) return c.reject(P.REJECT_DATA_DIGEST_ERROR, bhs);
    if (!this.textIn || this.textIn.itt !== itt) this.textIn = { itt, parts: [], length: 0 };
    const tin = this.textIn;
    tin.parts.push(Buffer.from(pdu.data));
    tin.length += pdu.data.length;
    if (tin.length > MAX_REQUEST_TEXT) {
      this.textIn = undefined;
      return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    }
    if (cont) {
      // More text follows: an empty answer keeps the exchange going.
      c.send(P.textResponse({ final: false, cont: false, lunField, itt, ttt: c.allocTag(), seq: c.seq(true), dataLength: 0 }));
      return;
    }
    this.textIn = undefined;
    const parsed = parseText(Buffer.concat(tin.parts));
    if (!parsed.ok) {
      c.host.log(`iscsi: ${c.remote}: malformed text request: ${parsed.error}`);
      return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
    }
    const answer: TextPair[] = [];
    const rest: TextPair[] = [];
    const seen = new Set<string>();
    for (const pair of parsed.pairs) {
      if (seen.has(pair[0])) return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      seen.add(pair[0]);
      if (pair[0] === 'SendTargets') {
        const r = c.host.sendTargets(pair[1], c);
        if (r === 'reject') answer.push(['SendTargets', 'Reject']);
        else answer.push(...r);
      } else rest.push(pair);
    }
    if (rest.length > 0) {
      const out = negotiate(rest, s.params, { phase: 'ffp', sessionType: s.type, leading: true, offers: c.host.offers });
      if (out.error) {
        c.host.log(`iscsi: ${c.remote}: text request: ${out.error}`);
        return c.reject(P.REJECT_PROTOCOL_ERROR, bhs);
      }
      answer.push(...out.responses);
      // MaxRecvDataSegmentLength may be declared anew in full feature phase.
      c.sendSegment = s.params.initiatorMaxRecvDataSegmentLength;
    }
    this.send(itt, lunField, encodeText(answer));
  }

  private send(itt: number, lunField: Buffer, text: Buffer): void {
    const c = this.conn;
    if (text.length <= c.sendSegment) {
      c.send(P.textResponse({ final: true, cont: false, lunField, itt, ttt: P.RESERVED_TAG, seq: c.seq(true), dataLength: text.length }), text);
      return;
    }
    const ttt = c.allocTag();
    this.textOut = { itt, ttt, rest: text.subarray(c.sendSegment) };
    const first = text.subarray(0, c.sendSegment);
    c.send(P.textResponse({ final: false, cont: true, lunField, itt, ttt, seq: c.seq(true), dataLength: first.length }), first);
  }
}
