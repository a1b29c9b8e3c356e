/**
 * ZoneStore: the write API that zone files and Incus share, and the incremental compile behind it.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { ZoneDataError } from '../../../src/errors.ts'
import { wireKey } from '../../../src/zone/name.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import type { Rec } from '../../../src/zone/types.ts'
import type { TableChanges } from '../../../src/zone/table.ts'
import { ask } from '../../helpers/ask.ts'

const soa = (apex: string): Rec => ({
  name: apex, ttl: 3600,
  data: { type: 'SOA', mname: `ns1.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 60 },
})
const a = (name: string, address: string, ttl = 30): Rec => ({ name, ttl, data: { type: 'A', address } })
const cname = (name: string, target: string): Rec => ({ name, ttl: 30, data: { type: 'CNAME', target } })

describe('ZoneStore', () => {
  let clock: number
  let store: ZoneStore
  let shadowed: string[]
  beforeEach(() => {
    clock = 1_800_000_000
    shadowed = []
    store = new ZoneStore({ now: () => clock, onShadow: (n, t, w, l) => shadowed.push(`${n} ${t} ${w}>${l}`) })
    store.setOwner('file', 'incus.example.org', [soa('incus.example.org'), { name: 'incus.example.org', ttl: 3600, data: { type: 'NS', target: 'ns1.incus.example.org' } }])
  })

  describe('setOwner', () => {
    it('replaces every record the source had at the owner', () => {
      store.setOwner('incus', 'web.incus.example.org', [a('web.incus.example.org', '10.0.0.1'), a('web.incus.example.org', '10.0.0.2')])
      store.setOwner('incus', 'web.incus.example.org', [a('web.incus.example.org', '10.0.0.3')])
      expect(ask(store.table, 'web.incus.example.org', 'A').answer).toEqual(['web.incus.example.org. 30 IN A 10.0.0.3'])
    })

    it('lowercases names and canonicalizes addresses', () => {
      store.setOwner('incus', 'Web.INCUS.example.org', [{ name: 'WEB.incus.example.org', ttl: 30, data: { type: 'AAAA', address: '2001:DB8:0:0::0001' } }])
      expect(store.records('web.incus.example.org')).toEqual([{ name: 'web.incus.example.org', ttl: 30, data: { type: 'AAAA', address: '2001:db8::1' } }])
    })

    it('drops exact duplicates (RFC 2181 5)', () => {
      store.setOwner('incus', 'web.incus.example.org', [a('web.incus.example.org', '10.0.0.1'), a('web.incus.example.org', '10.0.0.1')])
      expect(ask(store.table, 'web.incus.example.org', 'A').answer).toHaveLength(1)
    })

    it('with [] removes the owner: NXDOMAIN afterwards', () => {
      store.setOwner('incus', 'web.incus.example.org', [a('web.incus.example.org', '10.0.0.1')])
      store.removeOwner('incus', 'web.incus.example.org')
      const d = ask(store.table, 'web.incus.example.org', 'A')
      expect(d.rcode).toBe(3)
      expect(d.authority[0]).toMatch(/^incus\.example\.org\. 60 IN SOA /)
    })

    it('rejects a name in no zone, naming it', () => {
      expect(() => store.setOwner('incus', 'web.example.com', [a('web.example.com', '10.0.0.1')])).toThrow(ZoneDataError)
      expect(() => store.setOwner('incus', 'web.example.com', [a('web.example.com', '10.0.0.1')])).toThrow(/web\.example\.com is in no zone/)
    })

    it('rejects a CNAME beside other data (RFC 1034 3.6.2)', () => {
      expect(() => store.setOwner('incus', 'x.incus.example.org', [cname('x.incus.example.org', 'y.incus.example.org'), a('x.incus.example.org', '10.0.0.1')]))
        .toThrow(/CNAME and other data/)
    })

    it('rejects bad addresses and labels', () => {
      expect(() => store.setOwner('incus', 'x.incus.example.org', [a('x.incus.example.org', '10.0.0.256')])).toThrow(/not an IPv4 address/)
      expect(() => store.setOwner('incus', 'x y.incus.example.org', [])).toThrow(/characters other than/)
      expect(() => store.setOwner('incus', `${'a'.repeat(64)}.incus.example.org`, [])).toThrow(/longer than 63/)
    })

    it('rejects records handed in for another owner', () => {
      expect(() => store.setOwner('incus', 'x.incus.example.org', [a('y.incus.example.org', '10.0.0.1')])).toThrow(/handed in for owner/)
    })
  })

  describe('precedence between sources', () => {
    it('zone files win over Incus per name and type, and the loser is reported', () => {
      store.setOwner('incus', 'db.incus.example.org', [a('db.incus.example.org', '10.0.0.9'), { name: 'db.incus.example.org', ttl: 30, data: { type: 'AAAA', address: 'fd00::9' } }])
      store.setOwner('file', 'db.incus.example.org', [a('db.incus.example.org', '192.0.2.9', 300)])
      expect(ask(store.table, 'db.incus.example.org', 'A').answer).toEqual(['db.incus.example.org. 300 IN A 192.0.2.9'])
      expect(ask(store.table, 'db.incus.example.org', 'AAAA').answer).toEqual(['db.incus.example.org. 30 IN AAAA fd00::9'])
      expect(shadowed).toContain('db.incus.example.org A file>incus')
      store.removeOwner('file', 'db.incus.example.org')
      expect(ask(store.table, 'db.incus.example.org', 'A').answer).toEqual(['db.incus.example.org. 30 IN A 10.0.0.9'])
    })

    it('a CNAME from the higher source keeps the whole name', () => {
      store.setOwner('incus', 'app.incus.example.org', [a('app.incus.example.org', '10.0.0.5')])
      store.setOwner('file', 'app.incus.example.org', [cname('app.incus.example.org', 'proxy.example.net')])
      expect(ask(store.table, 'app.incus.example.org', 'A').answer).toEqual(['app.incus.example.org. 30 IN CNAME proxy.example.net.'])
    })
  })

  describe('serials', () => {
    it('serves the serial its source wrote until the content changes; then once per batch, time-based, increasing', () => {
      expect(store.serial('incus.example.org')).toBe(1)
      expect(ask(store.table, 'incus.example.org', 'SOA').answer[0]).toContain(' 1 7200 900 1209600 60')
      store.batch(() => {
        for (let i = 0; i < 10; i++) store.setOwner('incus', `h${i}.incus.example.org`, [a(`h${i}.incus.example.org`, `10.0.1.${i}`)])
      })
      expect(store.serial('incus.example.org')).toBe(clock)
      store.setOwner('incus', 'h1.incus.example.org', [])
      expect(store.serial('incus.example.org')).toBe(clock + 1)
      clock += 1000
      store.setOwner('incus', 'h0.incus.example.org', [])
      expect(store.serial('incus.example.org')).toBe(clock)
      const served = ask(store.table, 'incus.example.org', 'SOA').answer[0]
      expect(served).toContain(` ${clock} 7200 900 1209600 60`)
      expect(store.records('incus.example.org').find((r) => r.data.type === 'SOA')?.data).toMatchObject({ serial: clock })
      expect(ask(store.table, 'nope.incus.example.org', 'A').authority[0]).toContain(` ${clock} `)
    })

    it('keeps a file serial larger than the clock and counts up from it', () => {
      store.setOwner('file', 'example.net', [{ ...soa('example.net'), data: { ...(soa('example.net').data as Extract<Rec['data'], { type: 'SOA' }>), serial: 2026112301 } }])
      expect(store.serial('example.net')).toBe(2026112301)
      store.setOwner('file', 'www.example.net', [a('www.example.net', '192.0.2.1')])
      expect(store.serial('example.net')).toBe(2026112302)
    })

    it('the same content again (an unchanged reload) does not bump; a reload that raised the file serial takes it', () => {
      const www = [a('www.incus.example.org', '192.0.2.1')]
      store.setOwner('file', 'www.incus.example.org', www)
      const s1 = store.serial('incus.example.org') as number
      store.batch(() => {
        store.setOwner('file', 'incus.example.org', [soa('incus.example.org'), { name: 'incus.example.org', ttl: 3600, data: { type: 'NS', target: 'ns1.incus.example.org' } }])
        store.setOwner('file', 'www.incus.example.org', www)
      })
      expect(store.serial('incus.example.org')).toBe(s1)
      const raised = { ...soa('incus.example.org'), data: { ...(soa('incus.example.org').data as Extract<Rec['data'], { type: 'SOA' }>), serial: 2100000000 } }
      store.setOwner('file', 'incus.example.org', [raised, { name: 'incus.example.org', ttl: 3600, data: { type: 'NS', target: 'ns1.incus.example.org' } }])
      expect(store.serial('incus.example.org')).toBe(2100000000)
    })
  })

  describe('wildcards (RFC 4592)', () => {
    it('a wildcard appearing or going changes what names below its parent get; an existing name wins', () => {
      expect(ask(store.table, 'x.web.incus.example.org', 'A').rcode).toBe(3)
      store.setOwner('incus', '*.web.incus.example.org', [a('*.web.incus.example.org', '10.0.0.9')])
      expect(ask(store.table, 'x.web.incus.example.org', 'A').answer).toEqual(['x.web.incus.example.org. 30 IN A 10.0.0.9'])
      expect(ask(store.table, 'a.b.web.incus.example.org', 'A').answer).toEqual(['a.b.web.incus.example.org. 30 IN A 10.0.0.9'])
      store.setOwner('incus', 'real.web.incus.example.org', [a('real.web.incus.example.org', '10.0.0.10')])
      expect(ask(store.table, 'real.web.incus.example.org', 'A').answer).toEqual(['real.web.incus.example.org. 30 IN A 10.0.0.10'])
      expect(ask(store.table, 'x.real.web.incus.example.org', 'A').rcode).toBe(3) // real is the closest encloser
      store.setOwner('incus', '*.web.incus.example.org', [])
      expect(ask(store.table, 'x.web.incus.example.org', 'A').rcode).toBe(3)
      expect(store.table.wildcards.size).toBe(0)
    })
  })

  describe('DNAME (RFC 6672)', () => {
    const wire = (name: string): string => Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]).toString('hex')
    it('synthesises a CNAME below the owner; YXDOMAIN with the DNAME alone when the result would pass 255 bytes', () => {
      const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.net`
      store.setOwner('file', 'old.incus.example.org', [{ name: 'old.incus.example.org', ttl: 120, data: { type: 'DNAME', hex: wire('new.example.net') } }])
      store.setOwner('file', 'far.incus.example.org', [{ name: 'far.incus.example.org', ttl: 120, data: { type: 'DNAME', hex: wire(long) } }])
      const ok = ask(store.table, 'Web.old.incus.example.org', 'A')
      expect(ok.rcode).toBe(0)
      expect(ok.answer).toHaveLength(2)
      expect(ok.answer[1]).toBe('web.old.incus.example.org. 120 IN CNAME web.new.example.net.')
      const tooLong = ask(store.table, `${'x'.repeat(40)}.${'y'.repeat(40)}.far.incus.example.org`, 'A')
      expect(tooLong.rcode).toBe(6)
      expect(tooLong.answer).toHaveLength(1)
      store.setOwner('file', 'old.incus.example.org', [])
      expect(ask(store.table, 'web.old.incus.example.org', 'A').rcode).toBe(3)
    })
  })

  describe('incremental compile', () => {
    it('a change recompiles the changed name and leaves unrelated answers untouched', () => {
      store.batch(() => {
        for (let i = 0; i < 50; i++) store.setOwner('incus', `n${i}.incus.example.org`, [a(`n${i}.incus.example.org`, `10.0.2.${i}`)])
      })
      const published: TableChanges[] = []
      store.table.listener = (changes) => published.push(changes)
      const before = store.table.names.get(wireKey('n7.incus.example.org'))
      store.setOwner('incus', 'n8.incus.example.org', [a('n8.incus.example.org', '10.9.9.9')])
      // Rewritten: the changed name, and the apex (its SOA carries the new serial). Nothing else.
      expect(published).toHaveLength(1)
      expect([...(published[0] as TableChanges).names.keys()].sort()).toEqual([wireKey('incus.example.org'), wireKey('n8.incus.example.org')].sort())
      expect(store.table.names.get(wireKey('n7.incus.example.org'))).toEqual(before)
      expect(ask(store.table, 'n8.incus.example.org', 'A').answer).toEqual(['n8.incus.example.org. 30 IN A 10.9.9.9'])
    })

    it('recompiles a CNAME when its target changes, including chains', () => {
      store.setOwner('incus', 'alias.incus.example.org', [cname('alias.incus.example.org', 'mid.incus.example.org')])
      store.setOwner('incus', 'mid.incus.example.org', [cname('mid.incus.example.org', 'end.incus.example.org')])
      expect(ask(store.table, 'alias.incus.example.org', 'A').rcode).toBe(3) // end does not exist yet
      store.setOwner('incus', 'end.incus.example.org', [a('end.incus.example.org', '10.0.3.1')])
      expect(ask(store.table, 'alias.incus.example.org', 'A').answer).toEqual([
        'alias.incus.example.org. 30 IN CNAME mid.incus.example.org.',
        'mid.incus.example.org. 30 IN CNAME end.incus.example.org.',
        'end.incus.example.org. 30 IN A 10.0.3.1',
      ])
      store.removeOwner('incus', 'end.incus.example.org')
      expect(ask(store.table, 'alias.incus.example.org', 'A').rcode).toBe(3)
    })

    it('recompiles a CNAME when a zone cut appears above its target, and when it goes (RFC 2317)', () => {
      const ns = (name: string, target: string): Rec => ({ name, ttl: 300, data: { type: 'NS', target } })
      store.setOwner('file', '70.incus.example.org', [cname('70.incus.example.org', '70.64/26.incus.example.org')])
      expect(ask(store.table, '70.incus.example.org', 'PTR').rcode).toBe(3) // nothing there yet
      store.setOwner('file', '64/26.incus.example.org', [ns('64/26.incus.example.org', 'ns.customer.example')])
      const referred = ask(store.table, '70.incus.example.org', 'PTR')
      expect(referred.rcode).toBe(0)
      expect(referred.flags.aa).toBe(true) // the CNAME is ours
      expect(referred.answer).toEqual(['70.incus.example.org. 30 IN CNAME 70.64/26.incus.example.org.'])
      expect(referred.authority).toEqual(['64/26.incus.example.org. 300 IN NS ns.customer.example.'])
      store.setOwner('file', '64/26.incus.example.org', [ns('64/26.incus.example.org', 'ns1.incus.example.org'), ns('64/26.incus.example.org', 'ns.customer.example')])
      store.setOwner('incus', 'ns1.incus.example.org', [a('ns1.incus.example.org', '10.0.0.53')])
      const glued = ask(store.table, '70.incus.example.org', 'PTR', 1232)
      expect(glued.authority).toHaveLength(2)
      expect(glued.additional).toEqual(['ns1.incus.example.org. 30 IN A 10.0.0.53'])
      store.removeOwner('file', '64/26.incus.example.org')
      expect(ask(store.table, '70.incus.example.org', 'PTR').rcode).toBe(3)
    })

    it('answers a CNAME loop with the chain and NOERROR, not a hang', () => {
      store.setOwner('incus', 'l1.incus.example.org', [cname('l1.incus.example.org', 'l2.incus.example.org')])
      store.setOwner('incus', 'l2.incus.example.org', [cname('l2.incus.example.org', 'l1.incus.example.org')])
      const d = ask(store.table, 'l1.incus.example.org', 'A')
      expect(d.rcode).toBe(0)
      expect(d.answer).toHaveLength(2)
    })

    it('makes empty non-terminals exist while a name below them does, and go with it', () => {
      store.setOwner('incus', 'web.staging.incus.example.org', [a('web.staging.incus.example.org', '10.0.4.1')])
      expect(ask(store.table, 'staging.incus.example.org', 'A').rcode).toBe(0)
      store.removeOwner('incus', 'web.staging.incus.example.org')
      expect(ask(store.table, 'staging.incus.example.org', 'A').rcode).toBe(3)
    })

    it('updates the additional section when an NS target gets an address', () => {
      store.setOwner('incus', 'ns1.incus.example.org', [a('ns1.incus.example.org', '10.0.0.53')])
      expect(ask(store.table, 'incus.example.org', 'NS', 1232).additional).toEqual(['ns1.incus.example.org. 30 IN A 10.0.0.53'])
    })

    it('serves a child zone from its own SOA and moves names into it', () => {
      store.setOwner('file', 'example.org', [soa('example.org')])
      store.setOwner('file', 'www.example.org', [a('www.example.org', '192.0.2.80')])
      store.setOwner('incus', 'web.incus.example.org', [a('web.incus.example.org', '10.0.0.1')])
      expect(ask(store.table, 'nope.example.org', 'A').authority[0]).toMatch(/^example\.org\. /)
      expect(ask(store.table, 'nope.incus.example.org', 'A').authority[0]).toMatch(/^incus\.example\.org\. /)
      expect(ask(store.table, 'www.example.org', 'A').answer).toEqual(['www.example.org. 30 IN A 192.0.2.80'])
    })
  })
})

describe('round-robin answers', () => {
  it('hands out an RRset of several records rotated, one rotation per query', () => {
    const store = new ZoneStore()
    store.setOwner('file', 'example.org', [soa('example.org')])
    store.setOwner('incus', 'svc.example.org', [a('svc.example.org', '10.0.0.1'), a('svc.example.org', '10.0.0.2'), a('svc.example.org', '10.0.0.3')])
    const firsts = Array.from({ length: 6 }, () => ask(store.table, 'svc.example.org', 'A').answer)
    for (const answer of firsts) expect([...answer].sort()).toEqual(['svc.example.org. 30 IN A 10.0.0.1', 'svc.example.org. 30 IN A 10.0.0.2', 'svc.example.org. 30 IN A 10.0.0.3'])
    expect(new Set(firsts.map((x) => x[0])).size).toBe(3)
  })
})
