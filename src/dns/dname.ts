/**
 * @module dns/dname
 * DNAME synthesis (RFC 6672 3.2) for answer.ts: the one answer built per query, since a DNAME's CNAME target
 * depends on the name asked. Never throws, logs or awaits; allocates the reply body only.
 */
import { AA, BELOW_DNAME, BELOW_SYNTHESIZED, DESC, REFERRAL, WITH_AUTHORITY } from '../zone/table.ts'
import type { AnswerTable, ZoneNegative } from '../zone/table.ts'
import { hashOf } from '../zone/name-table.ts'
import { at, EMPTY, headOf, u16, u32 } from './bytes.ts'
// A cycle with answer.ts, which calls dname(); SEND is only read when dname() runs, long after both load.
import { SEND } from './reply.ts'
import type { Outcome, Reply } from './reply.ts'

const RCODE_YXDOMAIN = 6
/** DNAMEs followed through one another (RFC 6672 3.2 allows a chain); knotd follows them too. */
const MAX_HOPS = 8

/** The name each hop's CNAME points at, in turn (a hop reads the previous one's while writing its own). */
const hopKeys = [Buffer.allocUnsafe(255), Buffer.allocUnsafe(255)]
/** The DNAME entries met so far in this answer, to stop at a loop. */
const visited: number[] = new Array<number>(MAX_HOPS).fill(-1)
/** The DNAME and CNAME records of every hop, before they are copied into the reply body. */
const chain = Buffer.allocUnsafe(MAX_HOPS * 2 * (255 + 10 + 255)) // per hop: two records, owner and rdata at most 255 each

/**
 * RFC 6672 3.2: the DNAME owned by the closest encloser (at `p` in the question name) and the CNAME it
 * synthesises for the question, the one answer that is built per query (a DNAME's targets depend on the name
 * asked). When the target is in our zones the CNAME is followed there, as knotd does: through another DNAME
 * (up to MAX_HOPS), to the new name's answer from `table.chase` (compiled with full owner names), a
 * wildcard's synthesis or a zone cut's referral when it does not exist but one covers it, or NXDOMAIN with
 * that zone's SOA. Too long a result is YXDOMAIN, the chain ending with that DNAME alone.
 */
export function dname(req: Buffer, qend: number, qtype: number, scratch: Buffer, p: number, table: AnswerTable, e: number, limit: number, out: Reply): Outcome {
  const arena = table.wildcards.arena
  // The name this hop's DNAME applies to (the question, then each CNAME's target), its length, and where
  // the DNAME's owner starts in it; `e`, the DNAME's entry: u32 TTL, u16 target zone, the target's wire form.
  let name = scratch
  let len = qend - 16
  let owner = p
  let chained = 0 // bytes of `chain` written
  let records = 0
  /** Offset in the body of the last CNAME's target, for a wildcard's owners to point at. */
  let lastTarget = 0
  // The new name's answer, when followed into our zone: a body, its counts, rcode and negative SOA.
  let chased: Buffer = EMPTY
  let an = 0
  let ns = 0
  let ar = 0
  let rcode = 0
  let auth: Buffer = EMPTY
  let wildcard = false
  visited.fill(-1)
  visited[0] = e
  for (let hop = 0; ; hop++) {
    const tlen = arena.readUInt32BE(e - 4) - 6
    const targetZone = u16(arena, e + 4)
    const t0 = e + 6
    const tooLong = owner + tlen > 255
    // The DNAME: owned by the question's suffix (a pointer) on the first hop, written in full after it.
    if (hop === 0) { chain.writeUInt16BE(0xc000 | (12 + owner), chained); chained += 2 } else { name.copy(chain, chained, owner, len); chained += len - owner }
    chain.writeUInt32BE(0x00270001, chained) // DNAME, IN
    arena.copy(chain, chained + 4, e, e + 4) // TTL
    chain.writeUInt16BE(tlen, chained + 8)
    arena.copy(chain, chained + 10, t0, t0 + tlen)
    chained += 10 + tlen
    records++
    if (tooLong) { rcode = RCODE_YXDOMAIN; break }
    // The CNAME from the name to the labels below the DNAME's owner, lowercase (as knotd writes them), + target.
    if (hop === 0) { chain.writeUInt16BE(0xc00c, chained); chained += 2 } else { name.copy(chain, chained, 0, len); chained += len }
    chain.writeUInt32BE(0x00050001, chained)
    arena.copy(chain, chained + 4, e, e + 4)
    chain.writeUInt16BE(owner + tlen, chained + 8)
    lastTarget = chained + 10
    name.copy(chain, lastTarget, 0, owner)
    arena.copy(chain, lastTarget + owner, t0, t0 + tlen)
    chained += 10 + owner + tlen
    records++
    if (targetZone === 0) break // outside our zones: the chain alone, for the resolver to follow
    const key = hopKeys[hop % 2] as Buffer
    name.copy(key, 0, 0, owner)
    arena.copy(key, owner, t0, t0 + tlen)
    const klen = owner + tlen
    let chase = table.chase
    let c = chase.find(key, 0, klen, hashOf(key, 0, klen))
    if (c < 0) {
      // No such name: what its closest encloser says of the names below it, as for a question (RFC 4592).
      let q = at(key, 0) + 1
      let enc = -1
      let hq = 0
      for (; q < klen; q += at(key, q) + 1) { hq = hashOf(key, q, klen); enc = table.names.find(key, q, klen, hq); if (enc >= 0) break }
      const na = table.names.arena
      const below = enc < 0 ? -1 : u16(na, enc + 1 + at(na, enc) * DESC + 10)
      if (below === BELOW_SYNTHESIZED) {
        // A wildcard's synthesis, or the referral of a zone cut the new name falls under (full names both).
        c = table.wildcards.find(key, q, klen, hq)
        chase = table.wildcards
        wildcard = c >= 0 && (at(chase.arena, c + 1 + at(chase.arena, c) * DESC + 2) & REFERRAL) === 0
      } else if (below === BELOW_DNAME) {
        const next = table.wildcards.find(key, q, klen, hq)
        // Through the next DNAME; a loop (its DNAME met again) or too long a chain ends here with NOERROR, the
        // chain followed so far for the resolver to judge, as a CNAME loop does (zone/compile.ts).
        if (next >= 0 && (hop + 1 === MAX_HOPS || visited.includes(next))) break
        if (next >= 0) { visited[hop + 1] = next; name = key; len = klen; owner = q; e = next; continue }
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
    break
  }
  const body = Buffer.allocUnsafe(chained + chased.length)
  chain.copy(body, 0, 0, chained)
  chased.copy(body, chained)
  // A wildcard's answer names its owner as a pointer to the question: point it at the last CNAME's target.
  if (wildcard) repointOwners(body, chained, an + ns + ar, 0xc000 | (qend + lastTarget))
  const optLen = out.opt.length
  const tc = qend + body.length + auth.length + optLen > limit
  req[2] = 0x80 | (at(req, 2) & 0x79) | AA | (tc ? 0x02 : 0)
  req[3] = rcode | (table.signed !== null ? at(req, 3) & 0x10 : 0) // CD copied by a signing server, as answer.ts does
  req.writeUInt16BE(tc ? 0 : records + an, 6)
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
