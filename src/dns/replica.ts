/**
 * @module dns/replica
 * Copies answer-table changes to worker threads. Compiled answers travel as plain objects (structured clone
 * keeps objects shared within one message, so ANY and A stay one answer); each zone's negative SOA holder is
 * named by its apex, so a replica re-links answers to its own holder and a serial bump updates them all.
 */
import type { AnswerTable, Compiled, NameEntry, TableChanges, ZoneNegative } from '../zone/table.ts'

interface WireCompiled {
  readonly rcode: number
  readonly an: number
  readonly ar: number
  readonly body: Uint8Array
  /** Length of the body without the additional section. */
  readonly nb: number
  readonly neg: string | null
  readonly rot: readonly Uint8Array[] | null
}

export interface WireChanges {
  readonly cleared: boolean
  /** Each entry in NameEntry's layout, answers encoded. */
  readonly names: [string, readonly (number | WireCompiled)[] | null][]
  readonly apexes: [string, WireCompiled | null][]
  readonly negatives: [string, Uint8Array][]
}

export function encodeChanges(c: TableChanges): WireChanges {
  const seen = new Map<Compiled, WireCompiled>()
  const enc = (x: Compiled): WireCompiled => {
    let w = seen.get(x)
    if (w === undefined) {
      w = { rcode: x.rcode, an: x.an, ar: x.ar, body: x.body, nb: x.bodyNoAdditional.length, neg: x.negative?.key ?? null, rot: x.rotations }
      seen.set(x, w)
    }
    return w
  }
  return {
    cleared: c.cleared,
    names: [...c.names].map(([k, e]) => [k, e === null ? null : e.map((x) => (typeof x === 'number' ? x : enc(x)))]),
    apexes: [...c.apexes].map(([k, x]) => [k, x === null ? null : enc(x)]),
    negatives: [...c.negatives].map((n) => [n.key, n.soa]),
  }
}

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Applies changes to a replica table; `negatives` holds the replica's SOA holders by apex. */
export function applyChanges(table: AnswerTable, negatives: Map<string, ZoneNegative>, w: WireChanges): void {
  for (const [key, soa] of w.negatives) {
    const holder = negatives.get(key)
    if (holder === undefined) negatives.set(key, { key, soa: buf(soa) })
    else holder.soa = buf(soa)
  }
  const seen = new Map<WireCompiled, Compiled>()
  const dec = (x: WireCompiled): Compiled => {
    let c = seen.get(x)
    if (c === undefined) {
      let neg: ZoneNegative | null = null
      if (x.neg !== null) {
        neg = negatives.get(x.neg) ?? { key: x.neg, soa: Buffer.alloc(0) }
        negatives.set(x.neg, neg)
      }
      const body = buf(x.body)
      // Same field order as zone/table.ts compiled(): one hidden class for the hot path.
      c = { rcode: x.rcode, an: x.an, ar: x.ar, body, bodyNoAdditional: x.nb === body.length ? body : body.subarray(0, x.nb), negative: neg, rotations: x.rot === null ? null : x.rot.map(buf) }
      seen.set(x, c)
    }
    return c
  }
  if (w.cleared) { table.names.clear(); table.apexes.clear() }
  for (const [k, e] of w.names) {
    if (e === null) table.names.delete(k)
    else table.names.set(k, e.map((x) => (typeof x === 'number' ? x : dec(x))) satisfies NameEntry)
  }
  for (const [k, x] of w.apexes) {
    if (x === null) table.apexes.delete(k)
    else table.apexes.set(k, dec(x))
  }
}
