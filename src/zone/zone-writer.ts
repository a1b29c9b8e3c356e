/**
 * @module zone/zone-writer
 * What a source of records (zone files, the catalog, dynamic updates, Incus) may do to the zone, and what it
 * hears when another source wins a name and type: the store's face towards its sources, apart from the store.
 */
import type { Name, Rec, SourceId, TypeName } from './types.ts'

/** What a source (zone files, Incus) may do to the zone. */
export interface ZoneWriter {
  /** Replaces everything `source` publishes at `name`; [] removes it. Zone files win over Incus per type. */
  setOwner(source: SourceId, name: Name, recs: readonly Rec[]): void
  removeOwner(source: SourceId, name: Name): void
  /** Applies many changes as one: one serial bump per zone, each touched name recompiled once. */
  batch(apply: () => void): void
  /** The apex of the closest zone holding `name`, or null when no zone does. */
  zoneOf(name: Name): Name | null
  /** What `source` publishes at `name` (canonical name), as the store keeps it; null when nothing. */
  recordsOf(source: SourceId, name: Name): readonly Rec[] | null
  /** Every name `source` publishes records at. */
  namesOf(source: SourceId): Name[]
}

/** Called when two sources publish the same name and type and the higher-precedence one wins. */
export type ShadowListener = (name: Name, type: TypeName, winner: SourceId, loser: SourceId) => void
