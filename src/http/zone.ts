/**
 * @module http/zone
 * The live zone as JSON for /zone: every zone with its serial, every record with where it came from (a zone
 * file, or Incus with the instances that claim the name).
 */
import type { InstanceRecords } from '../incus/naming/records.ts'
import type { ZoneStore } from '../zone/store.ts'
import { SOURCE_PRECEDENCE } from '../zone/types.ts'

export function zoneDump(store: ZoneStore, incus: InstanceRecords | null): unknown {
  const records = store.names().sort().flatMap((name) => {
    const published = store.published(name)
    return store.records(name).map((rec) => {
      const source = SOURCE_PRECEDENCE.find((s) => published.get(s)?.some((r) => r.data.type === rec.data.type)) ?? 'file'
      const { type, ...data } = rec.data
      return {
        name, type, ttl: rec.ttl, data, source,
        ...(source === 'incus' && incus !== null ? { instances: incus.claimsOf(name) } : {}),
      }
    })
  })
  return { zones: store.zones().sort().map((zone) => ({ zone, serial: store.serial(zone) })), records }
}
