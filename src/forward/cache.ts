/**
 * @module forward/cache
 * The forwarding cache (lru-cache), bounded by entries and bytes. Keeps each answer as received (OPT removed:
 * it is hop-by-hop) with the TTL positions and a monotonic insert time; on the way out the TTLs count down
 * (CoreDNS plugin/cache/item.go does the same). Positive TTL: the smallest in the answer; negative: from the
 * SOA (RFC 2308 5); both capped. SERVFAIL and other failures are not cached.
 */
import { LRUCache } from 'lru-cache'
import type { MessageView } from '../dns/wire.ts'
import { soaMinimum } from '../dns/wire.ts'

export interface CacheEntry {
  /** The upstream's message without OPT records. */
  readonly msg: Buffer
  readonly storedAt: number
  /** Seconds it stays fresh. */
  readonly ttl: number
  readonly ttlOffsets: readonly number[]
  readonly ttls: readonly number[]
}

/** Average bytes per entry behind the byte bound: entries × this. */
const BYTES_PER_ENTRY = 2048

export class ForwardCache {
  readonly #lru: LRUCache<string, CacheEntry> | null
  readonly #maxTtl: number
  readonly #now: () => number

  constructor(entries: number, maxTtlSeconds: number, now: () => number = () => performance.now() / 1000) {
    this.#lru = entries === 0 ? null : new LRUCache<string, CacheEntry>({
      max: entries, maxSize: entries * BYTES_PER_ENTRY, sizeCalculation: (e) => e.msg.length + 64,
    })
    this.#maxTtl = maxTtlSeconds
    this.#now = now
  }

  get size(): number { return this.#lru?.size ?? 0 }

  /**
   * A copy of the cached message with TTLs counted down and `room` bytes to spare at its end (for the
   * client's OPT, so a hit is one allocation), or undefined (also when expired).
   */
  get(key: string, room = 0): Buffer | undefined {
    const e = this.#lru?.get(key)
    if (e === undefined) return undefined
    const elapsed = Math.floor(this.#now() - e.storedAt)
    if (elapsed >= e.ttl) { this.#lru?.delete(key); return undefined }
    const out = Buffer.allocUnsafe(e.msg.length + room)
    e.msg.copy(out, 0)
    e.ttlOffsets.forEach((off, i) => out.writeUInt32BE(Math.max(0, (e.ttls[i] as number) - elapsed), off))
    return out
  }

  /** Stores `msg` (OPT already removed, described by `view`) when it is cacheable. Returns the TTL used, or 0. */
  put(key: string, msg: Buffer, view: MessageView): number {
    if (this.#lru === null) return 0
    const ttl = Math.min(cacheTtl(msg, view) ?? 0, this.#maxTtl)
    if (ttl <= 0) return 0
    const records = view.records
    this.#lru.set(key, { msg, storedAt: this.#now(), ttl, ttlOffsets: records.map((r) => r.ttlOffset), ttls: records.map((r) => r.ttl) })
    return ttl
  }
}

/** How long an answer may be cached, or null when it may not be. */
export function cacheTtl(msg: Buffer, view: MessageView): number | null {
  const answers = view.records.filter((r) => r.section === 0)
  if (view.rcode === 0 && answers.length > 0) return Math.min(...answers.map((r) => r.ttl))
  if (view.rcode === 0 || view.rcode === 3) {
    // NODATA / NXDOMAIN: min(SOA TTL, SOA MINIMUM) from the authority section; without a SOA, not at all.
    const soa = view.records.find((r) => r.section === 1 && r.type === 6)
    if (soa === undefined) return null
    const minimum = soaMinimum(msg, soa)
    return minimum === null ? null : Math.min(soa.ttl, minimum)
  }
  return null
}
