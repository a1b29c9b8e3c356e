/**
 * @module dns/replica
 * Copies answer-table changes to worker threads. Entries are bytes (zone/table.ts), so they travel as
 * they are; each zone's negative SOA travels with its index, which entries name, so a serial bump is one
 * swapped Buffer in every replica.
 */
import type { AnswerTable, TableChanges } from '../zone/table.ts'

export interface WireChanges {
  readonly cleared: boolean
  readonly names: [string, Uint8Array | null][]
  readonly apexes: [string, Uint8Array | null][]
  readonly wildcards: [string, Uint8Array | null][]
  readonly chase: [string, Uint8Array | null][]
  /** index, wire apex, SOA record (and its RRSIGs), records in it */
  readonly negatives: [number, string, Uint8Array, number][]
}

export function encodeChanges(c: TableChanges): WireChanges {
  return {
    cleared: c.cleared,
    names: [...c.names],
    apexes: [...c.apexes],
    wildcards: [...c.wildcards],
    chase: [...c.chase],
    negatives: [...c.negatives].map((n) => [n.index, n.key, n.soa, n.count]),
  }
}

/** A structured clone arrives as a Uint8Array; the hot path sends the SOA as a Buffer. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Applies changes to a replica table. */
export function applyChanges(table: AnswerTable, w: WireChanges): void {
  for (const [index, key, soa, count] of w.negatives) {
    while (table.negatives.length <= index) table.addNegative('') // indexes arrive in any order
    table.negatives[index] = { key, index, soa: buf(soa), count }
  }
  // Each name table of the answer table, with its changes; a cleared table is emptied first.
  const pairs = [[table.names, w.names], [table.apexes, w.apexes], [table.wildcards, w.wildcards], [table.chase, w.chase]] as const
  for (const [names, changes] of pairs) {
    if (w.cleared) names.clear()
    for (const [k, e] of changes) {
      if (e === null) names.delete(k)
      else names.set(k, e)
    }
  }
}
