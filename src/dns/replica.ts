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
  /** index, wire apex, SOA record */
  readonly negatives: [number, string, Uint8Array][]
}

export function encodeChanges(c: TableChanges): WireChanges {
  return {
    cleared: c.cleared,
    names: [...c.names],
    apexes: [...c.apexes],
    wildcards: [...c.wildcards],
    chase: [...c.chase],
    negatives: [...c.negatives].map((n) => [n.index, n.key, n.soa]),
  }
}

/** A structured clone arrives as a Uint8Array; the hot path sends the SOA as a Buffer. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Applies changes to a replica table. */
export function applyChanges(table: AnswerTable, w: WireChanges): void {
  for (const [index, key, soa] of w.negatives) {
    while (table.negatives.length <= index) table.addNegative('') // indexes arrive in any order
    table.negatives[index] = { key, index, soa: buf(soa) }
  }
  if (w.cleared) { table.names.clear(); table.apexes.clear(); table.wildcards.clear(); table.chase.clear() }
  for (const [k, e] of w.names) {
    if (e === null) table.names.delete(k)
    else table.names.set(k, e)
  }
  for (const [k, e] of w.apexes) {
    if (e === null) table.apexes.delete(k)
    else table.apexes.set(k, e)
  }
  for (const [k, e] of w.wildcards) {
    if (e === null) table.wildcards.delete(k)
    else table.wildcards.set(k, e)
  }
  for (const [k, e] of w.chase) {
    if (e === null) table.chase.delete(k)
    else table.chase.set(k, e)
  }
}
