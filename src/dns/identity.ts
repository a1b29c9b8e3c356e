/**
 * @module dns/identity
 * Which server answered, for operators running several behind one address: the EDNS NSID option (RFC 5001)
 * when a query asks for it, and the CHAOS-class TXT names `id.server` and `hostname.bind` (RFC 4892), with
 * `version.server` and `version.bind`, answered as knotd answers them (TTL 0, AA clear, REFUSED for any other
 * CHAOS question). Everything is built once at start-up; answer.ts only picks a prepared buffer. Never throws.
 */
import { wireKey } from '../zone/name.ts'
import { EMPTY, headOf, latin1 } from './bytes.ts'
import type { Identity, Outcome, Reply } from './reply.ts'
import { EDNS_PAYLOAD, opt } from './wire.ts'

/** RFC 5001's option code. */
export const OPTION_NSID = 3
const TYPE_TXT = 16
const CLASS_CH = 3
const RCODE_REFUSED = 5

export type { Identity } from './reply.ts'

/** The prepared identity for `id` (null: none, answer neither) and `version` (the version.bind text). */
export function makeIdentity(id: string | null, version: string): Identity | null {
  if (id === null) return null
  const idBytes = Buffer.from(id, 'latin1')
  const nsid = Buffer.concat([Buffer.from([0, OPTION_NSID, idBytes.length >> 8, idBytes.length & 0xff]), idBytes])
  const txt = (text: string): Buffer => {
    const s = Buffer.from(text, 'latin1').subarray(0, 255)
    const b = Buffer.alloc(12 + 1 + s.length)
    b.writeUInt16BE(0xc00c, 0) // the question's name, in its own letter case
    b.writeUInt16BE(TYPE_TXT, 2)
    b.writeUInt16BE(CLASS_CH, 4)
    b.writeUInt32BE(0, 6) // TTL 0: nothing to cache about which server answered
    b.writeUInt16BE(1 + s.length, 10)
    b[12] = s.length
    s.copy(b, 13)
    return b
  }
  const chaos = new Map<string, Buffer>()
  for (const [name, text] of [['id.server', id], ['hostname.bind', id], ['version.server', version], ['version.bind', version]] as const) {
    chaos.set(wireKey(name), txt(text))
  }
  return { id, version, opt: opt(false, 0, EDNS_PAYLOAD, nsid), optDo: opt(true, 0, EDNS_PAYLOAD, nsid), chaos }
}

/**
 * Answers a CHAOS-class question (header patched in `req`, question ending at `qend`; its name in wire form,
 * folded to lowercase, in `name` up to `n`, as answer.ts leaves it): TXT for the names above, REFUSED for
 * anything else. `identity` is the server's; `send` is answer.ts's SEND.
 */
export function chaos(req: Buffer, qend: number, qtype: number, name: Buffer, n: number, identity: Identity, out: Reply, send: Outcome): Outcome {
  const body = qtype === TYPE_TXT ? identity.chaos.get(latin1(name, 0, n)) : undefined
  req[2] = 0x80 | ((req[2] as number) & 0x79) // QR, opcode and RD echoed; never AA: CHAOS is no zone of ours
  req[3] = body === undefined ? RCODE_REFUSED : 0
  req.writeUInt16BE(1, 4)
  req.writeUInt16BE(body === undefined ? 0 : 1, 6)
  req.writeUInt16BE(0, 8)
  req.writeUInt16BE(out.opt.length === 0 ? 0 : 1, 10)
  out.head = headOf(req, qend)
  out.body = body ?? EMPTY
  out.auth = EMPTY
  return send
}
