/**
 * Clusters without a network: the member list (failover order, learning members, moves kept with reasons),
 * and the PTR of an address that instances on two members hold.
 */
import { describe, expect, it } from 'vitest'
import type { Mapped } from '../../../src/incus/naming/map.ts'
import { Members } from '../../../src/incus/api/members.ts'
import type { ClusterMember } from '../../../src/incus/api/members.ts'
import { InstanceRecords } from '../../../src/incus/naming/records.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ask } from '../../helpers/ask.ts'

const member = (n: number, status = 'Online'): ClusterMember => ({ server_name: `node${n}`, url: `https://10.0.0.${n}:8443`, status })

describe('Members', () => {
  it('uses the first URL until it fails, then the next, round the list; a failure of one not in use moves nothing', () => {
    const m = new Members(['https://a:8443', 'https://b:8443'])
    expect(m.current).toBe('https://a:8443')
    expect(m.failed('https://b:8443', 'stale')).toBeNull()
    expect(m.failed('https://a:8443', 'refused')).toBe('https://b:8443')
    expect(m.failed('https://b:8443', 'timeout')).toBe('https://a:8443')
    expect(m.moved).toBe(2)
    expect(m.switches.map((s) => [s.from, s.to, s.reason])).toEqual([['https://a:8443', 'https://b:8443', 'refused'], ['https://b:8443', 'https://a:8443', 'timeout']])
  })

  it('one URL: nothing to move to', () => {
    const m = new Members(['https://a:8443'])
    expect(m.failed('https://a:8443', 'refused')).toBeNull()
    expect(m.moved).toBe(0)
  })

  it('learns the members after the configured URLs, drops learnt ones the cluster no longer lists, never the one in use', () => {
    const m = new Members(['https://10.0.0.1:8443'])
    m.learn([member(1), member(2), member(3)])
    expect(m.urls).toEqual(['https://10.0.0.1:8443', 'https://10.0.0.2:8443', 'https://10.0.0.3:8443'])
    expect(m.failed('https://10.0.0.1:8443', 'refused')).toBe('https://10.0.0.2:8443')
    m.learn([member(1), member(2)]) // node3 removed from the cluster
    expect(m.urls).toEqual(['https://10.0.0.1:8443', 'https://10.0.0.2:8443'])
    expect(m.current).toBe('https://10.0.0.2:8443')
    m.learn([member(1)]) // even the one in use, when removed, stays until it fails
    expect(m.current).toBe('https://10.0.0.2:8443')
    expect(m.known).toEqual([member(1)])
  })
})

describe('one address on two cluster members', () => {
  const S = 'incus.example.org'
  const m = (name: string, location: string | undefined): Mapped => ({
    key: `default/${name}`, project: 'default', name, hostname: `${name}.${S}`, aliases: [], ipv4: '10.251.91.5', ipv6: null,
    ...(location !== undefined ? { location } : {}), skipped: null, awaitingAddress: false,
  })
  const setup = (): { store: ZoneStore; r: InstanceRecords; events: string[] } => {
    const store = new ZoneStore()
    for (const apex of [S, '91.251.10.in-addr.arpa']) {
      store.setOwner('incus', apex, [{ name: apex, ttl: 30, data: { type: 'SOA', mname: `ns.${S}`, rname: `hostmaster.${S}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }])
    }
    const events: string[] = []
    const r = new InstanceRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict: (n, w, l, rule) => events.push(`${n} ${w}>${l}: ${rule}`), rejected: () => {} })
    r.setReverseZones(['91.251.10.in-addr.arpa'])
    return { store, r, events }
  }
  const PTR = '5.91.251.10.in-addr.arpa'

  it('gives no PTR (it could name the wrong one), each name still answers, and it is reported; one left: its PTR again', () => {
    const { store, r, events } = setup()
    r.apply(store, new Map([['default/a', m('a', 'node1')], ['default/b', m('b', 'node2')]]))
    expect(ask(store.table, PTR, 'PTR').rcode).toBe(3)
    expect(ask(store.table, `a.${S}`, 'A').answer).toEqual([`a.${S}. 30 IN A 10.251.91.5`])
    expect(ask(store.table, `b.${S}`, 'A').answer).toEqual([`b.${S}. 30 IN A 10.251.91.5`])
    expect(r.sharedAddresses()).toEqual([{ ptr: PTR, instances: ['default/a', 'default/b'] }])
    expect(events).toEqual([`${PTR} default/a>default/b: the same address on two cluster members: no PTR, since it could name the wrong instance`])
    r.apply(store, new Map([['default/a', null]]))
    expect(ask(store.table, PTR, 'PTR').answer).toEqual([`${PTR}. 30 IN PTR b.${S}.`])
    expect(r.sharedAddresses()).toEqual([])
  })

  it('on one member, or a standalone server, the first by project/name keeps the PTR as before', () => {
    const { store, r } = setup()
    r.apply(store, new Map([['default/a', m('a', 'node1')], ['default/b', m('b', 'node1')]]))
    expect(ask(store.table, PTR, 'PTR').answer).toEqual([`${PTR}. 30 IN PTR a.${S}.`])
    const standalone = setup()
    standalone.r.apply(standalone.store, new Map([['default/a', m('a', undefined)], ['default/b', m('b', undefined)]]))
    expect(ask(standalone.store.table, PTR, 'PTR').answer).toEqual([`${PTR}. 30 IN PTR a.${S}.`])
  })
})
