/**
 * InstanceRecords: many instances → records per owner, with conflicts, shared aliases and PTRs.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { Mapped } from '../../../src/incus/naming/map.ts'
import { InstanceRecords } from '../../../src/incus/naming/records.ts'
import type { RecordSettings } from '../../../src/incus/naming/records.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ask } from '../../helpers/ask.ts'

const SUFFIX = 'incus.example.org'
function m(key: string, hostname: string | null, ipv4: string | null, ipv6: string | null = null, aliases: string[] = []): Mapped {
  const [project, name] = key.split('/') as [string, string]
  return { key, project, name, hostname, aliases, ipv4, ipv6, skipped: hostname === null ? 'no name' : null, awaitingAddress: false }
}

describe('InstanceRecords', () => {
  let store: ZoneStore
  let events: string[]
  const make = (settings: Partial<RecordSettings> = {}): InstanceRecords => new InstanceRecords(
    { ttl: 30, targetMode: 'guest-ip', cnameTarget: null, ...settings },
    { conflict: (n, w, l) => events.push(`conflict ${n} ${w}>${l}`), rejected: (n, r) => events.push(`rejected ${n}: ${r}`) },
  )
  beforeEach(() => {
    events = []
    store = new ZoneStore()
    for (const apex of [SUFFIX, '0.42.10.in-addr.arpa']) {
      store.setOwner('incus', apex, [{ name: apex, ttl: 30, data: { type: 'SOA', mname: `ns.${SUFFIX}`, rname: `hostmaster.${SUFFIX}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }])
    }
  })

  it('publishes A, AAAA and PTR records and removes them when the instance goes', () => {
    const r = make()
    r.setReverseZones(['0.42.10.in-addr.arpa'])
    r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15', 'fd42::15')]]))
    expect(ask(store.table, `web.${SUFFIX}`, 'A').answer).toEqual([`web.${SUFFIX}. 30 IN A 10.42.0.15`])
    expect(ask(store.table, `web.${SUFFIX}`, 'AAAA').answer).toEqual([`web.${SUFFIX}. 30 IN AAAA fd42::15`])
    expect(ask(store.table, '15.0.42.10.in-addr.arpa', 'PTR').answer).toEqual([`15.0.42.10.in-addr.arpa. 30 IN PTR web.${SUFFIX}.`])
    r.apply(store, new Map([['default/web', null]]))
    expect(ask(store.table, `web.${SUFFIX}`, 'A').rcode).toBe(3)
    expect(ask(store.table, '15.0.42.10.in-addr.arpa', 'PTR').rcode).toBe(3)
  })

  it('a rename moves the records: the old name goes', () => {
    const r = make()
    r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15')]]))
    r.apply(store, new Map<string, Mapped | null>([['default/web', null], ['default/web2', m('default/web2', `web2.${SUFFIX}`, '10.42.0.15')]]))
    expect(ask(store.table, `web.${SUFFIX}`, 'A').rcode).toBe(3)
    expect(ask(store.table, `web2.${SUFFIX}`, 'A').answer).toEqual([`web2.${SUFFIX}. 30 IN A 10.42.0.15`])
  })

  it('two instances claiming one name: the smaller project/name wins, with a warning and a count', () => {
    const r = make()
    r.apply(store, new Map([
      ['default/web', m('default/web', `shop.${SUFFIX}`, '10.42.0.15')],
      ['default/app', m('default/app', `shop.${SUFFIX}`, '10.42.0.23')],
    ]))
    expect(ask(store.table, `shop.${SUFFIX}`, 'A').answer).toEqual([`shop.${SUFFIX}. 30 IN A 10.42.0.23`])
    expect(events).toEqual([`conflict shop.${SUFFIX} default/app>default/web`])
    expect(r.conflicts).toBe(1)
    // A standing conflict is reported once, however often the name is settled again.
    r.apply(store, new Map([['default/web', m('default/web', `shop.${SUFFIX}`, '10.42.0.16')]]))
    expect(r.conflicts).toBe(1)
    r.apply(store, new Map([['default/app', null]]))
    expect(ask(store.table, `shop.${SUFFIX}`, 'A').answer).toEqual([`shop.${SUFFIX}. 30 IN A 10.42.0.16`])
  })

  it('an alias of one instance is a CNAME to its hostname; shared by several, a round-robin of all addresses', () => {
    const r = make()
    r.apply(store, new Map([['default/web1', m('default/web1', `web1.${SUFFIX}`, '10.42.0.1', null, [`www.${SUFFIX}`])]]))
    expect(ask(store.table, `www.${SUFFIX}`, 'A').answer).toEqual([`www.${SUFFIX}. 30 IN CNAME web1.${SUFFIX}.`, `web1.${SUFFIX}. 30 IN A 10.42.0.1`])
    r.apply(store, new Map([['default/web2', m('default/web2', `web2.${SUFFIX}`, '10.42.0.2', 'fd42::2', [`www.${SUFFIX}`])]]))
    expect(ask(store.table, `www.${SUFFIX}`, 'A').answer).toEqual([`www.${SUFFIX}. 30 IN A 10.42.0.1`, `www.${SUFFIX}. 30 IN A 10.42.0.2`])
    expect(ask(store.table, `www.${SUFFIX}`, 'AAAA').answer).toEqual([`www.${SUFFIX}. 30 IN AAAA fd42::2`])
  })

  it('cname mode: every hostname is a CNAME to the target, and no PTRs', () => {
    const r = make({ targetMode: 'cname', cnameTarget: 'proxy.example.net' })
    r.setReverseZones(['0.42.10.in-addr.arpa'])
    r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15')]]))
    expect(ask(store.table, `web.${SUFFIX}`, 'A').answer).toEqual([`web.${SUFFIX}. 30 IN CNAME proxy.example.net.`])
    expect(ask(store.table, '15.0.42.10.in-addr.arpa', 'PTR').rcode).toBe(3)
  })

  it('a name outside every zone is reported, not thrown, and the rest is published', () => {
    const r = make()
    r.apply(store, new Map([
      ['default/a', m('default/a', 'a.example.com', '10.42.0.1')],
      ['default/b', m('default/b', `b.${SUFFIX}`, '10.42.0.2')],
    ]))
    expect(events).toEqual(['rejected a.example.com: a.example.com is in no zone we serve; add a zone file for its domain'])
    expect(ask(store.table, `b.${SUFFIX}`, 'A').rcode).toBe(0)
  })

  it('removes PTRs from a reverse zone that goes away', () => {
    const r = make()
    r.setReverseZones(['0.42.10.in-addr.arpa'])
    r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15')]]))
    expect(ask(store.table, '15.0.42.10.in-addr.arpa', 'PTR').rcode).toBe(0)
    expect(r.setReverseZones([])).toBe(true)
    r.apply(store, new Map(r.instances))
    expect(ask(store.table, '15.0.42.10.in-addr.arpa', 'PTR').rcode).toBe(3)
  })

  it('writes nothing for an instance whose records did not change', () => {
    const r = make()
    r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15')]]))
    const serial = store.serial(SUFFIX)
    expect(r.apply(store, new Map([['default/web', m('default/web', `web.${SUFFIX}`, '10.42.0.15')]]))).toEqual([])
    expect(store.serial(SUFFIX)).toBe(serial)
  })
})
