/**
 * The hot path's view picker: longest client prefix wins, IPv4, IPv4-mapped and IPv6 sources, anything
 * unreadable goes to the default view, and the in-place IPv4 parser agrees with ipaddr.js on every string.
 */
import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import { ipv4, ViewTable } from '../../../src/dns/view-table.ts'
import type { View } from '../../../src/dns/view-table.ts'
import { AnswerTable } from '../../../src/zone/table.ts'

const view = (name: string): View => ({ name, table: new AnswerTable(), queries: 0 })

describe('ViewTable.pick', () => {
  const lan = view('lan')
  const host = view('host')
  const v6 = view('v6')
  const views = new ViewTable(new AnswerTable())
  views.set([lan, host, v6], [
    { cidr: '192.168.1.0/24', view: lan }, { cidr: '192.168.1.10/32', view: host }, { cidr: '192.168.0.0/16', view: v6 },
    { cidr: 'fd42:1::/64', view: v6 }, { cidr: 'fd42:1::10/128', view: host }, { cidr: '192.168.1.0/24', view: host },
  ])

  it('starts with no split: the transports never call pick', () => {
    expect(new ViewTable(new AnswerTable()).split).toBe(false)
    expect(views.split).toBe(true)
  })

  it('takes the longest prefix that holds the address; a prefix given twice keeps its first view', () => {
    expect(views.pick('192.168.1.10').name).toBe('host')
    expect(views.pick('192.168.1.11').name).toBe('lan')
    expect(views.pick('192.168.7.1').name).toBe('v6')
    expect(views.pick('10.0.0.1').name).toBe('default')
    expect(views.prefixes.map((p) => `${p.cidr} ${p.view}`)).toEqual(['192.168.1.10/32 host', '192.168.1.0/24 lan', '192.168.0.0/16 v6', 'fd42:1::10/128 host', 'fd42:1::/64 v6'])
  })

  it('reads IPv4-mapped and plain IPv6 sources, with or without a zone', () => {
    expect(views.pick('::ffff:192.168.1.10').name).toBe('host')
    expect(views.pick('fd42:1::10').name).toBe('host')
    expect(views.pick('fd42:1::11').name).toBe('v6')
    expect(views.pick('fd42:1:0:0:0:0:0:11').name).toBe('v6')
    expect(views.pick('fd42:2::1').name).toBe('default')
    expect(views.pick('fe80::1%eth0').name).toBe('default')
  })

  it('gives the default view to what it cannot read, and never throws', () => {
    for (const a of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', ':::', 'fd42:1::zz', '::ffff:300.1.1.1', ' 192.168.1.10']) {
      expect(views.pick(a).name, a).toBe('default')
    }
  })

  it('counts the queries of each view', () => {
    const vs = new ViewTable(new AnswerTable())
    const a = view('a')
    vs.set([a], [{ cidr: '10.0.0.0/8', view: a }])
    for (let i = 0; i < 5; i++) vs.pick('10.1.2.3')
    vs.pick('11.0.0.1')
    expect([vs.default.queries, a.queries]).toEqual([1, 5])
    expect(vs.all.map((v) => v.name)).toEqual(['default', 'a'])
  })

  it('keeps a flood of IPv6 sources to a bounded cache, and answers each right', () => {
    const vs = new ViewTable(new AnswerTable())
    const a = view('a')
    vs.set([a], [{ cidr: 'fd42::/16', view: a }])
    for (let i = 0; i < 5000; i++) expect(vs.pick(`fd42::${i.toString(16)}`)).toBe(a)
    expect(vs.pick('fd43::1')).toBe(vs.default)
  })
})

describe('ipv4 (in place, no allocation)', () => {
  it('agrees with ipaddr.js on dotted quads and on arbitrary strings', () => {
    const quad = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((t) => t.join('.'))
    fc.assert(fc.property(fc.oneof(quad, fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9.]{1,18}$/)), (s) => {
      const strict = ipaddr.IPv4.isValidFourPartDecimal(s) && !/(^|\.)0[0-9]/.test(s)
      const got = ipv4(s, 0)
      if (!strict) return got === -1 || /(^|\.)0[0-9]/.test(s) // leading zeros: read as decimal, which is what node gives anyway
      const b = ipaddr.IPv4.parse(s).toByteArray()
      return got === ((b[0] as number) * 2 ** 24 + (b[1] as number) * 2 ** 16 + (b[2] as number) * 2 ** 8 + (b[3] as number))
    }), { numRuns: 5000 })
  })
})
