/**
 * The store's signed answers (issue 29): compiled beside the plain ones through the signer hook, taken by a
 * query with DO; a change re-signs at once (never an old signature for a changed RRset); a big batch is signed
 * in slices, its names answered per query meanwhile (HANDOFF to dns/online-sign.ts), the apex always at once.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { answer, HANDOFF, Reply, SEND } from '../../../src/dns/answer.ts'
import { answerOnline } from '../../../src/dns/online-sign.ts'
import { readMessage as readOrNull } from '../../../src/dns/wire.ts'
import { KeyStore } from '../../../src/dnssec/key-store.ts'
import { DnssecSigner } from '../../../src/dnssec/zone-signer.ts'
import { SIGN_NOW_LIMIT } from '../../../src/zone/signing-queue.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import type { Rec } from '../../../src/zone/types.ts'
import { query } from '../../helpers/packets.ts'

const dir = mkdtempSync(join(tmpdir(), 'incus-dns-signed-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let clock = 1_800_000_000
const signer = new DnssecSigner(new KeyStore(dir, 'ed25519'), { validity: 14 * 86400, dnskeyTtl: 3600, now: () => clock })
const Z = 'example.test'
const soa: Rec = { name: Z, ttl: 300, data: { type: 'SOA', mname: `ns.${Z}`, rname: `h.${Z}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }
/** A reply as dns/wire.ts reads it; throws when it cannot. */
function readMessage(b: Buffer): NonNullable<ReturnType<typeof readOrNull>> {
  const m = readOrNull(b)
  if (m === null) throw new Error('an unreadable reply')
  return m
}
const a = (name: string, address: string): Rec => ({ name, ttl: 30, data: { type: 'A', address } })

function store(): ZoneStore {
  const s = new ZoneStore({ signer, now: () => clock })
  s.setOwner('file', Z, [soa, { name: Z, ttl: 300, data: { type: 'NS', target: `ns.${Z}` } }])
  s.setOwner('file', `ns.${Z}`, [a(`ns.${Z}`, '192.0.2.53')])
  return s
}

/** The reply's records as `section owner TYPE`, and the raw reply. */
function ask(s: ZoneStore, name: string, type: string, dnssecOk: boolean): { outcome: number; records: string[]; rcode: number; raw: Buffer } {
  const reply = new Reply()
  const outcome = answer(query(name, type, { edns: 1232, dnssecOk }), false, s.table, reply)
  const raw = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
  if (outcome !== SEND) return { outcome, records: [], rcode: -1, raw }
  const m = readMessage(raw)
  const types: Record<number, string> = { 1: 'A', 2: 'NS', 6: 'SOA', 41: 'OPT', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 59: 'CDS', 60: 'CDNSKEY' }
  return { outcome, rcode: m.rcode, raw, records: m.records.map((r) => `${['an', 'ns', 'ar'][r.section]} ${types[r.type] ?? r.type}`) }
}

/** The signature bytes of the first RRSIG in a reply. */
function firstSignature(raw: Buffer): string {
  const r = readMessage(raw).records.find((x) => x.type === 46)
  return r === undefined ? '' : raw.subarray(r.rdataOffset + r.rdataLength - 64, r.rdataOffset + r.rdataLength).toString('hex')
}

