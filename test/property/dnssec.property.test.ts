/**
 * DNSSEC on hostile and odd input (issue 29), fast-check, time-bounded:
 * - the signer takes every RRset a zone file can hold (names of any octets, every structured type, TXT of any
 *   octets, opaque rdata of any type and length) without throwing, and each signature verifies (node:crypto)
 *   over what RFC 4034 says is signed;
 * - with the zones signed, any query with DO (damaged or not) never makes answer() or the per-query signer
 *   throw, and what they send is a well-formed message echoing the ID.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createPublicKey, verify } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answer, DROP, HANDOFF, refuse, Reply } from '../../src/dns/answer.ts'
import { answerOnline } from '../../src/dns/online-sign.ts'
import { KeyStore } from '../../src/dnssec/key-store.ts'
import { generateKey } from '../../src/dnssec/keys.ts'
import type { SigningKey } from '../../src/dnssec/keys.ts'
import { signedData, signRRset } from '../../src/dnssec/sign.ts'
import { DnssecSigner } from '../../src/dnssec/zone-signer.ts'
import { readZoneDir, ZoneFileSource } from '../../src/zone/file/source.ts'
import { ZoneStore } from '../../src/zone/store.ts'
import type { Rec, Rdata } from '../../src/zone/types.ts'
import { ZONES_DIR } from '../conformance/cases.ts'
import { decode, query } from '../helpers/packets.ts'

const RUN_MS = process.env.CI === 'true' ? 6000 : 2500
const TIMEOUT = { timeout: RUN_MS + 10_000 }
const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-fuzz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A name as the store keeps one: labels of any octets but '.', lowercase, at most 255 octets on the wire. */
const label = fc.uint8Array({ minLength: 1, maxLength: 63 }).map((u) => Buffer.from(u).toString('latin1').replace(/\./g, '-').toLowerCase())
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')).filter((n) => n.split('.').reduce((s, l) => s + l.length + 1, 1) <= 255)
const rdata: fc.Arbitrary<Rdata> = fc.oneof(
  fc.ipV4().map((address): Rdata => ({ type: 'A', address })),
  fc.constantFrom('2001:db8::1', '::', 'fd42:4c81:5770:1eaf::16').map((address): Rdata => ({ type: 'AAAA', address })),
  fc.tuple(fc.constantFrom('CNAME', 'NS', 'PTR') as fc.Arbitrary<'CNAME' | 'NS' | 'PTR'>, name).map(([type, target]): Rdata => ({ type, target })),
  fc.tuple(fc.integer({ min: 0, max: 65535 }), name).map(([preference, exchange]): Rdata => ({ type: 'MX', preference, exchange })),
  fc.array(fc.uint8Array({ maxLength: 255 }).map((u) => Buffer.from(u).toString('latin1')), { minLength: 1, maxLength: 3 }).map((strings): Rdata => ({ type: 'TXT', strings })),
  fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), name).map(([priority, weight, port, target]): Rdata => ({ type: 'SRV', priority, weight, port, target })),
  fc.tuple(name, name, fc.nat()).map(([mname, rname, serial]): Rdata => ({ type: 'SOA', mname, rname, serial, refresh: 1, retry: 2, expire: 3, minimum: 4 })),
  fc.tuple(fc.integer({ min: 1, max: 65279 }).filter((t) => ![1, 2, 5, 6, 12, 15, 16, 28, 33, 41].includes(t)), fc.uint8Array({ maxLength: 300 }))
    .map(([code, bytes]): Rdata => ({ type: `TYPE${code}`, hex: Buffer.from(bytes).toString('hex') })),
)
/** One RRset: an owner, one type, 1 to 4 records of it (the same rdata kind, taken from the first). */
const rrset = fc.tuple(name, fc.array(rdata, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 0x7fffffff }))
  .map(([owner, datas, ttl]) => datas.filter((d) => d.type === (datas[0] as Rdata).type).map((data): Rec => ({ name: owner, ttl, data })))

