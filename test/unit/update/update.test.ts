/**
 * Dynamic UPDATE (RFC 2136) against a real zone store, in process: the five prerequisites, the four update
 * forms, all or nothing, the CNAME rule, grants, TSIG (every algorithm; unsigned, BADKEY, BADSIG, BADTIME),
 * TTL caps, challenge expiry, the file kept across restarts, and every view.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { beforeEach, describe, expect, it } from 'vitest'
import { BADKEY, BADSIG, BADTIME, findTsig, parseTsigKey, TSIG_ALGORITHMS } from '../../../src/dns/tsig.ts'
import type { TsigAlgorithm, TsigKey } from '../../../src/dns/tsig.ts'
import { DynamicRecords } from '../../../src/update/dynamic.ts'
import { Grants, parseGrants } from '../../../src/update/grants.ts'
import { Updater } from '../../../src/update/updater.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ViewStores } from '../../../src/zone/view-stores.ts'
import type { Rec } from '../../../src/zone/types.ts'
import { ask } from '../../helpers/ask.ts'
import { ANY, IN, NONE, rcodeOf, update } from '../../helpers/update-packets.ts'
import type { Rr } from '../../helpers/update-packets.ts'

const Z = 'example.org'
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const acme: TsigKey = { name: 'acme', secret: SECRET, algorithm: 'hmac-sha256' }
const dyn: TsigKey = { name: 'dyn', secret: SECRET, algorithm: 'hmac-md5.sig-alg.reg.int' }
const silent = pino({ level: 'silent' })
const peer = { address: '127.0.0.1', port: 5353 }
const soa = (apex: string): Rec => ({ name: apex, ttl: 300, data: { type: 'SOA', mname: `ns1.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 } })

describe('dynamic UPDATE', () => {
  let store: ZoneStore
  let dynamic: DynamicRecords
  let updater: Updater
  let now: number
  const make = (file: string | null = null, zone: ZoneStore | ViewStores = store): void => {
    dynamic = new DynamicRecords({ zone, log: silent, file, challengeLifetimeMs: 3_600_000, now: () => now })
    const keys = [acme, dyn]
    updater = new Updater({ store, dynamic, keys: new Map(keys.map((k) => [k.name, k])), grants: new Grants(keys.map((k) => k.name), parseGrants('dyn:*.dyn.example.org:ANY,dyn:_acme-challenge.*:TXT')), maxTtl: 600, log: silent, now: () => now })
  }
  const send = (msg: Buffer): Buffer => updater.handle(msg, peer)
  const rcode = (msg: Buffer): number => rcodeOf(send(msg))
  const answer = (name: string, type: string): string[] => ask(store.table, name, type).answer

  beforeEach(() => {
    now = 1_800_000_000_000
    store = new ZoneStore({ now: () => Math.floor(now / 1000) })
    store.setOwner('file', Z, [soa(Z), { name: Z, ttl: 300, data: { type: 'NS', target: `ns1.${Z}` } }])
    store.setOwner('file', `www.${Z}`, [{ name: `www.${Z}`, ttl: 300, data: { type: 'A', address: '192.0.2.80' } }])
    make()
  })

  it('adds and deletes an ACME challenge: served, serial bumped, in the journal, and gone again', () => {
    const serial = store.serial(Z) as number
    const t = { name: `_acme-challenge.www.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'tok-1' }
    expect(rcode(update(Z, { updates: [t], key: acme, time: now / 1000 }))).toBe(0)
    expect(answer(`_acme-challenge.www.${Z}`, 'TXT')).toEqual([`_acme-challenge.www.${Z}. 60 IN TXT "tok-1"`])
    expect(store.serial(Z)).toBeGreaterThan(serial)
    expect(store.journal(Z).at(-1)?.added.map((r) => r.name)).toEqual([`_acme-challenge.www.${Z}`])
    // Cleaned up as lego and certbot clean up: delete one RR (class NONE).
    expect(rcode(update(Z, { updates: [{ ...t, class: NONE, ttl: 0 }], key: acme, time: now / 1000 }))).toBe(0)
    expect(ask(store.table, `_acme-challenge.www.${Z}`, 'TXT').rcode).toBe(3)
  })

  it('checks each of the five prerequisites against the zone as served', () => {
    const u = (prereq: readonly Rr[]): number => rcode(update(Z, { prereq, updates: [{ name: `_acme-challenge.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'x' }], key: acme, time: now / 1000 }))
    expect(u([{ name: `www.${Z}`, type: 'ANY', class: ANY }])).toBe(0) // name is in use
    expect(u([{ name: `nothere.${Z}`, type: 'ANY', class: ANY }])).toBe(3) // NXDOMAIN
    expect(u([{ name: `www.${Z}`, type: 'A', class: ANY }])).toBe(0) // RRset exists (value independent)
    expect(u([{ name: `www.${Z}`, type: 'TXT', class: ANY }])).toBe(8) // NXRRSET
    expect(u([{ name: `nothere.${Z}`, type: 'ANY', class: NONE }])).toBe(0) // name is not in use
    expect(u([{ name: `www.${Z}`, type: 'ANY', class: NONE }])).toBe(6) // YXDOMAIN
    expect(u([{ name: `www.${Z}`, type: 'TXT', class: NONE }])).toBe(0) // RRset does not exist
    expect(u([{ name: `www.${Z}`, type: 'A', class: NONE }])).toBe(7) // YXRRSET
    expect(u([{ name: `www.${Z}`, type: 'A', class: IN, data: '192.0.2.80' }])).toBe(0) // RRset exists (value dependent)
    expect(u([{ name: `www.${Z}`, type: 'A', class: IN, data: '192.0.2.81' }])).toBe(8)
    expect(u([{ name: `www.${Z}`, type: 'A', class: ANY, ttl: 5 }])).toBe(1) // a TTL: FORMERR
    expect(u([{ name: 'www.example.net', type: 'A', class: ANY }])).toBe(10) // NOTZONE
  })

  it('the four update forms: add, delete one RR, delete an RRset, delete every RRset of a name', () => {
    const n = `h.dyn.${Z}`
    const add = (type: string, data: string) => ({ name: n, type, class: IN, ttl: 60, data })
    expect(rcode(update(Z, { updates: [add('A', '192.0.2.1'), add('A', '192.0.2.2'), add('AAAA', '2001:db8::1'), add('TXT', 'v=1')], key: dyn, time: now / 1000 }))).toBe(0)
    expect(answer(n, 'A')).toEqual([`${n}. 60 IN A 192.0.2.1`, `${n}. 60 IN A 192.0.2.2`])
    expect(rcode(update(Z, { updates: [{ name: n, type: 'A', class: NONE, data: '192.0.2.1' }], key: dyn, time: now / 1000 }))).toBe(0)
    expect(answer(n, 'A')).toEqual([`${n}. 60 IN A 192.0.2.2`])
    expect(rcode(update(Z, { updates: [{ name: n, type: 'A', class: ANY }], key: dyn, time: now / 1000 }))).toBe(0)
    expect(answer(n, 'A')).toEqual([])
    expect(answer(n, 'AAAA')).toEqual([`${n}. 60 IN AAAA 2001:db8::1`])
    expect(rcode(update(Z, { updates: [{ name: n, type: 'ANY', class: ANY }], key: dyn, time: now / 1000 }))).toBe(0)
    expect(ask(store.table, n, 'AAAA').rcode).toBe(3)
  })

  it('all or nothing: one change out of grant, or malformed, and none of them is made', () => {
    const serial = store.serial(Z)
    const good = { name: `_acme-challenge.a.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'x' }
    expect(rcode(update(Z, { updates: [good, { name: `evil.${Z}`, type: 'A', class: IN, ttl: 60, data: '192.0.2.66' }], key: acme, time: now / 1000 }))).toBe(5)
    expect(rcode(update(Z, { updates: [good, { name: `_acme-challenge.a.${Z}`, type: 'TXT', class: NONE, ttl: 9, data: 'x' }], key: acme, time: now / 1000 }))).toBe(1)
    expect(ask(store.table, `_acme-challenge.a.${Z}`, 'TXT').rcode).toBe(3)
    expect(store.serial(Z)).toBe(serial)
    expect(dynamic.size).toBe(0)
  })

  it('grants: never the SOA or the apex NS; a CNAME beside other data is ignored; TTLs capped; a zone we do not serve is NOTAUTH', () => {
    const d = `x.dyn.${Z}`
    expect(rcode(update(Z, { updates: [{ name: Z, type: 'NS', class: IN, ttl: 60, data: 'evil.example.net' }], key: dyn, time: now / 1000 }))).toBe(5)
    expect(rcode(update(Z, { updates: [{ name: d, type: 'A', class: IN, ttl: 86400, data: '192.0.2.9' }, { name: d, type: 'CNAME', class: IN, ttl: 60, data: `www.${Z}` }], key: dyn, time: now / 1000 }))).toBe(0)
    expect(ask(store.table, d, 'A').answer).toEqual([`${d}. 600 IN A 192.0.2.9`])
    expect(rcode(update('example.net', { updates: [], key: acme, time: now / 1000 }))).toBe(9)
  })

  it('TSIG: unsigned is REFUSED; an unknown key, a wrong secret and a stale time are NOTAUTH with the TSIG error; replies are signed', () => {
    const t = { name: `_acme-challenge.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'x' }
    expect(rcode(update(Z, { updates: [t] }))).toBe(5)
    const tsigError = (r: Buffer): number => { const x = findTsig(r); return x === null || x === 'malformed' ? -1 : x.error }
    const bad = [
      [{ ...acme, name: 'nobody' }, now / 1000, BADKEY],
      [{ ...acme, secret: Buffer.from('another secret of sixteen+') }, now / 1000, BADSIG],
      [acme, now / 1000 - 3600, BADTIME],
    ] as const
    for (const [key, time, error] of bad) {
      const r = send(update(Z, { updates: [t], key, time }))
      expect(rcodeOf(r)).toBe(9)
      expect(tsigError(r)).toBe(error)
    }
    const ok = send(update(Z, { updates: [t], key: acme, time: now / 1000 }))
    expect(rcodeOf(ok)).toBe(0)
    expect(findTsig(ok)).toMatchObject({ keyName: 'acme', algorithm: 'hmac-sha256', error: 0 })
    expect(dynamic.size).toBe(1)
    expect([...updater.results]).toEqual([['refused', 1], ['notauth', 3], ['noerror', 1]])
  })

  it.each(Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[])('signs and verifies with %s', (algorithm) => {
    const key = { name: 'acme', secret: SECRET, algorithm }
    updater = new Updater({ store, dynamic, keys: new Map([['acme', key]]), grants: new Grants(['acme'], []), maxTtl: 600, log: silent, now: () => now })
    const r = send(update(Z, { updates: [{ name: `_acme-challenge.${algorithm.slice(5, 9)}.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'x' }], key, time: now / 1000 }))
    expect(rcodeOf(r)).toBe(0)
    expect(findTsig(r)).toMatchObject({ algorithm })
  })

  it('a challenge nobody deleted goes after its lifetime; other records stay', () => {
    send(update(Z, { updates: [{ name: `_acme-challenge.old.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'x' }, { name: `k.dyn.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'keep' }], key: dyn, time: now / 1000 }))
    now += 3_600_001
    dynamic.expire()
    expect(ask(store.table, `_acme-challenge.old.${Z}`, 'TXT').rcode).toBe(3)
    expect(answer(`k.dyn.${Z}`, 'TXT')).toEqual([`k.dyn.${Z}. 60 IN TXT "keep"`])
  })

  it('kept in a file of its own (mode 0600) and put back at start, in every view', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'idns-upd-')), 'updates.json')
    make(file)
    send(update(Z, { updates: [{ name: `_acme-challenge.k.${Z}`, type: 'TXT', class: IN, ttl: 60, data: 'kept' }], key: acme, time: now / 1000 }))
    await dynamic.stop()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8')).records).toHaveLength(1)
    // A restart, with a view besides the default.
    const fresh = new ZoneStore()
    const views = new ViewStores(fresh, () => new ZoneStore())
    views.setOwner('file', Z, [soa(Z)])
    views.reconcile(['lan'])
    store = fresh
    make(file, views)
    await dynamic.load()
    await dynamic.stop()
    expect(answer(`_acme-challenge.k.${Z}`, 'TXT')).toEqual([`_acme-challenge.k.${Z}. 60 IN TXT "kept"`])
    expect(ask((views.store('lan') as ZoneStore).table, `_acme-challenge.k.${Z}`, 'TXT').answer).toHaveLength(1)
  })

  it('parses keys as keymgr -t prints them, refusing short secrets and unknown algorithms without showing the secret', () => {
    expect(parseTsigKey('hmac-md5:acme:MDEyMzQ1Njc4OWFiY2RlZg==')).toMatchObject({ name: 'acme', algorithm: 'hmac-md5.sig-alg.reg.int' })
    expect(parseTsigKey('HMAC-SHA512.:Acme.:MDEyMzQ1Njc4OWFiY2RlZg==')).toMatchObject({ name: 'acme', algorithm: 'hmac-sha512' })
    expect(() => parseTsigKey('acme:c2hvcnQ=')).toThrow(/the secret is 5 octets, fewer than 16; make one with: keymgr -t acme/)
    expect(() => parseTsigKey('hmac-sha999:acme:MDEyMzQ1Njc4OWFiY2RlZg==')).toThrow(/'hmac-sha999' is not one of hmac-md5, hmac-sha1/)
    expect(() => parseTsigKey('hmac-sha999:acme:MDEyMzQ1Njc4OWFiY2RlZg==')).not.toThrow(/MDEy/)
  })
})
