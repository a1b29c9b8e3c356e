/**
 * @module incus/naming/zones
 * The zones the Incus source serves without a zone file: the suffix zone and the reverse zones of the
 * managed networks' subnets (or of INCUS_DNS_REVERSE_ZONES), each with a generated SOA and NS, and dropped
 * when no network wants them any more. A zone file for the same apex wins: it is never overwritten.
 */
import type { Logger } from 'pino'
import type { ZoneWriter } from '../../zone/zone-writer.ts'
import type { Name, Rec } from '../../zone/types.ts'
import type { Network } from '../api/types.ts'
import { networkSubnets, reverseZones } from './reverse.ts'

export type ReverseSetting = { readonly mode: 'auto' } | { readonly mode: 'off' } | { readonly mode: 'list'; readonly cidrs: readonly string[] }

/** The reverse zone apexes the setting asks for, given the managed networks (for 'auto'). */
export function wantedReverseZones(reverse: ReverseSetting, networks: readonly Network[]): Set<Name> {
  const cidrs = reverse.mode === 'list' ? reverse.cidrs : reverse.mode === 'auto' ? networks.flatMap((n) => networkSubnets(n.config)) : []
  return new Set<Name>(cidrs.flatMap((c) => reverseZones(c)))
}

export class OwnZones {
  readonly #made = new Set<Name>()
  readonly #zone: ZoneWriter
  readonly #suffix: Name | null
  readonly #ttl: number
  readonly #log: Logger

  constructor(zone: ZoneWriter, suffix: Name | null, ttl: number, log: Logger) {
    this.#zone = zone
    this.#suffix = suffix
    this.#ttl = ttl
    this.#log = log
  }

  /** Makes the suffix zone and each of `reverse` that neither we nor a zone file serve yet. */
  ensure(reverse: Iterable<Name>): void {
    const zone = this.#zone
    zone.batch(() => {
      for (const apex of [...(this.#suffix !== null ? [this.#suffix] : []), ...reverse]) {
        if (this.#made.has(apex) || zone.zoneOf(apex) === apex) continue // ours already, or a zone file's
        zone.setOwner('incus', apex, synthesizedApex(apex, this.#suffix, this.#ttl))
        this.#made.add(apex)
        this.#log.info({ zone: apex }, 'serving zone with generated SOA/NS (no zone file defines it)')
      }
    })
  }

  /** Stops serving the reverse zones made here that are not in `keep` (their network is gone); never the suffix zone. */
  prune(keep: ReadonlySet<Name>): void {
    const gone = [...this.#made].filter((apex) => apex !== this.#suffix && !keep.has(apex))
    if (gone.length === 0) return
    const zone = this.#zone
    zone.batch(() => {
      for (const apex of gone) {
        zone.removeOwner('incus', apex)
        this.#made.delete(apex)
      }
    })
    this.#log.info({ zones: gone }, 'no longer serving reverse zones no network wants any more')
  }
}

/** SOA and NS for a zone no file defines. Negative answers are cached no longer than instance records live. */
function synthesizedApex(apex: Name, suffix: Name | null, ttl: number): Rec[] {
  const ns = `ns.${suffix ?? apex}`
  return [
    // Time-based from the start, so that a restart never serves a serial lower than the last run's.
    { name: apex, ttl: 3600, data: { type: 'SOA', mname: ns, rname: `hostmaster.${suffix ?? apex}`, serial: Math.floor(Date.now() / 1000), refresh: 3600, retry: 600, expire: 86400, minimum: ttl } },
    { name: apex, ttl: 3600, data: { type: 'NS', target: ns } },
  ]
}
