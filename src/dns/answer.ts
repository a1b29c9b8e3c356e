/**
 * @module dns/answer
 * THE hot path: read header and question straight from the request Buffer, fold the name to lowercase
 * into a scratch buffer (hashing it on the way), one hash-table lookup, patch the request's header in place
 * and hand back the precompiled sections. Never throws for any input, never logs, never awaits; allocates
 * only the body view (and the head view when the query carries an OPT, and the echoed OPT for a trusted
 * resolver's client subnet). Malformed input is an outcome (FORMERR or DROP), not an exception. The rarer
 * answers live beside it: dname.ts (built per query), identity.ts (CHAOS TXT, NSID), subnet.ts (ECS), cookies.ts
 * (DNS cookies, only for a query that carries one).
 */
import { FNV_OFFSET, fnvStep, hashOf } from '../zone/name-table.ts'
import { AA, BELOW_DNAME, BELOW_SYNTHESIZED, DENIAL, DESC, PARTIAL, REFERRAL, WITH_AUTHORITY } from '../zone/table.ts'
import type { AnswerTable, ZoneNegative } from '../zone/table.ts'
import { at, EMPTY, headOf, latin1, u16, u32 } from './bytes.ts'
import { DROP, FORWARD, Reply, SEND, HANDOFF } from './reply.ts'
import type { Outcome } from './reply.ts'
import { COOKIE_BADCOOKIE, COOKIE_ISSUED, COOKIE_MALFORMED, COOKIE_NONE, COOKIE_PROVEN, COOKIE_TC, OPTION_COOKIE, RCODE_BADCOOKIE } from './cookies.ts'
import { dname } from './dname.ts'
import { chaos, OPTION_NSID } from './identity.ts'
import { clientSubnet, OPTION_ECS, withOption } from './subnet.ts'
import type { ViewTable } from './view-table.ts'
import { EDNS_PAYLOAD, opt } from './wire.ts'

export { EDNS_PAYLOAD }

export { DROP, FORWARD, Reply, SEND, HANDOFF } from './reply.ts'
export type { Outcome } from './reply.ts'

const CLASS_IN = 1
const CLASS_CH = 3
const TYPE_OPT = 41
const TYPE_TSIG = 250
const TYPE_IXFR = 251
const TYPE_AXFR = 252
const RCODE_FORMERR = 1
const RCODE_NOTIMP = 4
const RCODE_REFUSED = 5
const OPCODE_UPDATE = 5 << 3
/** BADVERS = 16: 0 in the header, 1 in the OPT's extended-rcode byte (RFC 6891 6.1.3). */
const EXT_BADVERS = 1

const OPT = opt(false, 0)
const OPT_DO = opt(true, 0)
const OPT_BADVERS = opt(false, EXT_BADVERS)
const OPT_BADVERS_DO = opt(true, EXT_BADVERS)
const OPT_BADCOOKIE = opt(false, RCODE_BADCOOKIE >> 4)
const OPT_BADCOOKIE_DO = opt(true, RCODE_BADCOOKIE >> 4)
const TC = 0x02


const scratch = Buffer.allocUnsafe(255 + 2)
/** Round-robin position for RRsets with precompiled rotations. */
let rotation = 0
/**
 * Answers one DNS message. Patches `req`'s header in place; the caller sends `out`'s parts in order.
 * `viewTable`: given for a resolver trusted with EDNS Client Subnet, whose ECS option then picks the view.
 */
