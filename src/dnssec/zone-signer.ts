/**
 * @module dnssec/zone-signer
 * The zone core's signer hook (zone/signer.ts) made of the key folder: each zone's DNSKEY, CDS and CDNSKEY
 * (RFC 7344: the parent may take its DS from them), and the RRSIGs over its RRsets with every active key.
 * Signatures hold for a window that moves in steps of the refresh interval, so one signed now holds at least
 * the validity less that interval, and the same RRset signed twice in a step is signed once (a bounded cache): a
 * recompile of an unchanged name, or the apex at each serial bump, costs a lookup, not a signature.
 */
import { LRUCache } from 'lru-cache'
import type { ZoneSigner } from '../zone/signer.ts'
import type { Name, Rec } from '../zone/types.ts'
import { activeKeys, publishedKeys } from './key-store.ts'
import type { KeyStore, TimedKey } from './key-store.ts'
import { dsRdata } from './keys.ts'
import type { SigningKey } from './keys.ts'
import { signature, signedData } from './sign.ts'
import type { Validity } from './sign.ts'

/** How far back inception goes: a validator whose clock is behind still accepts (RFC 6781 4.4.2.2). */
export const INCEPTION_BACKDATE = 3600

export interface SignerOptions {
  /** How long a signature holds, in seconds. */
  readonly validity: number
  /** How often everything is signed again, in seconds; less than `validity` (default: half of it). */
  readonly refresh?: number
  /** TTL of the DNSKEY, CDS and CDNSKEY RRsets. */
  readonly dnskeyTtl: number
  /** Seconds since the epoch. */
  readonly now?: () => number
  /** Signatures kept for reuse. */
  readonly cacheSize?: number
}

/** The validity window at `now`: starts at a multiple of `refresh` (half `validity` by default), less the backdating. */
export function validityAt(now: number, validity: number, refresh = Math.floor(validity / 2)): Validity {
  const step = Math.max(1, refresh)
  const start = Math.floor(now / step) * step
  return { inception: start - INCEPTION_BACKDATE, expiration: start + validity }
}

export class DnssecSigner implements ZoneSigner {
  readonly #keys: KeyStore
  readonly #o: SignerOptions
  readonly #now: () => number
  /** Per zone: its keys, read (or made) once. */
  readonly #zoneKeys = new Map<Name, TimedKey[]>()
  readonly #apex = new Map<Name, readonly Rec[]>()
  readonly #cache: LRUCache<string, Rec>
  /** Signatures made (not taken from the cache), for the metrics. */
  made = 0

  constructor(keys: KeyStore, o: SignerOptions) {
    this.#keys = keys
    this.#o = o
    this.#now = o.now ?? (() => Math.floor(Date.now() / 1000))
    this.#cache = new LRUCache({ max: o.cacheSize ?? 200_000 })
  }

  /** The keys of `apex`, made and written at its first use. */
  keysOf(apex: Name): TimedKey[] {
    let keys = this.#zoneKeys.get(apex)
    if (keys === undefined) { keys = this.#keys.ensure(apex); this.#zoneKeys.set(apex, keys) }
    return keys
  }

  /** The keys that sign `apex`'s RRsets now. */
  signingKeys(apex: Name): SigningKey[] {
    return activeKeys(this.keysOf(apex), this.#now())
  }

  /** The validity signatures made now get. */
  validity(): Validity {
    return validityAt(this.#now(), this.#o.validity, this.#o.refresh)
  }

  apexRecords(apex: Name): readonly Rec[] {
    let recs = this.#apex.get(apex)
    if (recs === undefined) {
      const ttl = this.#o.dnskeyTtl
      const published = publishedKeys(this.keysOf(apex), this.#now())
      recs = [
        ...published.map((k): Rec => ({ name: apex, ttl, data: { type: 'DNSKEY', hex: k.dnskey.toString('hex') } })),
        // CDS and CDNSKEY say which keys the parent's DS should name: the active ones (RFC 7344 4).
        ...this.signingKeys(apex).flatMap((k): Rec[] => [
          { name: apex, ttl, data: { type: 'CDS', hex: dsRdata(apex, k.dnskey).toString('hex') } },
          { name: apex, ttl, data: { type: 'CDNSKEY', hex: k.dnskey.toString('hex') } },
        ]),
      ]
      this.#apex.set(apex, recs)
    }
    return recs
  }

  sign(apex: Name, rrset: readonly Rec[], ttl: number): readonly Rec[] {
    const validity = this.validity()
    const out: Rec[] = []
    for (const key of this.signingKeys(apex)) {
      const { head, data } = signedData(rrset, ttl, key, validity)
      const cacheKey = data.toString('latin1')
      let sig = this.#cache.get(cacheKey)
      if (sig === undefined) {
        sig = { name: (rrset[0] as Rec).name, ttl, data: { type: 'RRSIG', hex: Buffer.concat([head, signature(key, data)]).toString('hex') } }
        this.#cache.set(cacheKey, sig)
        this.made++
      }
      out.push(sig)
    }
    return out
  }
}
