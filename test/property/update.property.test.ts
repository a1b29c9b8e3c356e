/**
 * The UPDATE code fuzzed as the query path is (issue 25): any bytes as an UPDATE never throw; any signed UPDATE
 * built from random prerequisites and changes never throws, leaves the zone exactly as it was unless it
 * answers NOERROR, and never touches a name outside what the key is granted.
 */
import fc from 'fast-check'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { TsigKey } from '../../src/dns/tsig.ts'
import { DynamicRecords } from '../../src/update/dynamic.ts'
import { Grants, parseGrants } from '../../src/update/grants.ts'
import { Updater } from '../../src/update/updater.ts'
import { ZoneStore } from '../../src/zone/store.ts'
import { ANY, IN, NONE, update } from '../helpers/update-packets.ts'
import type { Rr } from '../helpers/update-packets.ts'

const budget = { interruptAfterTimeLimit: process.env.CI === 'true' ? 20_000 : 5000, numRuns: 3000 }
const Z = 'example.org'
const key: TsigKey = { name: 'dyn', secret: Buffer.from('0123456789abcdef0123456789abcdef'), algorithm: 'hmac-sha256' }
const peer = { address: '127.0.0.1', port: 1 }

function setup(): { store: ZoneStore; updater: Updater; dynamic: DynamicRecords } {
  const store = new ZoneStore()
  store.setOwner('file', Z, [{ name: Z, ttl: 300, data: { type: 'SOA', mname: `ns.${Z}`, rname: `h.${Z}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 } }])
  store.setOwner('file', `www.${Z}`, [{ name: `www.${Z}`, ttl: 300, data: { type: 'A', address: '192.0.2.1' } }])
  const dynamic = new DynamicRecords({ zone: store, log: pino({ level: 'silent' }), file: null, challengeLifetimeMs: 3_600_000 })
  const updater = new Updater({ store, dynamic, keys: new Map([['dyn', key]]), grants: new Grants(['dyn'], parseGrants('dyn:*.dyn.example.org:A/TXT/CNAME,dyn:_acme-challenge.*:TXT')), maxTtl: 600, log: pino({ level: 'silent' }) })
  return { store, updater, dynamic }
}

/** The zone as served, serial included: what must not move unless an update answers NOERROR. */
function snapshot(store: ZoneStore): string {
  return JSON.stringify([store.serial(Z), store.names().sort().map((n) => [n, store.records(n)])])
}

const name = fc.constantFrom(Z, `www.${Z}`, `a.dyn.${Z}`, `b.dyn.${Z}`, `_acme-challenge.www.${Z}`, `evil.${Z}`, 'other.example.net')
const rr: fc.Arbitrary<Rr> = fc.record({
  name,
  type: fc.constantFrom('A', 'TXT', 'CNAME', 'NS', 'SOA', 'ANY', 'MX'),
  class: fc.constantFrom(IN, ANY, NONE, 3),
  ttl: fc.constantFrom(0, 60, 99999),
  data: fc.option(fc.constantFrom('192.0.2.9', '192.0.2.1', 'tok', `www.${Z}`), { nil: undefined }),
}).map((r) => {
  // RDATA that fits the type, or bytes that may not.
  if (r.data === undefined) return r
  if (r.type === 'A') return { ...r, data: /^\d/.test(r.data) ? r.data : Buffer.from([1, 2, 3]) }
  if (r.type === 'TXT') return { ...r, data: r.data }
  if (r.type === 'CNAME' || r.type === 'NS') return { ...r, data: /^\d/.test(r.data) ? Buffer.from([0]) : r.data }
  return { ...r, data: Buffer.from(r.data) }
})

describe('the UPDATE code under any input', () => {
  it('any bytes after an UPDATE header: never throws, always answers', () => {
    const { updater } = setup()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint16Array({ minLength: 4, maxLength: 4 }), (body, counts) => {
      const head = Buffer.alloc(12)
      head[2] = 5 << 3
      counts.forEach((c, i) => head.writeUInt16BE(c % 4, 4 + i * 2))
      const reply = updater.handle(Buffer.concat([head, Buffer.from(body)]), peer)
      expect(reply.length).toBeGreaterThanOrEqual(12)
    }), budget)
  })

  it('signed updates of random prerequisites and changes: the zone moves only on NOERROR, and only where granted', () => {
    fc.assert(fc.property(fc.array(rr, { maxLength: 3 }), fc.array(rr, { minLength: 1, maxLength: 5 }), (prereq, updates) => {
      const { store, updater } = setup()
      const before = snapshot(store)
      const reply = updater.handle(update(Z, { prereq, updates, key }), peer)
      const rcode = (reply[3] as number) & 0x0f
      if (rcode !== 0) { expect(snapshot(store)).toBe(before); return }
      for (const n of store.namesOf('update')) expect(n.endsWith(`.dyn.${Z}`) || n.startsWith('_acme-challenge.')).toBe(true)
      expect(store.recordsOf('file', `www.${Z}`)).toHaveLength(1)
    }), budget)
  })
})
