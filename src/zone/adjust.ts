/**
 * @module zone/adjust
 * What a name's entry says about the names below it, worked out when the zone changes (Knot's adjust step)
 * so that a query does no more than look up: a miss walks up once to the closest encloser and reads its
 * flag (zone/table.ts BELOW_*). Today: whether a wildcard `*.<name>` exists (RFC 4592).
 */
import { BELOW_NXDOMAIN, BELOW_WILDCARD } from './table.ts'
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

/** The flag of a name's entry, from what the store knows of the names below it. */
export function belowFlag(hasWildcardChild: boolean): number {
  return hasWildcardChild ? BELOW_WILDCARD : BELOW_NXDOMAIN
}