/** Verifies an RRSIG made by signRRset: the signature over its own head and the RRset in canonical form. */
function verifies(sig: Rec, rrset: readonly Rec[], key: SigningKey): boolean {
  const bytes = Buffer.from(sig.data.type === 'RRSIG' ? sig.data.hex : '', 'hex')
  const signature = bytes.subarray(bytes.length - 64)
  const { data } = signedData(rrset, sig.ttl, key, { inception: bytes.readUInt32BE(12), expiration: bytes.readUInt32BE(8) })
  const pub = createPublicKey(key.privateKey)
  return key.algorithm === 'ed25519' ? verify(null, data, pub, signature) : verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, signature)
}

describe('the signer on every RRset a zone can hold', () => {
  for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
    it(`${algorithm}: never throws, and every signature verifies`, TIMEOUT, () => {
      const key = generateKey('zone.test', algorithm)
      fc.assert(fc.property(rrset, (set) => {
        const sig = signRRset(set, (set[0] as Rec).ttl, key, { inception: 1, expiration: 0xffffffff })
        expect(verifies(sig, set, key)).toBe(true)
      }), { interruptAfterTimeLimit: RUN_MS, numRuns: 100_000 })
    })
  }
})

describe('signed answers on hostile queries with DO', () => {
  const signer = new DnssecSigner(new KeyStore(join(dir, 'keys'), 'ecdsap256sha256'), { validity: 86400 * 14, dnskeyTtl: 3600 })
  const store = new ZoneStore({ signer })
  beforeAll(async () => { new ZoneFileSource().apply(store, await readZoneDir(ZONES_DIR)); store.settleSigning() })
  // Answers of every kind: hits, a CNAME into a zone cut, wildcards (a CNAME one, one into a cut), DNAMEs (a chain,
  // into a wildcard, into a cut), referrals with and without DS, names that do not exist, names outside.
  const NAMES = ['web.example.org', 'WWW.Example.Org', 'nothere.example.org', 'a.b.example.org', 'x.apps.example.org', 'Q.cn.example.org', 'z.wsub.example.org',
    'example.org', 'big.example.org', 'x.dnamed.example.org', 'x.dn3.example.org', 'host.dn5.example.org', 'a.dc1.example.org', 'sub.example.org',
    'a.sub.example.org', 'x.nods.example.org', 'tosub2.example.org', 'generic.example.org', '1.2.0.192.in-addr.arpa', 'example.com', 'deep.x.y.example.org']
  let online = 0
  afterAll(() => { expect(online).toBeGreaterThan(0) })
  const TYPES = [1, 28, 16, 15, 255, 6, 5, 2, 33, 43, 46, 47, 48, 59, 60, 65]
  const damaged = fc.record({
    name: fc.constantFrom(...NAMES), type: fc.constantFrom(...TYPES), co: fc.boolean(), size: fc.integer({ min: 0, max: 65535 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), cut: fc.option(fc.nat(), { nil: undefined }),
  }).map(({ name, type, co, size, flips, cut }) => {
    const b = query(name, type, { edns: size, dnssecOk: true })
    if (co) b[b.length - 4] = (b[b.length - 4] as number) | 0x40
    for (const [pos, v] of flips) b[pos % b.length] = v
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1))
  })

  it('answer() and the per-query signer never throw; every reply is well formed and echoes the ID', TIMEOUT, () => {
    fc.assert(fc.property(damaged, fc.boolean(), (req, tcp) => {
      const reply = new Reply()
      const copy = Buffer.from(req)
      const outcome = answer(copy, tcp, store.table, reply)
      if (outcome === DROP) return
      let out: Buffer | null
      if (outcome === HANDOFF && reply.online) {
        out = answerOnline(Buffer.from(req), tcp, store.table, reply, signer, null)
        if (out === null) return
        online++
      } else {
        if (outcome === HANDOFF) refuse(copy, reply)
        out = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
      }
      expect(out.readUInt16BE(0)).toBe(req.readUInt16BE(0))
      if (!tcp) expect(out.length).toBeLessThanOrEqual(1232)
      decode(out)
    }), { interruptAfterTimeLimit: RUN_MS, numRuns: 1_000_000 })
  })
})
