/**
 * @module zone/precedence
 * What an owner name serves when several sources publish there: per type, zone files win over the catalog
 * zone's records, which win over dynamic updates, which win over Incus, and a
 * CNAME keeps its owner whole. Pure functions over one owner, so the store only keeps owners and calls these.
 */
import { SOURCE_PRECEDENCE } from './types.ts'
import type { Rec, SourceId, TypeName } from './types.ts'

/**
 * One owner name: what each source publishes there. A plain object with fixed fields rather than a Map: at
 * 100k names the Maps per owner were a third of the memory.
 */
export interface Owner {
  file: readonly Rec[] | null
  catalog: readonly Rec[] | null
  update: readonly Rec[] | null
  incus: readonly Rec[] | null
}

/** Whether any source publishes records at the owner. */
export function hasRecords(o: Owner): boolean {
  return o.file !== null || o.catalog !== null || o.update !== null || o.incus !== null
}

/**
 * The effective RRsets of an owner: per type, the first source in SOURCE_PRECEDENCE that has it wins; a CNAME
 * cannot share its owner with other data (RFC 1034 3.6.2), so a higher source with or against a CNAME keeps
 * the name whole. `shadowed` hears of every type a lower source loses.
 */
export function merged(o: Owner, shadowed?: (type: TypeName, winner: SourceId, loser: SourceId) => void): Map<TypeName, readonly Rec[]> | undefined {
  if (!hasRecords(o)) return undefined
  const sets = new Map<TypeName, readonly Rec[]>()
  let winner: SourceId | null = null
  for (const source of SOURCE_PRECEDENCE) {
    const recs = o[source]
    if (recs === null) continue
    const mine = groupByType(recs)
    if (winner !== null && (sets.has('CNAME') || mine.has('CNAME'))) {
      for (const type of mine.keys()) shadowed?.(type, winner, source)
      continue
    }
    for (const [type, set] of mine) {
      if (sets.has(type)) { shadowed?.(type, winner as SourceId, source); continue }
      sets.set(type, set)
    }
    winner ??= source
  }
  return sets
}

function groupByType(recs: readonly Rec[]): Map<TypeName, Rec[]> {
  const out = new Map<TypeName, Rec[]>()
  for (const r of recs) {
    const list = out.get(r.data.type)
    if (list === undefined) out.set(r.data.type, [r])
    else list.push(r)
  }
  return out
}
