/**
 * Services through InstanceRecords: replicas answering one name, health taking them out and back, the
 * all-withheld rule, two stacks and an instance on one name, SRV under instances and services, views.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { parseViews } from '../../../src/config/view-specs.ts'
import type { Network } from '../../../src/incus/api/types.ts'
import type { SrvSpec } from '../../../src/incus/naming/labels.ts'
import type { Mapped } from '../../../src/incus/naming/map.ts'
import { InstanceRecords } from '../../../src/incus/naming/records.ts'
import { selectService } from '../../../src/incus/naming/services.ts'
import { ViewRecords } from '../../../src/incus/naming/view-records.ts'
import { resolveViews } from '../../../src/incus/naming/view-ranges.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ViewStores } from '../../../src/zone/view-stores.ts'
import { ask } from '../../helpers/ask.ts'

const S = 'incus.example.org'
const soa = (apex: string) => [{ name: apex, ttl: 30, data: { type: 'SOA' as const, mname: `ns.${S}`, rname: `hostmaster.${S}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }]

interface Replica { service?: string; stack?: string; health?: string; srv?: SrvSpec[]; ipv6?: string | null; aliases?: string[]; addresses?: string[]; skipped?: string }
function replica(name: string, ipv4: string, o: Replica = {}): Mapped {
  return {
    key: `default/${name}`, project: 'default', name, hostname: `${name}.${S}`, aliases: o.aliases ?? [], ipv4, ipv6: o.ipv6 ?? null,
    ...(o.service !== undefined ? { service: `${o.service}.${S}` } : {}), ...(o.stack !== undefined ? { stack: o.stack } : {}),
    ...(o.health !== undefined ? { health: o.health } : {}), ...(o.srv !== undefined ? { srv: o.srv } : {}),
    ...(o.addresses !== undefined ? { addresses: o.addresses } : {}),
    skipped: o.skipped ?? null, awaitingAddress: false,
  }
}
const http = (port = 80, priority = 0, weight = 1): SrvSpec => ({ service: 'http', proto: 'tcp', port, priority, weight })

describe('services', () => {
  let store: ZoneStore
  let events: string[]
  let r: InstanceRecords
  const apply = (...ms: (Mapped | [string, null])[]): void => {
    r.apply(store, new Map(ms.map((m) => (Array.isArray(m) ? m : [m.key, m]))))
  }
  const a = (name: string): string[] => ask(store.table, name, 'A').answer.map((l) => l.split(' ').pop() as string).sort()
  beforeEach(() => {
    events = []
    store = new ZoneStore()
    store.setOwner('incus', S, soa(S))
    r = new InstanceRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null },
      { conflict: (n, w, l, rule) => events.push(`${n} ${w}>${l}: ${rule}`), rejected: (n, why) => events.push(`rejected ${n}: ${why}`) })
  })

  it('three replicas: the service answers A and AAAA with all of them, each replica still answers its own name', () => {
    apply(...[1, 2, 3].map((i) => replica(`web-${i}`, `10.42.0.${i}`, { service: 'web', stack: 'shop', ipv6: `fd42::${i}` })))
    const reply = ask(store.table, `web.${S}`, 'A')
    expect(reply.rcode).toBe(0)
    expect(reply.flags.aa).toBe(true)
    expect(reply.answer.sort()).toEqual([1, 2, 3].map((i) => `web.${S}. 30 IN A 10.42.0.${i}`))
    expect(ask(store.table, `web.${S}`, 'AAAA').answer.sort()).toEqual([1, 2, 3].map((i) => `web.${S}. 30 IN AAAA fd42::${i}`))
    expect(a(`web-2.${S}`)).toEqual(['10.42.0.2'])
    expect(events).toEqual([])
  })

  it('health: unhealthy, starting and stopped are withheld; healthy, unknown and no key served; the own name always answers', () => {
    apply(replica('web-1', '10.42.0.1', { service: 'web', health: 'healthy' }), replica('web-2', '10.42.0.2', { service: 'web', health: 'unknown' }),
      replica('web-3', '10.42.0.3', { service: 'web' }), replica('web-4', '10.42.0.4', { service: 'web', health: 'unhealthy' }),
      replica('web-5', '10.42.0.5', { service: 'web', health: 'starting' }), replica('web-6', '10.42.0.6', { service: 'web', health: 'stopped' }))
    expect(a(`web.${S}`)).toEqual(['10.42.0.1', '10.42.0.2', '10.42.0.3'])
    expect(a(`web-4.${S}`)).toEqual(['10.42.0.4'])
    // Back to healthy: served again; a served one going unhealthy leaves.
    apply(replica('web-4', '10.42.0.4', { service: 'web', health: 'healthy' }), replica('web-1', '10.42.0.1', { service: 'web', health: 'unhealthy' }))
    expect(a(`web.${S}`)).toEqual(['10.42.0.2', '10.42.0.3', '10.42.0.4'])
  })

  it('every replica withheld: all are served, and the status rows say so', () => {
    apply(replica('db-1', '10.42.0.11', { service: 'db', health: 'unhealthy' }), replica('db-2', '10.42.0.12', { service: 'db', health: 'starting' }))
    expect(a(`db.${S}`)).toEqual(['10.42.0.11', '10.42.0.12'])
    const [row] = r.services()
    expect(row).toMatchObject({ service: `db.${S}`, served: 2, withheld: 0, failOpen: true })
    expect(row?.replicas.map((x) => x.why)).toEqual(['every replica is withheld, so all are served (unhealthy)', 'every replica is withheld, so all are served (starting)'])
    // One recovers: only it is served.
    apply(replica('db-2', '10.42.0.12', { service: 'db', health: 'healthy' }))
    expect(a(`db.${S}`)).toEqual(['10.42.0.12'])
    expect(r.services()[0]).toMatchObject({ served: 1, withheld: 1, failOpen: false })
  })

  it("two stacks with one service name: the stack whose name sorts first keeps it, whatever the order they came in; the other's replicas are reported", () => {
    apply(replica('web-1', '10.42.0.1', { service: 'web', stack: 'shop' }))
    apply(replica('blog-web-1', '10.42.0.9', { service: 'web', stack: 'blog' }))
    expect(a(`web.${S}`)).toEqual(['10.42.0.9'])
    expect(events).toEqual([`web.${S} default/blog-web-1>default/web-1: the stack whose name sorts first ('blog') keeps it`])
    const [row] = r.services()
    expect(row?.replicas.map((x) => [x.instance, x.served, x.why])).toEqual([
      ['default/blog-web-1', true, 'no health key'],
      ['default/web-1', false, `stack 'blog' keeps web.${S} (its name sorts first)`],
    ])
    // Unhealthy replicas of the winning stack are not replaced by the other stack's.
    apply(replica('blog-web-1', '10.42.0.9', { service: 'web', stack: 'blog', health: 'unhealthy' }))
    expect(a(`web.${S}`)).toEqual(['10.42.0.9'])
    apply(['default/blog-web-1', null])
    expect(a(`web.${S}`)).toEqual(['10.42.0.1'])
  })

  it('a service named like an instance: the instance keeps the name; a service beats an alias', () => {
    apply(replica('api', '10.42.0.50'), replica('api-1', '10.42.0.51', { service: 'api' }))
    expect(a(`api.${S}`)).toEqual(['10.42.0.50'])
    expect(events).toEqual([`api.${S} default/api>default/api-1: an instance's own name beats a service or an alias`])
    expect(r.services()[0]?.replicas[0]?.why).toBe(`api.${S} is the name of instance default/api, which beats a service`)
    apply(['default/api', null])
    expect(a(`api.${S}`)).toEqual(['10.42.0.51'])
    apply(replica('other', '10.42.0.60', { aliases: [`api.${S}`] }))
    expect(a(`api.${S}`)).toEqual(['10.42.0.51'])
    expect(events.at(-1)).toBe(`api.${S} default/api-1>default/other: a service beats an alias`)
  })

  it('SRV: under the instance, its own; under the service, one per served replica; targets get their addresses in additional', () => {
    apply(replica('web-1', '10.42.0.1', { service: 'web', srv: [http()], ipv6: 'fd42::1' }), replica('web-2', '10.42.0.2', { service: 'web', srv: [http(8080, 10, 5)] }),
      replica('web-3', '10.42.0.3', { service: 'web', srv: [http()], health: 'unhealthy' }))
    const own = ask(store.table, `_http._tcp.web-2.${S}`, 'SRV')
    expect(own.answer).toEqual([`_http._tcp.web-2.${S}. 30 IN SRV 10 5 8080 web-2.${S}.`])
    expect(own.additional).toEqual([`web-2.${S}. 30 IN A 10.42.0.2`])
    const svc = ask(store.table, `_http._tcp.web.${S}`, 'SRV')
    expect(svc.answer.sort()).toEqual([`_http._tcp.web.${S}. 30 IN SRV 0 1 80 web-1.${S}.`, `_http._tcp.web.${S}. 30 IN SRV 10 5 8080 web-2.${S}.`])
    expect(svc.additional.sort()).toEqual([`web-1.${S}. 30 IN A 10.42.0.1`, `web-1.${S}. 30 IN AAAA fd42::1`, `web-2.${S}. 30 IN A 10.42.0.2`])
    // The withheld replica keeps its own SRV; a replica going unhealthy leaves the service's, even one without an SRV key of its own changing it.
    expect(ask(store.table, `_http._tcp.web-3.${S}`, 'SRV').answer).toHaveLength(1)
    apply(replica('web-1', '10.42.0.1', { service: 'web', srv: [http()], ipv6: 'fd42::1', health: 'stopped' }))
    expect(ask(store.table, `_http._tcp.web.${S}`, 'SRV').answer).toEqual([`_http._tcp.web.${S}. 30 IN SRV 10 5 8080 web-2.${S}.`])
    // The name exists with A but no SRV there: NODATA; no SRV key anywhere: NXDOMAIN.
    expect(ask(store.table, `_tcp.web.${S}`, 'SRV').answer).toEqual([])
    expect(ask(store.table, `_tcp.web.${S}`, 'SRV').rcode).toBe(0)
    expect(ask(store.table, `_smtp._tcp.web.${S}`, 'SRV').rcode).toBe(3)
    // Removing the key removes the records.
    apply(replica('web-2', '10.42.0.2', { service: 'web' }), replica('web-1', '10.42.0.1', { service: 'web' }), replica('web-3', '10.42.0.3', { service: 'web' }))
    expect(ask(store.table, `_http._tcp.web.${S}`, 'SRV').rcode).toBe(3)
    expect(ask(store.table, `_http._tcp.web-2.${S}`, 'SRV').rcode).toBe(3)
  })

  it("SRV under a service name an instance holds: the instance's own SRV only, and the service's come back when it goes", () => {
    apply(replica('api-1', '10.42.0.51', { service: 'api', srv: [http()] }))
    expect(ask(store.table, `_http._tcp.api.${S}`, 'SRV').answer).toEqual([`_http._tcp.api.${S}. 30 IN SRV 0 1 80 api-1.${S}.`])
    apply(replica('api', '10.42.0.50'))
    expect(ask(store.table, `_http._tcp.api.${S}`, 'SRV').rcode).toBe(3)
    apply(['default/api', null])
    expect(ask(store.table, `_http._tcp.api.${S}`, 'SRV').answer).toHaveLength(1)
  })

  it('selectService is deterministic: the same claimants in any order give the same selection', () => {
    const ms = [replica('b', '10.0.0.2', { service: 'x', stack: 'z' }), replica('a', '10.0.0.1', { service: 'x', stack: 'y' }), replica('c', '10.0.0.3', { service: 'x' })]
    const sorted = [...ms].sort((p, q) => (p.key < q.key ? -1 : 1))
    const one = selectService(sorted)
    expect(one.stack).toBe('') // no stack label: the '' stack, which sorts first
    expect(one.served.map((m) => m.name)).toEqual(['c'])
    expect(one.otherStacks.map((m) => m.name)).toEqual(['a', 'b'])
  })
})

describe('services in split-horizon views', () => {
  const net = (name: string, v4: string): Network => ({ name, type: 'bridge', managed: true, config: { 'ipv4.address': v4, 'ipv6.address': 'none' } })
  it("each view's service answers with the replicas' addresses in that view, and SRV additional follows", () => {
    const zones = new ViewStores(new ZoneStore(), () => new ZoneStore({ journalSize: 0 }))
    zones.setOwner('incus', S, soa(S))
    const records = new ViewRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict: () => {}, rejected: () => {} })
    const views = resolveViews(parseViews('auto'), [net('br0', '10.42.0.1/24'), net('br1', '10.43.0.1/24')])
    zones.reconcile(views.map((v) => v.name))
    records.setViews(views, new Map([...zones.named]))
    records.apply(zones.default, new Map([1, 2].map((i) => [`default/web-${i}`, replica(`web-${i}`, `10.42.0.${i}`, { service: 'web', srv: [http()], addresses: [`10.42.0.${i}`, `10.43.0.${i}`] })])))
    const br1 = zones.store('br1') as ZoneStore
    expect(ask(br1.table, `web.${S}`, 'A').answer.sort()).toEqual([`web.${S}. 30 IN A 10.43.0.1`, `web.${S}. 30 IN A 10.43.0.2`])
    expect(ask(zones.default.table, `web.${S}`, 'A').answer.sort()).toEqual([`web.${S}. 30 IN A 10.42.0.1`, `web.${S}. 30 IN A 10.42.0.2`])
    expect(ask(br1.table, `_http._tcp.web.${S}`, 'SRV').additional.sort()).toEqual([`web-1.${S}. 30 IN A 10.43.0.1`, `web-2.${S}. 30 IN A 10.43.0.2`])
  })
})
