/**
 * @module update/apply
 * RFC 2136 §3 on a read UPDATE, after its TSIG was verified: the zone must be one we serve (NOTAUTH), the
 * prerequisites must hold against the zone as served (§3.2: all five kinds; NXDOMAIN, YXDOMAIN, NXRRSET,
 * YXRRSET), the key must be granted every change (REFUSED), every update must be well-formed and inside the
 * zone (§3.4.1: FORMERR, NOTZONE). Then the update section is applied in order (§3.4.2: add, delete an RRset,
 * delete every RRset of a name, delete one RR) to a copy of the dynamic records, checked as the store would
 * check them, and handed back whole: the caller commits all of it or nothing. An update changes only records
 * updates made; zone files' and Incus's records are read by the prerequisites, never changed. Pure.
 */
import { ZoneDataError } from '../errors.ts'
import { checkOwnerRecords, rdataKey } from '../zone/check.ts'
import { isAtOrBelow } from '../zone/name.ts'
import { typeName } from '../zone/types.ts'
import type { Name, Rec, TypeName } from '../zone/types.ts'
import type { DynamicRecord } from './dynamic.ts'
import { CLASS_ANY, CLASS_IN, CLASS_NONE, META_TYPES, TYPE_ANY } from './message.ts'
import type { UpdateMessage, UpdateRecord } from './message.ts'

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const
export type RcodeName = keyof typeof RCODE

/** What the update reads of the zone as served (every source merged), and of the updates' own records. */
export interface UpdateZone {
  zoneOf(name: Name): Name | null
  /** The RRsets served at a name, or undefined when it has none. */
  rrsets(name: Name): ReadonlyMap<TypeName, readonly Rec[]> | undefined
  /** What updates made at a name. */
  dynamic(name: Name): readonly DynamicRecord[]
}

export interface UpdatePolicy {
  /** Whether the key may change records of this type at this owner. */
  allows(owner: Name, type: TypeName, apex: Name): boolean
  /** Whether the key may change records of some type at this owner (a delete of every RRset there). */
  allowsOwner(owner: Name): boolean
  readonly maxTtl: number
  readonly now: number
}

export type UpdateOutcome =
  | { readonly rcode: 0; readonly changes: ReadonlyMap<Name, readonly DynamicRecord[]> }
  | { readonly rcode: Exclude<(typeof RCODE)[RcodeName], 0>; readonly why: string }

const fail = (rcode: Exclude<(typeof RCODE)[RcodeName], 0>, why: string): UpdateOutcome => ({ rcode, why })

/** Whether `name` is in the zone `apex` (and not in another zone below it that we also serve). */
function inZone(zone: UpdateZone, name: Name, apex: Name): boolean {
  return isAtOrBelow(name, apex) && zone.zoneOf(name) === apex
}