export function answer(req: Buffer, tcp: boolean, table: AnswerTable, out: Reply, viewTable: ViewTable | null = null): Outcome {
  const len = req.length
  if (len < 12) return DROP
  const b2 = at(req, 2)
  if ((b2 & 0x80) !== 0) return DROP // a response: answering it could loop between two servers
  out.body = EMPTY
  out.auth = EMPTY
  out.opt = EMPTY
  out.ednsSize = 0
  out.ednsDo = false
  out.qtype = 0
  out.proven = false
  out.online = false
  out.cookie = COOKIE_NONE
  // UPDATE (RFC 2136 3) carries records in every section: the update code reads it, as sent (TSIG signs it
  // so); without one, refuse() makes it NOTIMP whatever it holds, never FORMERR.
  if ((b2 & 0x78) === OPCODE_UPDATE) { out.head = req.subarray(0, 12); return HANDOFF }

  // Question: exactly one (RFC 9619), name without compression pointers, folded to lowercase.
  if (u16(req, 4) !== 1) return error(req, 12, RCODE_FORMERR, out)
  // The name table's hash is folded in on the way (zone/name-table.ts).
  let o = 12
  let n = 0
  let h = FNV_OFFSET
  for (;;) {
    if (o >= len) return error(req, 12, RCODE_FORMERR, out)
    const l = at(req, o)
    if (l === 0) break
    if (l > 63 || o + l + 1 >= len || n + l + 2 > 255) return error(req, 12, RCODE_FORMERR, out)
    scratch[n++] = l
    h = fnvStep(h, l)
    for (let i = o + 1, end = o + l + 1; i < end; i++) {
      const c = at(req, i)
      const folded = c >= 0x41 && c <= 0x5a ? c | 0x20 : c
      scratch[n++] = folded
      h = fnvStep(h, folded)
    }
    o += l + 1
  }
  scratch[n++] = 0
  h = fnvStep(h, 0)
  o++
  if (o + 4 > len) return error(req, 12, RCODE_FORMERR, out)
  const qtype = u16(req, o)
  const qclass = u16(req, o + 2)
  const qend = o + 4
  o = qend
  if ((b2 & 0x78) === 0 && (qtype === TYPE_IXFR || qtype === TYPE_AXFR)) {
    // Zone transfers carry records (IXFR's SOA, TSIG) this path would refuse: leave them to the transfer code.
    out.qtype = qtype
    out.head = req.subarray(0, qend)
    return HANDOFF
  }

  // A query carries no answer or authority records; the additional section may hold one OPT.
  if (u16(req, 6) !== 0 || u16(req, 8) !== 0) return error(req, qend, RCODE_FORMERR, out)
  let hasOpt = false
  let udpSize = 0
  let version = 0
  let doBit = false
  let co = false
  let nsid = false
  let ecs = -1
  let cookie = -1
  for (let k = u16(req, 10); k > 0; k--) {
    const owner = o
    for (;;) { // skip the owner name; a pointer ends it
      if (o >= len) return error(req, qend, RCODE_FORMERR, out)
      const l = at(req, o)
      if (l === 0) { o++; break }
      if (l >= 0xc0) { o += 2; break }
      if (l > 63) return error(req, qend, RCODE_FORMERR, out)
      o += l + 1
    }
    if (o + 10 > len) return error(req, qend, RCODE_FORMERR, out)
    const rdlen = req.readUInt16BE(o + 8)
    const rdend = o + 10 + rdlen
    if (rdend > len) return error(req, qend, RCODE_FORMERR, out)
    if (req.readUInt16BE(o) === TYPE_TSIG) {
      // A signed query: verified and its answer signed off this path, with the keys (dns/tsig.ts).
      out.qtype = qtype
      out.head = req.subarray(0, qend)
      return HANDOFF
    }
    if (req.readUInt16BE(o) === TYPE_OPT) {
      // One OPT, owned by the root (RFC 6891 6.1.1); its options must frame the RDATA exactly.
      if (hasOpt || o !== owner + 1 || at(req, owner) !== 0) return error(req, qend, RCODE_FORMERR, out)
      hasOpt = true
      udpSize = req.readUInt16BE(o + 2)
      version = at(req, o + 5)
      doBit = (at(req, o + 6) & 0x80) !== 0
      co = doBit && (at(req, o + 6) & 0x40) !== 0 // Compact Answers OK (RFC 9824 3.5), with DO only
      let p = o + 10
      for (; p + 4 <= rdend; p += 4 + req.readUInt16BE(p + 2)) {
        const code = u16(req, p)
        if (code === OPTION_NSID) nsid = true
        else if (code === OPTION_ECS && ecs < 0) ecs = p
        else if (code === OPTION_COOKIE && cookie < 0) cookie = p
      }
      if (p !== rdend) return error(req, qend, RCODE_FORMERR, out)
    }
    o = rdend
  }
  if (o !== len) return error(req, qend, RCODE_FORMERR, out) // trailing bytes
  if (hasOpt) {
    out.ednsSize = udpSize < 512 ? 512 : udpSize
    out.ednsDo = doBit
    out.opt = nsid && out.identity !== null ? (doBit ? out.identity.optDo : out.identity.opt) : doBit ? OPT_DO : OPT
    if (version !== 0) { // RFC 6891 6.1.3: we speak version 0 only
      out.opt = doBit ? OPT_BADVERS_DO : OPT_BADVERS
      return error(req, qend, 0, out)
    }
    if (ecs >= 0 && viewTable !== null) {
      // A trusted resolver's client subnet picks the view (dns/subnet.ts); the reply echoes it with its scope.
      const picked = clientSubnet(req, ecs, viewTable)
      if (picked === null) return error(req, qend, RCODE_FORMERR, out)
      if (picked.view !== null) table = picked.view.table
      out.opt = withOption(out.opt, picked.echo)
    }
    if (cookie >= 0 && out.cookies !== null) {
      // Ours back for the client's; malformed is FORMERR; in require mode, BADCOOKIE over UDP until proven.
      const c = out.cookies.answer(req, cookie, out.peer)
      if (c === null) { out.cookie = COOKIE_MALFORMED; return error(req, qend, RCODE_FORMERR, out) }
      out.proven = c.valid
      out.cookie = c.valid ? COOKIE_PROVEN : COOKIE_ISSUED
      if (!tcp && !c.valid && out.cookies.require) {
        out.cookie = COOKIE_BADCOOKIE
        out.opt = withOption(doBit ? OPT_BADCOOKIE_DO : OPT_BADCOOKIE, c.option)
        return error(req, qend, RCODE_BADCOOKIE & 0x0f, out)
      }
      out.opt = withOption(out.opt, c.option)
    }
  }
  if (!tcp && !out.proven && cookie < 0 && out.cookies !== null && out.cookies.require) {
    // Require mode, and no client cookie to answer BADCOOKIE to: an empty TC reply sends the client to TCP.
    const r = error(req, qend, 0, out)
    req[2] = at(req, 2) | TC
    out.cookie = COOKIE_TC
    return r
  }
  if ((b2 & 0x78) !== 0) return error(req, qend, RCODE_NOTIMP, out) // opcode other than QUERY
  out.qtype = qtype
  if (qtype === TYPE_OPT) return error(req, qend, RCODE_FORMERR, out)
  if (qclass !== CLASS_IN) {
    return qclass === CLASS_CH && out.identity !== null ? chaos(req, qend, qtype, scratch, n, out.identity, out, SEND) : error(req, qend, RCODE_REFUSED, out)
  }

  // One hash-table lookup by the lowercase wire name, then the qtype among the few the name has. The
  // entry is bytes at `base` in `arena`, the table's: descriptors, then bodies (layout in zone/table.ts).
  // The reply's size limit: TCP's, the client's EDNS size capped at ours, or 512 (RFC 1035 4.2.1).
  const limit = tcp ? 65535 : hasOpt ? (out.ednsSize < EDNS_PAYLOAD ? out.ednsSize : EDNS_PAYLOAD) : 512
  // Signed zones: DO gets the signed twin of the table (RFC 4035 3.1.1: signatures only when asked), and a
  // security-aware server copies CD into every answer (RFC 4035 3); without DNSSEC it is cleared, as knotd does.
  let cd = 0
  if (table.signed !== null) {
    cd = at(req, 3) & 0x10
    if (doBit) {
      table = table.signed
      if (co) out.opt = withCompact(out.opt)
    }
  }
  const names = table.names
  let arena = names.arena
  let base = names.find(scratch, 0, n, h)
  if (base < 0) {
    // No such name. One walk up the labels to the closest encloser, the nearest name that exists (RFC 4592
    // 3.3.1); its entry says what names below it get (worked out when the zone changed): a wildcard's
    // synthesised answer, a zone cut's referral, or NXDOMAIN from the zone found by walking on from there.
    let p = at(scratch, 0) + 1
    let enc = -1
    let hp = 0
    for (; p < n; p += at(scratch, p) + 1) {
      hp = hashOf(scratch, p, n)
      enc = names.find(scratch, p, n, hp)
      if (enc >= 0) break
    }
    if (enc < 0) { // in none of our zones
      out.key = latin1(scratch, 0, n) + String.fromCharCode(qtype >> 8, qtype & 0xff)
      error(req, qend, RCODE_REFUSED, out)
      return FORWARD
    }
    // A wildcard's synthesised answers, or the referral of a zone cut the name falls under.
    const below = u16(arena, enc + 1 + at(arena, enc) * DESC + 10)
    if (below === BELOW_SYNTHESIZED) {
      arena = table.wildcards.arena
      base = table.wildcards.find(scratch, p, n, hp)
    } else if (below === BELOW_DNAME) {
      const e = table.wildcards.find(scratch, p, n, hp)
      if (e >= 0 && !table.online) return dname(req, qend, qtype, scratch, p, table, e, limit, out)
    }
    // Signed, a name that does not exist or is synthesised (a wildcard's, a DNAME's) is signed for the name
    // asked, off this path (dns/online-sign.ts); a referral below a zone cut is precompiled, signed.
    if (table.online && (base < 0 || (at(arena, base + 1 + at(arena, base) * DESC + 2) & REFERRAL) === 0)) {
      out.online = true
      out.key = latin1(scratch, p, n) // the closest encloser: what response rate limiting groups these by
      out.qtype = qtype
      out.head = req.subarray(0, qend)
      return HANDOFF
    }
    if (base < 0) {
      // NXDOMAIN. When the encloser's own "others" is its zone's plain NODATA, that names the zone's SOA: no
      // second walk for the apex (a CNAME owner's chain may end in another zone, so it takes the walk).
      const od = enc + 1 + at(arena, enc) * DESC
      const neg = u16(arena, od + 8)
      if (neg !== 0 && at(arena, od + 2) === 0 && at(arena, od + 3) === 0) {
        const soa = (table.negatives[neg - 1] as ZoneNegative)
        req[2] = 0x80 | (b2 & 0x79) | AA
        req[3] = 3 | cd
        req.writeUInt32BE(soa.count, 6) // AN 0, NS: the SOA
        req.writeUInt16BE(out.opt.length === 0 ? 0 : 1, 10)
        out.head = headOf(req, qend)
        out.auth = soa.soa
        return SEND
      }
      const apexes = table.apexes
      for (; base < 0 && p < n; p += at(scratch, p) + 1) base = apexes.find(scratch, p, n, hashOf(scratch, p, n))
      if (base < 0) return error(req, qend, RCODE_REFUSED, out) // an encloser without a zone: cannot happen
      arena = apexes.arena
    }
  }
  const others = base + 1 + at(arena, base) * DESC
  let d = base + 1
  while (d < others && u16(arena, d) !== qtype) d += DESC

  const rc = at(arena, d + 2)
  const negative = u16(arena, d + 8) // with WITH_AUTHORITY: the authority records in the body, not an SOA
  const withAuthority = (rc & WITH_AUTHORITY) !== 0
  const neg = negative === 0 || withAuthority ? null : (table.negatives[negative - 1] as ZoneNegative)
  const auth = neg === null ? EMPTY : neg.soa
  const optLen = out.opt.length
  const bodies = at(arena, d + 3)
  let bodyStart = 0
  let bodyEnd = 0
  let ar = u16(arena, d + 6)
  // A signed denial: its NSEC and RRSIGs are authority records at the end of the body (zone/table.ts DENIAL).
  const denied = (rc & DENIAL) !== 0 ? ar : 0
  if (denied !== 0) ar = 0
  let tc = 0
  if (bodies !== 0) {
    const first = base + u32(arena, d + 12)
    const slot = bodies === 1 ? first : first + (rotation++ % bodies) * 8
    bodyStart = base + u32(arena, slot)
    bodyEnd = bodyStart + u32(arena, slot + 4)
    if (qend + (bodyEnd - bodyStart) + auth.length + optLen > limit) {
      // Drop the optional additional section first (RFC 2181 9), then truncate (RFC 1035 4.2.1).
      bodyStart = base + u32(arena, first)
      bodyEnd = bodyStart + u32(arena, d + 16)
      ar = 0
      if (qend + (bodyEnd - bodyStart) + auth.length + optLen > limit) tc = 0x02
    }
  }
  // Header: QR, echo opcode/RD (RFC 1035 4.1.1), our AA (not on a referral) and rcode; CD as said above.
  const referral = (rc & REFERRAL) !== 0
  // TC: nothing fits (`tc`), or an RRset too big for any message, whose records that fit follow (PARTIAL).
  req[2] = 0x80 | (b2 & 0x79) | (referral ? 0 : AA) | tc | ((rc & PARTIAL) >> 4)
  // Compact denial's NXDOMAIN is NOERROR but to a query with CO (RFC 9824 3.5).
  req[3] = ((rc & DENIAL) !== 0 && !co ? 0 : rc & 0x0f) | cd
  out.head = headOf(req, qend)
  if (tc !== 0) {
    req.writeUInt32BE(0x00010000, 4) // QD 1, AN 0
    req.writeUInt32BE(optLen === 0 ? 0 : 1, 8) // NS 0, AR opt
    return SEND
  }
  // A referral's records are the cut's NS (authority) and glue (additional); nothing in the answer section.
  req.writeUInt16BE(referral ? 0 : u16(arena, d + 4), 6)
  req.writeUInt16BE(referral ? u16(arena, d + 4) : withAuthority ? negative : neg === null ? 0 : neg.count + denied, 8)
  req.writeUInt16BE(ar + (optLen === 0 ? 0 : 1), 10)
  out.body = bodyEnd === 0 ? EMPTY : arena.subarray(bodyStart, bodyEnd)
  out.auth = auth
  return SEND
}

