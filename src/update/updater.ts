/**
 * @module update/updater
 * Answers a dynamic UPDATE (RFC 2136) end to end: read it (FORMERR when malformed), require a TSIG of one of
 * the update keys (REFUSED unsigned; NOTAUTH with BADKEY, BADSIG or BADTIME in the TSIG error, RFC 8945 5.2),
 * apply it (update/apply.ts) and commit all of it or nothing (update/dynamic.ts), and reply with the zone
 * section, signed with the request's key. Each refusal is logged once per key and reason; every outcome is
 * counted by rcode.
 */
import type { Logger } from 'pino'
import type { Peer } from '../dns/answer.ts'
import { BADKEY, BADSIG, BADTIME, findTsig, sign, verifyRequest } from '../dns/tsig.ts'
import type { TsigAlgorithm, TsigKey, TsigKeyring } from '../dns/tsig.ts'
import { skipName } from '../dns/wire.ts'
import type { ZoneStore } from '../zone/store.ts'
import type { Name } from '../zone/types.ts'
import { applyUpdate, RCODE } from './apply.ts'
import type { RcodeName } from './apply.ts'
import type { DynamicRecords } from './dynamic.ts'
import type { Grants } from './grants.ts'
import { readUpdate } from './message.ts'

export interface UpdaterOptions {
  /** The default view's store: what the prerequisites read (every view holds the same zones). */
  readonly store: ZoneStore
  readonly dynamic: DynamicRecords
  readonly keys: TsigKeyring
  readonly grants: Grants
  /** Added records get at most this TTL (s). */
  readonly maxTtl: number
  readonly log: Logger
  readonly now?: () => number
}

const TSIG_ERRORS: Record<number, string> = { [BADSIG]: 'BADSIG', [BADKEY]: 'BADKEY', [BADTIME]: 'BADTIME' }

export class Updater {
  readonly #o: UpdaterOptions
  readonly #now: () => number
  /** `key reason` pairs already logged: a refusal is logged once per key and reason. */
  readonly #logged = new Set<string>()
  /** Updates answered, by rcode name (lowercase). */
  readonly results = new Map<string, number>()

  constructor(options: UpdaterOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  /** The reply to an UPDATE message. */
  handle(req: Buffer, peer: Peer): Buffer {
    const now = this.#now()
    const seconds = Math.floor(now / 1000)
    const read = readUpdate(req)
    if (!read.ok) return this.#reply(req, 'FORMERR', null, null, seconds, { key: '-', reason: 'malformed', why: read.why, client: peer.address })
    const msg = read.message
    const tsig = findTsig(req)
    if (!msg.signed || tsig === null || tsig === 'malformed') {
      return this.#reply(req, 'REFUSED', null, null, seconds, { key: '-', reason: 'unsigned', why: 'an UPDATE must be signed with one of INCUS_DNS_UPDATE_KEYS', client: peer.address, zone: msg.zone })
    }
    const v = verifyRequest(req, this.#o.keys, seconds)
    if (!v.ok) {
      // The error goes back under the key named, even one we do not have (no MAC then, RFC 8945 5.3.2).
      const key: TsigKey = v.key ?? { name: tsig.keyName, secret: Buffer.alloc(0), algorithm: tsig.algorithm as TsigAlgorithm }
      const reason = TSIG_ERRORS[v.error] ?? 'tsig'
      return this.#reply(req, 'NOTAUTH', { key, error: v.error, priorMac: v.error === BADTIME ? tsig.mac : null }, null, seconds,
        { key: tsig.keyName, reason, why: `the TSIG of the UPDATE failed: ${reason}`, client: peer.address, zone: msg.zone })
    }
    const keyName = v.key.name
    const { store, dynamic, grants } = this.#o
    const outcome = applyUpdate(msg, {
      // The catalog zone (zone/catalog.ts) lists the zones served: it takes no updates, as if not ours (NOTAUTH).
      zoneOf: (n) => { const z = store.zoneOf(n); return z !== null && store.recordsOf('catalog', z) !== null ? null : z },
      rrsets: (n) => store.rrsets(n),
      dynamic: (n) => dynamic.at(n),
    }, {
      allows: (owner, type, apex) => grants.allows(keyName, owner, type, apex),
      allowsOwner: (owner) => grants.allowsOwner(keyName, owner),
      maxTtl: this.#o.maxTtl,
      now,
    })
    const signed = { key: v.key, error: 0, priorMac: v.tsig.mac }
    if (outcome.rcode !== 0) {
      const rcode = (Object.keys(RCODE) as RcodeName[]).find((k) => RCODE[k] === outcome.rcode) as RcodeName
      const reason = rcode === 'REFUSED' ? `not granted (INCUS_DNS_UPDATE_GRANTS: ${grants.describe(keyName)})` : rcode.toLowerCase()
      return this.#reply(req, rcode, signed, msg.zone, seconds, { key: keyName, reason, why: outcome.why, client: peer.address, zone: msg.zone })
    }
    dynamic.commit(outcome.changes)
    const names = [...outcome.changes.keys()]
    this.#o.log.info({ key: keyName, zone: msg.zone, client: peer.address, names: names.slice(0, 5), ...(names.length > 5 ? { nameCount: names.length } : {}) }, 'dynamic update applied')
    return this.#reply(req, 'NOERROR', signed, msg.zone, seconds, null)
  }

  /** The reply: the request's header and zone section (when readable) with `rcode`, signed when a key verified. */
  #reply(req: Buffer, rcode: RcodeName, tsig: { key: TsigKey; error: number; priorMac: Buffer | null } | null, zone: Name | null,
    seconds: number, refusal: { key: string; reason: string; why: string; client: string; zone?: string } | null): Buffer {
    this.results.set(rcode.toLowerCase(), (this.results.get(rcode.toLowerCase()) ?? 0) + 1)
    if (refusal !== null) {
      const id = `${refusal.key} ${refusal.reason}`
      if (!this.#logged.has(id)) {
        this.#logged.add(id)
        this.#o.log.warn({ ...refusal, rcode }, 'dynamic update refused')
      }
    }
    const zoneEnd = zone === null ? -1 : skipName(req, 12)
    const question = zoneEnd < 0 ? Buffer.alloc(0) : req.subarray(12, zoneEnd + 4)
    const head = Buffer.alloc(12)
    head.writeUInt16BE(req.readUInt16BE(0), 0)
    head[2] = 0x80 | ((req[2] as number) & 0x78) // QR, the opcode (UPDATE)
    head[3] = RCODE[rcode]
    head.writeUInt16BE(question.length > 0 ? 1 : 0, 4)
    const msg = Buffer.concat([head, question])
    if (tsig === null) return msg
    return sign(msg, tsig.key, { time: seconds, error: tsig.error, ...(tsig.priorMac !== null ? { priorMac: tsig.priorMac } : {}) }).msg
  }
}