export function applyUpdate(msg: UpdateMessage, zone: UpdateZone, policy: UpdatePolicy): UpdateOutcome {
  const apex = msg.zone
  // §3.1: a zone of ours, of class IN.
  if (msg.zoneClass !== CLASS_IN || zone.zoneOf(apex) !== apex) return fail(RCODE.NOTAUTH, `${apex} is not a zone incus-dns serves`)

  // §3.2: prerequisites, against the zone as served.
  const valueSets = new Map<string, { name: Name; type: TypeName; keys: Set<string> }>()
  for (const p of msg.prerequisites) {
    if (p.ttl !== 0) return fail(RCODE.FORMERR, `a prerequisite for ${p.name} has a TTL`)
    if (!inZone(zone, p.name, apex)) return fail(RCODE.NOTZONE, `the prerequisite name ${p.name} is not in ${apex}`)
    const sets = zone.rrsets(p.name)
    const t = typeName(p.type)
    if (p.class === CLASS_ANY || p.class === CLASS_NONE) {
      if (p.data !== null) return fail(RCODE.FORMERR, `a prerequisite of class ${p.class === CLASS_ANY ? 'ANY' : 'NONE'} for ${p.name} has RDATA`)
      const inUse = sets !== undefined && sets.size > 0
      const exists = p.type === TYPE_ANY ? inUse : (sets?.get(t)?.length ?? 0) > 0
      if (p.class === CLASS_ANY && !exists) return p.type === TYPE_ANY ? fail(RCODE.NXDOMAIN, `${p.name} is not in use`) : fail(RCODE.NXRRSET, `${p.name} has no ${t}`)
      if (p.class === CLASS_NONE && exists) return p.type === TYPE_ANY ? fail(RCODE.YXDOMAIN, `${p.name} is in use`) : fail(RCODE.YXRRSET, `${p.name} has ${t}`)
      continue
    }
    if (p.class !== CLASS_IN || p.data === null || META_TYPES.has(p.type)) return fail(RCODE.FORMERR, `a prerequisite for ${p.name} is neither of class ANY, NONE nor the zone's with RDATA`)
    const k = `${p.name} ${t}`
    const set = valueSets.get(k) ?? { name: p.name, type: t, keys: new Set<string>() }
    try { set.keys.add(rdataKey(p.data)) } catch (err) { return fail(RCODE.FORMERR, (err as Error).message) }
    valueSets.set(k, set)
  }
  for (const { name, type, keys } of valueSets.values()) {
    // "RRset exists (value dependent)": the RRset is exactly the one given (§3.2.3).
    const have = new Set((zone.rrsets(name)?.get(type) ?? []).map((r) => rdataKey(r.data)))
    if (have.size !== keys.size || [...keys].some((k) => !have.has(k))) return fail(RCODE.NXRRSET, `${name} ${type} is not the RRset the prerequisite gives`)
  }

  // §3.4.1: prescan, and §3.3: the key's grants for each change.
  for (const u of msg.updates) {
    if (!inZone(zone, u.name, apex)) return fail(RCODE.NOTZONE, `${u.name} is not in ${apex}`)
    const t = typeName(u.type)
    if (u.class === CLASS_IN) {
      if (META_TYPES.has(u.type) || u.data === null) return fail(RCODE.FORMERR, `an add at ${u.name} is of a meta type or has no RDATA`)
    } else if (u.class === CLASS_ANY) {
      if (u.ttl !== 0 || u.data !== null || (META_TYPES.has(u.type) && u.type !== TYPE_ANY)) return fail(RCODE.FORMERR, `a delete at ${u.name} (class ANY) has a TTL, RDATA or a meta type`)
    } else if (u.class === CLASS_NONE) {
      if (u.ttl !== 0 || META_TYPES.has(u.type) || u.data === null) return fail(RCODE.FORMERR, `a delete of one RR at ${u.name} (class NONE) has a TTL, a meta type or no RDATA`)
    } else {
      return fail(RCODE.FORMERR, `an update at ${u.name} is neither of the zone's class, ANY nor NONE`)
    }
    const denied = u.type === TYPE_ANY ? !policy.allowsOwner(u.name) : !policy.allows(u.name, t, apex)
    if (denied) return fail(RCODE.REFUSED, `${u.class === CLASS_IN ? 'adding' : 'deleting'} ${u.type === TYPE_ANY ? 'every record' : t} at ${u.name} is not granted to this key`)
  }

  // §3.4.2: in order, on a copy of the updates' own records.
  const staged = new Map<Name, DynamicRecord[]>()
  const at = (name: Name): DynamicRecord[] => {
    let recs = staged.get(name)
    if (recs === undefined) { recs = [...zone.dynamic(name)]; staged.set(name, recs) }
    return recs
  }
  for (const u of msg.updates) apply(u, at(u.name), apex, zone, policy)

  // Checked as the store checks them, before anything is written: all of it or nothing.
  const changes = new Map<Name, readonly DynamicRecord[]>()
  for (const [owner, recs] of staged) {
    const before = zone.dynamic(owner)
    if (before.length === recs.length && before.every((r, i) => r === recs[i])) continue
    try {
      const checked = checkOwnerRecords(owner, recs.map((r) => r.rec))
      changes.set(owner, checked.map((rec, i) => ({ rec, added: (recs[i] as DynamicRecord).added })))
    } catch (err) {
      if (err instanceof ZoneDataError) return fail(RCODE.FORMERR, err.message)
      throw err
    }
  }
  return { rcode: 0, changes }
}

/** One update of the update section, on the owner's staged records (§3.4.2.2-4). */
function apply(u: UpdateRecord, recs: DynamicRecord[], apex: Name, zone: UpdateZone, policy: UpdatePolicy): void {
  const t = typeName(u.type)
  if (u.class === CLASS_IN && u.data !== null) {
    const served = zone.rrsets(u.name)
    const types = new Set([...(served?.keys() ?? []), ...recs.map((r) => r.rec.data.type)])
    // A CNAME and other data never share a name: an add against one is ignored (§3.4.2.2).
    if (t === 'CNAME' ? [...types].some((x) => x !== 'CNAME') : types.has('CNAME')) return
    const key = rdataKey(u.data)
    const ttl = Math.min(u.ttl, policy.maxTtl)
    const same = recs.findIndex((r) => r.rec.data.type === t && rdataKey(r.rec.data) === key)
    // One TTL per RRset (RFC 2181 5.2): the last add's, for every record of that type at the name.
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i] as DynamicRecord
      if (r.rec.data.type === t && r.rec.ttl !== ttl) recs[i] = { rec: { ...r.rec, ttl }, added: r.added }
    }
    if (same < 0) recs.push({ rec: { name: u.name, ttl, data: u.data }, added: policy.now })
    return
  }
  for (let i = recs.length - 1; i >= 0; i--) {
    const r = (recs[i] as DynamicRecord).rec
    const remove = u.class === CLASS_ANY
      ? (u.type === TYPE_ANY ? policy.allows(u.name, r.data.type, apex) : r.data.type === t) // only what the key may change
      : r.data.type === t && u.data !== null && rdataKey(r.data) === rdataKey(u.data)
    if (remove) recs.splice(i, 1)
  }
}
