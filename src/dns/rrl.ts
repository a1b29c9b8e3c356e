/**
 * @module dns/rrl
 * Response rate limiting for UDP (Vixie and Schryver's RRL, as BIND, NSD and Knot ship it): a client prefix
 * (IPv4 /24, IPv6 /56 by default) gets at most `rate` responses per second of each kind; past that, responses
 * are dropped, but every `slip`-th one goes out as an empty TC reply, so a real client retries over TCP and a
 * spoofed victim gets less than the attacker sent.
 *
 * A kind is the response itself: its rcode and its bytes after the question (answer, authority, additional),
 * hashed. So an NXDOMAIN or a NODATA is counted by its zone (its authority is the zone's SOA), a referral by
 * its cut (the cut's NS), every answer under one wildcard together (its records point at the question), and
 * an error by its rcode. Buckets live in a bounded LRU table: a flood of random sources evicts the oldest.
 * TCP is never limited, nor exempt ranges, nor a client that proved its address with a DNS cookie.
 */
import { LRUCache } from 'lru-cache'
import { FNV_OFFSET, fnvStep } from '../zone/name-table.ts'
import type { Acl } from '../address.ts'
import { addressBytes } from './peer.ts'

export const RRL_SEND = 0
export const RRL_DROP = 1
export const RRL_SLIP = 2
export type RrlVerdict = typeof RRL_SEND | typeof RRL_DROP | typeof RRL_SLIP

export interface RrlOptions {
  /** Responses per second per prefix and kind; more than 0 (0 turns rate limiting off before it gets here). */
  readonly rate: number
  /** Every slip-th limited response goes out as an empty TC reply; 0: none does, 1: all do. */
  readonly slip: number
  readonly ipv4Prefix: number
  readonly ipv6Prefix: number
  /** Never limited (your resolvers). */
  readonly exempt: Acl | null
  /** Count what would be limited, and answer anyway. */
  readonly logOnly: boolean
  /** Buckets kept at most (each ~100 bytes). */
  readonly entries?: number
}

interface Bucket {
  /** Responses it may still send now (refilled at `rate` a second, up to `rate`). */
  tokens: number
  /** When tokens was last worked out (ms). */
  at: number
  /** Responses limited so far, for the slip count. */
  limited: number
}

/** Bytes of each section hashed at most: enough to tell responses apart, bounded work per query. */
const HASHED = 256

export class Rrl {
  readonly options: RrlOptions
  readonly #buckets: LRUCache<number, Bucket>

  constructor(options: RrlOptions) {
    this.options = options
    this.#buckets = new LRUCache<number, Bucket>({ max: options.entries ?? 65_536 })
  }

  /** How many buckets are held (for tests and the status of memory). */
  get size(): number { return this.#buckets.size }

  /**
   * What to do with the response about to go to `address`: its header (the rcode) and the bytes after the
   * question. `now` in ms (a monotonic clock).
   */
  check(address: string, head: Buffer, sections: readonly Buffer[], now: number): RrlVerdict {
    const o = this.options
    if (o.exempt !== null && o.exempt.allows(address)) return RRL_SEND
    const ip = addressBytes(address)
    if (ip === null) return RRL_SEND
    // The key: the client's prefix (masked), its family, the rcode, and the response's bytes.
    const bits = ip.length === 4 ? o.ipv4Prefix : o.ipv6Prefix
    let h = fnvStep(FNV_OFFSET, ip.length)
    for (let i = 0; i * 8 < bits; i++) {
      const keep = bits - i * 8 >= 8 ? 0xff : (0xff << (8 - (bits - i * 8))) & 0xff
      h = fnvStep(h, (ip[i] as number) & keep)
    }
    const rcode = (head[3] as number) & 0x0f
    h = fnvStep(h, rcode)
    for (const s of sections) {
      for (let i = 0, end = s.length < HASHED ? s.length : HASHED; i < end; i++) h = fnvStep(h, s[i] as number)
      h = fnvStep(h, 0x5a) // a section boundary: [ab][c] and [a][bc] differ
    }
    let b = this.#buckets.get(h)
    if (b === undefined) {
      b = { tokens: o.rate, at: now, limited: 0 }
      this.#buckets.set(h, b)
    } else {
      const refill = ((now - b.at) * o.rate) / 1000
      b.tokens = b.tokens + refill > o.rate ? o.rate : b.tokens + refill
      b.at = now
    }
    if (b.tokens >= 1) { b.tokens -= 1; return RRL_SEND }
    b.limited++
    return o.slip > 0 && b.limited % o.slip === 0 ? RRL_SLIP : RRL_DROP
  }
}

/** Turns the response in place into an empty TC reply: the header and question, and the OPT if any. */
export function slipped(head: Buffer, hasOpt: boolean): void {
  head[2] = (head[2] as number) | 0x02
  head.writeUInt16BE(0, 6)
  head.writeUInt16BE(0, 8)
  head.writeUInt16BE(hasOpt ? 1 : 0, 10)
}