/** Our OPT with the CO flag set, echoing a query's (RFC 9824 3.5). */
function withCompact(opt: Buffer): Buffer {
  const out = Buffer.from(opt)
  if (out.length >= 11) out[7] = (out[7] as number) | 0x40
  return out
}

/** The reply to a message `answer()` returned HANDOFF for, when no one answers it otherwise: REFUSED, NOTIMP for an UPDATE. */
export function refuse(req: Buffer, out: Reply): void {
  error(req, out.head.length, (at(req, 2) & 0x78) === OPCODE_UPDATE ? RCODE_NOTIMP : RCODE_REFUSED, out)
}

/** A reply with no records: the header (and question, when `qend` > 12) echoed with `rcode`. */
function error(req: Buffer, qend: number, rcode: number, out: Reply): Outcome {
  req[2] = 0x80 | (at(req, 2) & 0x79)
  req[3] = (at(req, 3) & 0x10) | rcode
  req.writeUInt16BE(qend > 12 ? 1 : 0, 4)
  req.writeUInt32BE(0, 6)
  req.writeUInt16BE(out.opt.length === 0 ? 0 : 1, 10)
  out.head = headOf(req, qend)
  out.body = EMPTY
  out.auth = EMPTY
  return SEND
}

/**
 * Takes over a query `answer()` returned FORWARD for: returns true when it will answer through `respond`
 * (later), false to have the REFUSED reply in `reply` sent now. `req` is the client's message, header
 * already patched; its ID, RD/CD bits and question are intact.
 */
export type ForwardHook = (req: Buffer, reply: Reply, client: Peer, tcp: boolean, respond: (msg: Buffer) => void) => boolean

/** Who sent a query. */
export interface Peer {
  readonly address: string
  readonly port: number
}

/**
 * Answers a message `answer()` returned HANDOFF for (an AXFR or IXFR, an UPDATE, a TSIG-signed query): returns
 * true when it will answer through `respond` (one or more messages), false to have `refuse()`'s reply sent.
 */
export type HandoffHook = (req: Buffer, reply: Reply, client: Peer, tcp: boolean, respond: (msgs: readonly Buffer[]) => void) => boolean