describe('the signed answer table', () => {
  it('answers DO with RRSIGs after each RRset and no DO without; DNSKEY, CDS and CDNSKEY at the apex either way', () => {
    const s = store()
    s.setOwner('incus', `web.${Z}`, [a(`web.${Z}`, '10.0.0.1')])
    expect(ask(s, `web.${Z}`, 'A', false).records).toEqual(['an A', 'ar OPT'])
    expect(ask(s, `web.${Z}`, 'A', true).records).toEqual(['an A', 'an RRSIG', 'ar OPT'])
    expect(ask(s, Z, 'DNSKEY', false).records).toEqual(['an DNSKEY', 'ar OPT'])
    expect(ask(s, Z, 'DNSKEY', true).records).toEqual(['an DNSKEY', 'an RRSIG', 'ar OPT'])
    expect(ask(s, Z, 'CDS', true).records).toEqual(['an CDS', 'an RRSIG', 'ar OPT'])
    expect(ask(s, Z, 'CDNSKEY', true).records).toEqual(['an CDNSKEY', 'an RRSIG', 'ar OPT'])
    // NODATA: the NSEC at the name and its RRSIG, then the SOA and its RRSIG.
    expect(ask(s, `web.${Z}`, 'AAAA', true).records).toEqual(['ns NSEC', 'ns RRSIG', 'ns SOA', 'ns RRSIG', 'ar OPT'])
    expect(ask(s, `web.${Z}`, 'AAAA', false).records).toEqual(['ns SOA', 'ar OPT'])
    // What a secondary gets: the apex records too.
    expect(s.zoneRecords(Z).map((r) => r.data.type).sort()).toEqual(['A', 'A', 'CDNSKEY', 'CDS', 'DNSKEY', 'NS'])
  })

  it('a changed RRset is answered with a new signature at once', () => {
    const s = store()
    s.setOwner('incus', `web.${Z}`, [a(`web.${Z}`, '10.0.0.1')])
    const before = firstSignature(ask(s, `web.${Z}`, 'A', true).raw)
    s.setOwner('incus', `web.${Z}`, [a(`web.${Z}`, '10.0.0.2')])
    const after = firstSignature(ask(s, `web.${Z}`, 'A', true).raw)
    expect(before).not.toBe('')
    expect(after).not.toBe(before)
  })

  it('a name that does not exist, with DO, is handed off and signed for the name asked (compact denial)', () => {
    const s = store()
    expect(ask(s, `nope.${Z}`, 'A', false).rcode).toBe(3)
    expect(ask(s, `nope.${Z}`, 'A', true).outcome).toBe(HANDOFF)
    const msg = answerOnline(query(`nope.${Z}`, 'A', { edns: 1232, dnssecOk: true }), false, s.table, new Reply(), signer, null) as Buffer
    const m = readMessage(msg)
    expect(m.rcode).toBe(0)
    expect(m.records.map((r) => [r.section, r.type])).toEqual([[1, 47], [1, 46], [1, 6], [1, 46], [2, 41]])
  })

  it(`signs a batch of more than ${SIGN_NOW_LIMIT} names in slices: meanwhile they are handed off, never answered stale; the apex at once`, async () => {
    const s = store()
    s.batch(() => { for (let i = 0; i < 500; i++) s.setOwner('incus', `i${i}.${Z}`, [a(`i${i}.${Z}`, `10.1.${i >> 8}.${i & 255}`)]) })
    // Plain answers at once.
    expect(ask(s, `i7.${Z}`, 'A', false).records).toEqual(['an A', 'ar OPT'])
    expect(s.signingPending).toBeGreaterThan(0)
    // The apex is signed with the batch; a pending name goes to the per-query signer.
    expect(ask(s, Z, 'SOA', true).records).toEqual(['an SOA', 'an RRSIG', 'ar OPT'])
    const pending = [...Array(500).keys()].map((i) => `i${i}.${Z}`).find((n) => ask(s, n, 'A', true).outcome === HANDOFF)
    expect(pending).toBeDefined()
    const online = readMessage(answerOnline(query(pending as string, 'A', { edns: 1232, dnssecOk: true }), false, s.table, new Reply(), signer, null) as Buffer)
    expect(online.records.map((r) => r.type)).toEqual([1, 46, 41])
    // The slices finish within a few event-loop turns.
    const t0 = Date.now()
    while (s.signingPending > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setImmediate(r))
    expect(s.signingPending).toBe(0)
    for (let i = 0; i < 500; i += 97) expect(ask(s, `i${i}.${Z}`, 'A', true).records).toEqual(['an A', 'an RRSIG', 'ar OPT'])
  })

  it('a new validity window signs everything again, keeping the answers (still valid) until each is signed', () => {
    const s = store()
    s.setOwner('incus', `web.${Z}`, [a(`web.${Z}`, '10.0.0.1')])
    const before = firstSignature(ask(s, `web.${Z}`, 'A', true).raw)
    const serial = s.serial(Z)
    clock += 8 * 86400 // past half the validity: a new window
    s.refreshSignatures()
    expect(firstSignature(ask(s, `web.${Z}`, 'A', true).raw)).toBe(before) // kept until its slice
    s.settleSigning()
    expect(firstSignature(ask(s, `web.${Z}`, 'A', true).raw)).not.toBe(before)
    expect(s.serial(Z)).toBe(serial) // the records did not change: nor does the serial
  })
})
