/**
 * EDNS and header hygiene as RFC 6891, RFC 8906 section 8 and ISC's EDNS compliance tests expect, each case
 * sent with dig to us and to knotd serving the same zone: the same answer from both (serials included), and
 * what the RFC asks of it besides, so that "the same as knotd" cannot hide a shared mistake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import type { DigResult } from '../helpers/dig.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { startServer } from '../helpers/server.ts'
import { ZONES_DIR } from './cases.ts'
import { expectSameAsKnot } from './differential.ts'

interface HygieneCase {
  readonly what: string
  readonly qname: string
  readonly qtype: string
  readonly args: readonly string[]
  /** What the RFCs ask of the answer, besides being knotd's. */
  readonly expect: (r: DigResult) => void
}

const CASES: readonly HygieneCase[] = [
  { what: 'an unknown EDNS version gets BADVERS (RFC 6891 6.1.3)', qname: 'example.org', qtype: 'SOA', args: ['+edns=1', '+noednsnegotiation'],
    expect: (r) => { expect(r.rcode).toBe('BADVERS'); expect(r.answer).toEqual([]); expect(r.raw).toMatch(/EDNS: version: 0/) } },
  { what: 'an unknown EDNS option is ignored, and not echoed', qname: 'web.example.org', qtype: 'A', args: ['+ednsopt=65001:abcd'],
    expect: (r) => { expect(r.rcode).toBe('NOERROR'); expect(r.answer).toHaveLength(1); expect(r.raw).not.toMatch(/^; OPT=65001/m) } },
  { what: 'unknown EDNS flags are not echoed (RFC 6891 6.1.4)', qname: 'web.example.org', qtype: 'A', args: ['+ednsflags=0x4000'],
    expect: (r) => { expect(r.rcode).toBe('NOERROR'); expect(r.raw).toMatch(/EDNS: version: 0, flags:;/) } },
  { what: 'an unknown opcode gets NOTIMP', qname: 'web.example.org', qtype: 'A', args: ['+opcode=3'],
    expect: (r) => { expect(r.rcode).toBe('NOTIMP'); expect(r.answer).toEqual([]) } },
  { what: 'an unknown opcode without EDNS gets NOTIMP', qname: 'web.example.org', qtype: 'A', args: ['+opcode=15', '+noedns'],
    expect: (r) => { expect(r.rcode).toBe('NOTIMP') } },
  { what: 'an unknown type at a name that exists gets NODATA', qname: 'web.example.org', qtype: 'TYPE65000', args: [],
    expect: (r) => { expect(r.rcode).toBe('NOERROR'); expect(r.answer).toEqual([]); expect(r.authority[0]).toMatch(/ SOA /) } },
  { what: 'a 512-byte buffer gets TC when the answer does not fit', qname: 'big.example.org', qtype: 'TXT', args: ['+bufsize=512', '+ignore'],
    expect: (r) => { expect(r.flags).toContain('tc') } },
  { what: 'no EDNS: 512 bytes, TC when the answer does not fit', qname: 'big.example.org', qtype: 'TXT', args: ['+noedns', '+ignore'],
    expect: (r) => { expect(r.flags).toContain('tc'); expect(r.opt).toBe(false) } },
  { what: 'ANY over UDP gets one RRset (RFC 8482)', qname: 'example.org', qtype: 'ANY', args: ['+notcp', '+ignore'],
    expect: (r) => { expect(new Set(r.answer.map((l) => l.split(/\s+/)[3])).size).toBe(1) } },
  { what: 'ANY over UDP at a name with one type', qname: 'web.example.org', qtype: 'ANY', args: ['+notcp'],
    expect: (r) => { expect(r.answer).toHaveLength(1) } },
  { what: 'a CNAME loop: the chain round it once, no SOA in authority (not a negative answer)', qname: 'loop1.example.org', qtype: 'A', args: [],
    expect: (r) => { expect(r.rcode).toBe('NOERROR'); expect(r.answer).toHaveLength(2); expect(r.authority).toEqual([]) } },
  { what: 'a CNAME loop entered half-way', qname: 'loop2.example.org', qtype: 'TXT', args: [],
    expect: (r) => { expect(r.answer).toHaveLength(2); expect(r.authority).toEqual([]) } },
  { what: 'the DO bit is echoed, CD cleared (no DNSSEC here)', qname: 'web.example.org', qtype: 'A', args: ['+dnssec', '+cdflag'],
    expect: (r) => { expect(r.raw).toMatch(/flags: do;/); expect(r.flags).not.toContain('cd') } },
]

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('EDNS and header hygiene, side by side with knotd', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  let knot: Knotd
  beforeAll(async () => {
    server = await startServer(ZONES_DIR)
    knot = await startKnotd(ZONES_DIR, [{ domain: 'example.org', file: 'example.org.zone' }, { domain: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' }])
  }, 20_000)
  afterAll(async () => { await server?.stop(); await knot?.stop() })

  it.each(CASES)('$what', async (c) => {
    const [ours, theirs] = await expectSameAsKnot(server.port, knot.port, c.qname, c.qtype, { args: c.args, serials: true })
    expect(ours.opt).toBe(theirs.opt)
    c.expect(ours)
  })
})
