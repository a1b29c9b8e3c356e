/**
 * @module xfr/hook
 * Serves AXFR and IXFR to the secondaries allowed by INCUS_DNS_XFR_ALLOW (none by default): AXFR only over
 * TCP; IXFR over UDP gets the current SOA alone unless the client is up to date (RFC 1995 2), so it comes
 * back over TCP. With a TSIG key set, only correctly signed requests are served and every answer is signed.
 */
import type { Logger } from 'pino'
import type { Peer, Reply, HandoffHook } from '../dns/answer.ts'
import { opt, readMessage, readName, skipName } from '../dns/wire.ts'
import type { Acl } from '../address.ts'
import type { ZoneStore } from '../zone/store.ts'
import { packMessages, TYPE_AXFR, TYPE_IXFR, transferRecords } from './transfer.ts'
import { findTsig, sign, verifyRequest } from '../dns/tsig.ts'
import type { TsigKey } from '../dns/tsig.ts'

const RCODE_NOTAUTH = 9

export interface TransferOptions {
  readonly store: ZoneStore
  /** null: nobody may transfer. */
  readonly acl: Acl | null
  readonly key: TsigKey | null
  readonly log: Logger
}

export interface TransferStats {
  axfr: number
  ixfr: number
  refused: number
  badTsig: number
}

export function transferHook(o: TransferOptions, stats: TransferStats): HandoffHook {
  return (req: Buffer, reply: Reply, peer: Peer, tcp: boolean, respond: (msgs: readonly Buffer[]) => void): boolean => {
    const client = peer.address
    const question = Buffer.from(reply.head.subarray(12))
    const zone = readName(question, 0)?.name ?? null
    const kind = reply.qtype === TYPE_AXFR ? 'AXFR' : 'IXFR'
    if (o.acl === null || !o.acl.allows(client) || (reply.qtype === TYPE_AXFR && !tcp)) {
      stats.refused++
      o.log.info({ zone, kind, client, tcp }, 'zone transfer refused (INCUS_DNS_XFR_ALLOW, or AXFR over UDP)')
      return false
    }
    const view = readMessage(req)
    if (view === null) return false
    const id = req.readUInt16BE(0)
    const now = Math.floor(Date.now() / 1000)
    let requestMac: Buffer | null = null
    if (o.key !== null) {
      const tsig = findTsig(req)
      if (tsig === null) {
        stats.refused++
        o.log.info({ zone, kind, client }, 'unsigned zone transfer refused (INCUS_DNS_TSIG_KEY is set)')
        return false
      }
      const v = verifyRequest(req, o.key, now)
      if (!v.ok) {
        stats.badTsig++
        o.log.warn({ zone, kind, client, tsigError: v.error }, 'zone transfer with a bad TSIG refused')
        respond([sign(header(id, question, RCODE_NOTAUTH), o.key, { time: now, error: v.error }).msg])
        return true
      }
      requestMac = v.tsig.mac
    } else if (findTsig(req) !== null) {
      stats.refused++
      return false // signed with a key we do not have
    }

    const clientSerial = reply.qtype === TYPE_IXFR ? authoritySerial(req, view) : null
    let records = zone === null ? null : transferRecords(o.store, zone, reply.qtype, clientSerial)
    if (records === null) {
      respond([finish(header(id, question, RCODE_NOTAUTH), requestMac, o.key, now, false).msg])
      return true
    }
    if (!tcp && records.length > 1) records = records.slice(0, 1) // RFC 1995 2: the SOA alone sends it to TCP
    const wantsOpt = view.records.some((r) => r.type === 41)
    const msgs = packMessages(id, question, records, wantsOpt ? opt(false, 0) : null)
    const signed: Buffer[] = []
    let prior = requestMac
    msgs.forEach((m, i) => {
      const s = finish(m, prior, o.key, now, i > 0)
      signed.push(s.msg)
      prior = s.mac
    })
    if (kind === 'AXFR' || records.length > 1) {
      if (reply.qtype === TYPE_AXFR) stats.axfr++
      else stats.ixfr++
      o.log.info({ zone, kind, client, clientSerial, records: records.length, messages: signed.length }, 'zone transfer')
    }
    respond(signed)
    return true
  }
}

function finish(msg: Buffer, prior: Buffer | null, key: TsigKey | null, time: number, timersOnly: boolean): { msg: Buffer; mac: Buffer | null } {
  if (key === null) return { msg, mac: null }
  return sign(msg, key, { time, ...(prior !== null ? { priorMac: prior } : {}), timersOnly })
}

/** A response with no records. */
function header(id: number, question: Buffer, rcode: number): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(id, 0)
  head[2] = 0x80
  head[3] = rcode
  head.writeUInt16BE(1, 4)
  return Buffer.concat([head, question])
}

/** The serial of the SOA in an IXFR request's authority section (RFC 1995 3), or null. */
function authoritySerial(req: Buffer, view: NonNullable<ReturnType<typeof readMessage>>): number | null {
  const soa = view.records.find((r) => r.section === 1 && r.type === 6)
  if (soa === undefined) return null
  let off = skipName(req, soa.rdataOffset)
  if (off < 0) return null
  off = skipName(req, off)
  return off < 0 || off + 4 > soa.rdataOffset + soa.rdataLength ? null : req.readUInt32BE(off)
}
