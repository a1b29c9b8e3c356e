/**
 * @module zone/check
 * What a source hands the store is checked and put in canonical form here, once, before it is kept: names
 * lowercase, addresses in one spelling, numbers in range, exact duplicates dropped, a CNAME alone.
 */
import { ZoneDataError } from '../errors.ts'
import { canonicalAddress } from '../address.ts'
import { canonicalName } from './name.ts'
import type { Name, Rdata, Rec } from './types.ts'

/** Canonicalizes and checks the records a source hands in for one owner; drops exact duplicates (RFC 2181 5). */
export function checkOwnerRecords(owner: Name, recs: readonly Rec[]): Rec[] {
  const out: Rec[] = []
  const seen = new Set<string>()
  for (const rec of recs) {
    if (canonicalName(rec.name) !== owner) throw new ZoneDataError(`record for ${rec.name} handed in for owner ${owner}`)
    if (!Number.isInteger(rec.ttl) || rec.ttl < 0 || rec.ttl > 0x7fffffff) {
      throw new ZoneDataError(`TTL ${rec.ttl} at ${owner} is not an integer from 0 to 2147483647`)
    }
    const data = canonicalRdata(rec.data)
    const id = `${data.type} ${JSON.stringify(data)}` // rdataKey, without canonicalizing twice
    if (seen.has(id)) continue
    seen.add(id)
    // Already canonical (zone files and Incus records are): keep the caller's objects rather than copies,
    // which halves what a 100k-name load allocates.
    out.push(rec.name === owner && data === rec.data ? rec : { name: owner, ttl: rec.ttl, data })
  }
  const types = new Set(out.map((r) => r.data.type))
  if (types.has('CNAME') && (types.size > 1 || out.length > 1)) {
    throw new ZoneDataError(`${owner} has a CNAME and other data; a CNAME must be alone at its name (RFC 1034 3.6.2)`)
  }
  if (out.filter((r) => r.data.type === 'SOA').length > 1) throw new ZoneDataError(`${owner} has more than one SOA`)
  // A copy sized exactly: an array grown by push() keeps room for 16 more (~130 B per name at 100k names).
  return out.slice()
}

function u16ok(v: number): boolean { return Number.isInteger(v) && v >= 0 && v <= 0xffff }
function u32ok(v: number): boolean { return Number.isInteger(v) && v >= 0 && v <= 0xffffffff }

/** One RR's data as a string that two equal RRs share (RFC 2136 compares RRs so: names without case, one address spelling). */
export function rdataKey(d: Rdata): string {
  const c = canonicalRdata(d)
  return `${c.type} ${JSON.stringify(c)}`
}

/** `d` with names and addresses in canonical form: `d` itself when it already is. */
export function canonicalRdata(d: Rdata): Rdata {
  switch (d.type) {
    case 'A': case 'AAAA': {
      const address = canonicalAddress(d.type, d.address)
      return address === d.address ? d : { type: d.type, address }
    }
    case 'CNAME': case 'NS': case 'PTR': {
      const target = canonicalName(d.target)
      return target === d.target ? d : { type: d.type, target }
    }
    case 'MX': {
      if (!u16ok(d.preference)) throw new ZoneDataError(`MX preference ${d.preference} is not 0-65535`)
      const exchange = canonicalName(d.exchange)
      return exchange === d.exchange ? d : { type: 'MX', preference: d.preference, exchange }
    }
    case 'SRV': {
      for (const [k, v] of [['priority', d.priority], ['weight', d.weight], ['port', d.port]] as const) {
        if (!u16ok(v)) throw new ZoneDataError(`SRV ${k} ${v} is not 0-65535`)
      }
      const target = canonicalName(d.target)
      return target === d.target ? d : { type: 'SRV', priority: d.priority, weight: d.weight, port: d.port, target }
    }
    case 'TXT':
      for (const s of d.strings) {
        // Character-strings are octets, one per character (latin1): the one length rule for every source.
        if (s.length > 255 || /[^\x00-\xff]/.test(s)) throw new ZoneDataError(`TXT string longer than 255 octets, or not octets: '${s.slice(0, 20)}...'`)
      }
      return { type: 'TXT', strings: [...d.strings] }
    case 'SOA':
      for (const [k, v] of Object.entries(d)) {
        if (typeof v === 'number' && !u32ok(v)) throw new ZoneDataError(`SOA ${k} ${v} is not 0-4294967295`)
      }
      return { ...d, mname: canonicalName(d.mname), rname: canonicalName(d.rname) }
    default:
      if (!/^([0-9a-f]{2})*$/.test(d.hex) || d.hex.length > 2 * 0xffff) throw new ZoneDataError(`${d.type} RDATA is not lowercase hex of at most 65535 bytes`)
      return d
  }
}
