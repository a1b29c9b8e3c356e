/**
 * @module dns/edns
 * The EDNS stage of answering, as Knot has it apart (answer_edns_init): what a query's additional section
 * holds, read in place (one OPT at most, owned by the root, whose options frame its RDATA, RFC 6891 6.1.1; a
 * TSIG hands the query off), and what the reply's OPT says back: the client's payload size and DO, NSID,
 * BADVERS for a version other than 0, the view a trusted resolver's client subnet picks (subnet.ts), and
 * our cookie (cookies.ts). Part of the hot path: never throws, logs or awaits, and keeps its findings in one
 * object per thread instead of allocating (answer() never re-enters).
 */
import type { AnswerTable } from '../zone/table.ts'
import { at, u16 } from './bytes.ts'
import { COOKIE_BADCOOKIE, COOKIE_ISSUED, COOKIE_MALFORMED, COOKIE_PROVEN, COOKIE_TC, OPTION_COOKIE, RCODE_BADCOOKIE } from './cookies.ts'
import { OPTION_NSID } from './identity.ts'
import type { Reply } from './reply.ts'
import { clientSubnet, OPTION_ECS, withOption } from './subnet.ts'
import type { ViewTable } from './view-table.ts'
import { opt } from './wire.ts'

const TYPE_OPT = 41
const TYPE_TSIG = 250
const RCODE_FORMERR = 1
/** BADVERS = 16: 0 in the header, 1 in the OPT's extended-rcode byte (RFC 6891 6.1.3). */
const EXT_BADVERS = 1

const OPT = opt(false, 0)
const OPT_DO = opt(true, 0)
const OPT_BADVERS = opt(false, EXT_BADVERS)
const OPT_BADVERS_DO = opt(true, EXT_BADVERS)
const OPT_BADCOOKIE = opt(false, RCODE_BADCOOKIE >> 4)
const OPT_BADCOOKIE_DO = opt(true, RCODE_BADCOOKIE >> 4)

/** `readAdditional`: the section is malformed (FORMERR). */
export const MALFORMED = -1
/** `readAdditional`: the query is signed (TSIG): answered off this path. */
export const SIGNED = -2

/** `ednsReply`: nothing stops the answer. */
export const GO_ON = -1
/** `ednsReply`: an empty reply with TC set, to send the client to TCP (cookies required, none given). */
export const TO_TCP = -2

/** What the query's additional section held. One per thread, overwritten by each `readAdditional`. */
export const edns = {
  hasOpt: false,
  udpSize: 0,
  version: 0,
  doBit: false,
  nsid: false,
  /** Where the first ECS option starts in the request, or -1. */
  ecs: -1,
  /** Where the first COOKIE option starts in the request, or -1. */
  cookie: -1,
  /** The view a trusted resolver's client subnet picked, or null: the transport's choice stands. */
  table: null as AnswerTable | null,
}

/** Reads `count` additional records from `o` in `req`: the offset after them, or MALFORMED, or SIGNED. */
export function readAdditional(req: Buffer, o: number, count: number): number {
  const len = req.length
  edns.hasOpt = false
  edns.udpSize = 0
  edns.version = 0
  edns.doBit = false
  edns.nsid = false
  edns.ecs = -1
  edns.cookie = -1
  edns.table = null
  for (let k = count; k > 0; k--) {
    const owner = o
    for (;;) { // skip the owner name; a pointer ends it
      if (o >= len) return MALFORMED
      const l = at(req, o)
      if (l === 0) { o++; break }
      if (l >= 0xc0) { o += 2; break }
      if (l > 63) return MALFORMED
      o += l + 1
    }
    if (o + 10 > len) return MALFORMED
    const rdlen = req.readUInt16BE(o + 8)
    const rdend = o + 10 + rdlen
    if (rdend > len) return MALFORMED
    // A signed query: verified and its answer signed off this path, with the keys (dns/tsig.ts).
    if (req.readUInt16BE(o) === TYPE_TSIG) return SIGNED
    if (req.readUInt16BE(o) === TYPE_OPT) {
      // One OPT, owned by the root (RFC 6891 6.1.1); its options must frame the RDATA exactly.
      if (edns.hasOpt || o !== owner + 1 || at(req, owner) !== 0) return MALFORMED
      edns.hasOpt = true
      edns.udpSize = req.readUInt16BE(o + 2)
      edns.version = at(req, o + 5)
      edns.doBit = (at(req, o + 6) & 0x80) !== 0
      let p = o + 10
      for (; p + 4 <= rdend; p += 4 + req.readUInt16BE(p + 2)) {
        const code = u16(req, p)
        if (code === OPTION_NSID) edns.nsid = true
        else if (code === OPTION_ECS && edns.ecs < 0) edns.ecs = p
        else if (code === OPTION_COOKIE && edns.cookie < 0) edns.cookie = p
      }
      if (p !== rdend) return MALFORMED
    }
    o = rdend
  }
  return o
}

/**
 * Settles the reply's OPT (`out.opt`, `out.ednsSize`, `out.ednsDo`) and the cookie's verdict from what
 * `readAdditional` found: GO_ON, TO_TCP, or the rcode of a reply without records (FORMERR, BADVERS and
 * BADCOOKIE as their header parts, 0 and 7; their OPT is set to carry the rest).
 */
export function ednsReply(req: Buffer, tcp: boolean, out: Reply, viewTable: ViewTable | null): number {
  if (edns.hasOpt) {
    const doBit = edns.doBit
    out.ednsSize = edns.udpSize < 512 ? 512 : edns.udpSize
    out.ednsDo = doBit
    out.opt = edns.nsid && out.identity !== null ? (doBit ? out.identity.optDo : out.identity.opt) : doBit ? OPT_DO : OPT
    if (edns.version !== 0) { // RFC 6891 6.1.3: we speak version 0 only
      out.opt = doBit ? OPT_BADVERS_DO : OPT_BADVERS
      return 0
    }
    if (edns.ecs >= 0 && viewTable !== null) {
      // A trusted resolver's client subnet picks the view (dns/subnet.ts); the reply echoes it with its scope.
      const picked = clientSubnet(req, edns.ecs, viewTable)
      if (picked === null) return RCODE_FORMERR
      if (picked.view !== null) edns.table = picked.view.table
      out.opt = withOption(out.opt, picked.echo)
    }
    if (edns.cookie >= 0 && out.cookies !== null) {
      // Ours back for the client's; malformed is FORMERR; in require mode, BADCOOKIE over UDP until proven.
      const c = out.cookies.answer(req, edns.cookie, out.peer)
      if (c === null) { out.cookie = COOKIE_MALFORMED; return RCODE_FORMERR }
      out.proven = c.valid
      out.cookie = c.valid ? COOKIE_PROVEN : COOKIE_ISSUED
      if (!tcp && !c.valid && out.cookies.require) {
        out.cookie = COOKIE_BADCOOKIE
        out.opt = withOption(doBit ? OPT_BADCOOKIE_DO : OPT_BADCOOKIE, c.option)
        return RCODE_BADCOOKIE & 0x0f
      }
      out.opt = withOption(out.opt, c.option)
    }
  }
  if (!tcp && !out.proven && edns.cookie < 0 && out.cookies !== null && out.cookies.require) {
    // Require mode, and no client cookie to answer BADCOOKIE to: an empty TC reply sends the client to TCP.
    out.cookie = COOKIE_TC
    return TO_TCP
  }
  return GO_ON
}
