/**
 * @module zone/adjust
 * What a name's entry says about the names below it, worked out when the zone changes (Knot's adjust step)
 * so that a query does no more than look up: a miss walks up once to the closest encloser and reads its
 * flag (zone/table.ts BELOW_*): whether a wildcard `*.<name>` exists (RFC 4592), or the name is at or below a
 * zone cut (a referral for whatever is asked below it).
 */
import { BELOW_DNAME, BELOW_NXDOMAIN, BELOW_SYNTHESIZED } from './table.ts'
import { readName } from './name.ts'
import type { Name } from './types.ts'

/** The wildcard owner whose answers names below `name` get: `*.<name>`. */
export function wildcardOwner(name: Name): Name {
  return name === '' ? '*' : `*.${name}`
}

/** For a wildcard owner `*.P`, P (the name its synthesised entry is filed under); null for any other name. */
export function wildcardParent(name: Name): Name | null {
  if (name === '*') return ''
  return name.startsWith('*.') ? name.slice(2) : null
}

/** The flag of a name's entry: what misses below it get from its entry in `wildcards`, if anything. */
export function belowFlag(hasWildcardChild: boolean, atOrBelowCut: boolean, ownsDname: boolean): number {
  if (atOrBelowCut) return BELOW_SYNTHESIZED // a referral, whatever else is there
  if (ownsDname) return BELOW_DNAME
  return hasWildcardChild ? BELOW_SYNTHESIZED : BELOW_NXDOMAIN
}

/**
 * A DNAME owner's entry for the names below it: [u32 TTL][u16 1 + the target zone's negative index, or 0 when
 * the target is in none of our zones][target in wire form] (the RDATA is that wire form).
 */
export function dnameEntry(ttl: number, rdataHex: string, targetZoneNegative: number | null): Uint8Array {
  const target = Buffer.from(rdataHex, 'hex')
  const out = Buffer.alloc(6 + target.length)
  out.writeUInt32BE(ttl >>> 0, 0)
  out.writeUInt16BE(targetZoneNegative === null ? 0 : targetZoneNegative + 1, 4)
  target.copy(out, 6)
  return out
}

/** A DNAME's target, from its RDATA (a name in wire form). */
export function dnameTarget(rdataHex: string): Name {
  return readName(Buffer.from(rdataHex, 'hex'), 0)
}
