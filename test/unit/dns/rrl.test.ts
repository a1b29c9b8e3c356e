/**
 * Response rate limiting's buckets, without a network: the rate, the refill, the slip count, what counts as
 * one kind (a zone's NXDOMAINs together, two answers apart), prefixes (/24, /56), exemptions, and the bound on
 * the table under a flood of sources.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Acl } from '../../../src/address.ts'
import { Rrl, RRL_DROP, RRL_SEND, RRL_SLIP } from '../../../src/dns/rrl.ts'
import type { RrlOptions } from '../../../src/dns/rrl.ts'

const head = (rcode: number): Buffer => { const h = Buffer.alloc(12); h[3] = rcode; return h }
const SOA_A = Buffer.from('zone a SOA')
const SOA_B = Buffer.from('zone b SOA')
const make = (o: Partial<RrlOptions> = {}): Rrl => new Rrl({ rate: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: null, logOnly: false, ...o })

describe('Rrl', () => {
  it('rate responses a second per prefix and kind, then every slip-th held back slips and the rest drop', () => {
    const r = make()
    const v = Array.from({ length: 15 }, () => r.check('192.0.2.1', head(0), [Buffer.from('answer'), Buffer.alloc(0)], 1000))
    expect(v.slice(0, 5)).toEqual([RRL_SEND, RRL_SEND, RRL_SEND, RRL_SEND, RRL_SEND])
    expect(v.slice(5)).toEqual([RRL_DROP, RRL_SLIP, RRL_DROP, RRL_SLIP, RRL_DROP, RRL_SLIP, RRL_DROP, RRL_SLIP, RRL_DROP, RRL_SLIP])
  })

  it('refills at the rate: after 400 ms at 5 a second, two more', () => {
    const r = make({ slip: 0 })
    const q = (at: number): number => r.check('192.0.2.1', head(0), [Buffer.from('x')], at)
    for (let i = 0; i < 5; i++) expect(q(0)).toBe(RRL_SEND)
    expect(q(0)).toBe(RRL_DROP)
    expect([q(400), q(400), q(400)]).toEqual([RRL_SEND, RRL_SEND, RRL_DROP])
  })

  it("one zone's NXDOMAINs are one kind; another zone's, and answers, are others", () => {
    const r = make({ rate: 1, slip: 0 })
    expect(r.check('192.0.2.1', head(3), [Buffer.alloc(0), SOA_A], 0)).toBe(RRL_SEND)
    expect(r.check('192.0.2.1', head(3), [Buffer.alloc(0), SOA_A], 0)).toBe(RRL_DROP) // another name, same zone
    expect(r.check('192.0.2.1', head(3), [Buffer.alloc(0), SOA_B], 0)).toBe(RRL_SEND)
    expect(r.check('192.0.2.1', head(0), [Buffer.alloc(0), SOA_A], 0)).toBe(RRL_SEND) // NODATA of zone a: another rcode
    expect(r.check('192.0.2.1', head(0), [Buffer.from('an answer')], 0)).toBe(RRL_SEND)
  })

  it('prefixes: /24 counts 192.0.2.1 and .200 together, not 192.0.3.1; /56 for IPv6; IPv4-mapped as IPv4', () => {
    const r = make({ rate: 1, slip: 0 })
    const q = (a: string): number => r.check(a, head(0), [Buffer.from('x')], 0)
    expect(q('192.0.2.1')).toBe(RRL_SEND)
    expect(q('192.0.2.200')).toBe(RRL_DROP)
    expect(q('::ffff:192.0.2.9')).toBe(RRL_DROP)
    expect(q('192.0.3.1')).toBe(RRL_SEND)
    expect(q('2001:db8:0:100::1')).toBe(RRL_SEND)
    expect(q('2001:db8:0:1ff::2')).toBe(RRL_DROP) // same /56
    expect(q('2001:db8:0:200::1')).toBe(RRL_SEND)
  })

  it('exempt ranges are never limited', () => {
    const r = make({ rate: 1, exempt: new Acl(['192.0.2.0/24']) })
    for (let i = 0; i < 20; i++) expect(r.check('192.0.2.1', head(0), [Buffer.from('x')], 0)).toBe(RRL_SEND)
  })

  it('the table stays bounded under a flood of sources', () => {
    const r = make({ entries: 1000, ipv4Prefix: 32 })
    for (let i = 0; i < 20_000; i++) r.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, head(0), [Buffer.from('x')], 0)
    expect(r.size).toBeLessThanOrEqual(1000)
  })

  it('hostile input never throws: any address string, rcode and sections; the verdict is one of three and the table stays bounded', () => {
    const r = make({ entries: 500, ipv4Prefix: 17, ipv6Prefix: 63 })
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 40 }), fc.ipV4().map((a) => `::ffff:${a}`))
    fc.assert(fc.property(address, fc.integer({ min: 0, max: 255 }), fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 3 }), fc.double({ min: 0, max: 1e7, noNaN: true }),
      (a, rcode, sections, now) => {
        const h = Buffer.alloc(12)
        h[3] = rcode
        const v = r.check(a, h, sections.map((x) => Buffer.from(x)), now)
        expect([RRL_SEND, RRL_DROP, RRL_SLIP]).toContain(v)
        expect(r.size).toBeLessThanOrEqual(500)
      }), { numRuns: 20_000 })
  })
})
