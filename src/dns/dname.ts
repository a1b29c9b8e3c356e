/**
 * @module dns/dname
 * DNAME synthesis (RFC 6672 3.2) for answer.ts: the one answer built per query, since a DNAME's CNAME target
 * depends on the name asked. Never throws, logs or awaits; allocates the reply body only.
 */
import { AA, BELOW_SYNTHESIZED, DESC, REFERRAL, WITH_AUTHORITY } from '../zone/table.ts'
import type { AnswerTable, ZoneNegative } from '../zone/table.ts'
import { hashOf } from '../zone/names.ts'
import { at, EMPTY, headOf, u16, u32 } from './bytes.ts'
// A cycle with answer.ts, which calls dname(); SEND is only read when dname() runs, long after both load.
import { SEND } from './answer.ts'
import type { Outcome, Reply } from './answer.ts'

const RCODE_YXDOMAIN = 6

const chaseKey = Buffer.allocUnsafe(255)

/**
 * RFC 6672 3.2: the DNAME owned by the closest encloser (at `p` in the question name) and the CNAME it
 * synthesises for the question, the one answer that is built per query (a DNAME's targets depend on the name
 * asked). When the target is in our zones the CNAME is followed there, as knotd does: the new name's answer
 * from `table.chase` (compiled with full owner names), a wildcard's synthesis or a zone cut's referral when
 * it does not exist but one covers it, or NXDOMAIN with that zone's SOA. Too long a result is YXDOMAIN with
 * the DNAME alone.
 */
export function dname(req: Buffer, qend: number, qtype: number, scratch: Buffer, p: number, table: AnswerTable, e: number, limit: number, out: Reply): Outcome {
  const arena = table.wildcards.arena
  const tlen = arena.readUInt32BE(e - 4) - 6 // the entry: u32 TTL, u16 target zone, then the target's wire form
  const targetZone = u16(arena, e + 4)
  const t0 = e + 6
  const tooLong = p + tlen > 255
  // Followed into our zone: the new name's answer for the qtype (a body, its counts, rcode and negative SOA).
  let chased: Buffer = EMPTY
  let an = 0
  let ar = 0
  let rcode = tooLong ? RCODE_YXDOMAIN : 0
  let auth: Buffer = EMPTY
  let ns = 0
  let wildcard = false
  if (!tooLong && targetZone !== 0) {
    scratch.copy(chaseKey, 0, 0, p)
    arena.copy(chaseKey, p, t0, t0 + tlen)
    const len = p + tlen
    let chase = table.chase
    let c = chase.find(chaseKey, 0, len, hashOf(chaseKey, 0, len))
    if (c < 0) {
      // No such name: a wildcard at its closest encloser answers it, as for a question (RFC 4592).
      let q = at(chaseKey, 0) + 1
      let enc = -1
      let hq = 0
      for (; q < len; q += at(chaseKey, q) + 1) { hq = hashOf(chaseKey, q, len); enc = table.names.find(chaseKey, q, len, hq); if (enc >= 0) break }
      const na = table.names.arena
      if (enc >= 0 && u16(na, enc + 1 + at(na, enc) * DESC + 10) === BELOW_SYNTHESIZED) {
        // A wildcard's synthesis, or the referral of a zone cut the new name falls under (full names both).
        c = table.wildcards.find(chaseKey, q, len, hq)
        chase = table.wildcards
        wildcard = c >= 0 && (at(chase.arena, c + 1 + at(chase.arena, c) * DESC + 2) & REFERRAL) === 0
      }
    }
    if (c < 0) {
      rcode = 3 // the new name does not exist in our zone (RFC 6672 3.2: NXDOMAIN, the target zone's SOA)
      auth = (table.negatives[targetZone - 1] as ZoneNegative).soa
    } else {
      const ca = chase.arena
      const others = c + 1 + at(ca, c) * DESC
      let d = c + 1
      while (d < others && u16(ca, d) !== qtype) d += DESC
      const rc = at(ca, d + 2)
      rcode = rc & 0x0f
      an = u16(ca, d + 4)
      ar = u16(ca, d + 6)
      const negative = u16(ca, d + 8)
      if ((rc & REFERRAL) !== 0) { ns = an; an = 0 } // at or below a cut: its NS (authority) and glue; AA stays, for the DNAME
      else if ((rc & WITH_AUTHORITY) !== 0) ns = negative // the chain ran into a zone cut: its NS are in the body
      else if (negative !== 0) auth = (table.negatives[negative - 1] as ZoneNegative).soa
      if (at(ca, d + 3) !== 0) {
        const slot = c + u32(ca, d + 12)
        chased = ca.subarray(c + u32(ca, slot), c + u32(ca, slot) + u32(ca, slot + 4))
      }
    }
  }
  const own = 12 + tlen + (tooLong ? 0 : 12 + p + tlen)
  const body = Buffer.allocUnsafe(own + chased.length)
  body.writeUInt16BE(0xc000 | (12 + p), 0) // the owner: the question's suffix where the DNAME's name starts
  body.writeUInt32BE(0x00270001, 2) // DNAME, IN
  arena.copy(body, 6, e, e + 4) // TTL
  body.writeUInt16BE(tlen, 10)
  arena.copy(body, 12, t0, t0 + tlen)
  if (!tooLong) {
    const o = 12 + tlen
    body.writeUInt32BE(0xc00c0005, o) // owner: the question; CNAME
    body.writeUInt16BE(1, o + 4)
    arena.copy(body, o + 6, e, e + 4)
    body.writeUInt16BE(p + tlen, o + 10)
    scratch.copy(body, o + 12, 0, p) // the labels asked below the DNAME's owner, lowercase (as knotd writes them)
    arena.copy(body, o + 12 + p, t0, t0 + tlen)
  }
  chased.copy(body, own)
  // A wildcard's answer names its owner as a pointer to the question: point it at the CNAME's target instead.
  if (wildcard) repointOwners(body, own, an + ns + ar, 0xc000 | (qend + 12 + tlen + 12))
  const optLen = out.opt.length
  const tc = qend + body.length + auth.length + optLen > limit
  req[2] = 0x80 | (at(req, 2) & 0x79) | AA | (tc ? 0x02 : 0)
  req[3] = rcode
  req.writeUInt16BE(tc ? 0 : (tooLong ? 1 : 2) + an, 6)
  req.writeUInt16BE(tc ? 0 : ns + (auth.length === 0 ? 0 : 1), 8)
  req.writeUInt16BE((tc ? 0 : ar) + (optLen === 0 ? 0 : 1), 10)
  out.head = headOf(req, qend)
  out.body = tc ? EMPTY : body
  out.auth = tc ? EMPTY : auth
  return SEND
}

/** In `body` from `o`, rewrites `count` records' owners that point at the question (offset 12) to `pointer`. */
function repointOwners(body: Buffer, o: number, count: number, pointer: number): void {
  for (let k = 0; k < count && o + 2 <= body.length; k++) {
    if (u16(body, o) === 0xc00c) { body.writeUInt16BE(pointer, o); o += 2 } else {
      while (o < body.length && at(body, o) !== 0 && at(body, o) < 0xc0) o += at(body, o) + 1 // a name in full
      o += o < body.length && at(body, o) >= 0xc0 ? 2 : 1
    }
    if (o + 10 > body.length) return
    o += 10 + u16(body, o + 8)
  }
}
