/**
 * Split horizon, the Incus side: every address of an instance and user.dns.nic (map.ts), views resolved
 * against networks, an instance as a view sees it, and the records of each view's store, with ViewStores
 * sharing the zone files and generated apexes among the stores.
 */
import { describe, expect, it } from 'vitest'
import { parseViews } from '../../../src/config/view-specs.ts'
import type { Instance, Network } from '../../../src/incus/api/types.ts'
import { mapInstance } from '../../../src/incus/naming/map.ts'
import { networkFamilies } from '../../../src/incus/naming/instance-addresses.ts'
import type { Mapped, MapSettings } from '../../../src/incus/naming/map.ts'
import { Acl } from '../../../src/address.ts'
import { inView, ViewRecords } from '../../../src/incus/naming/view-records.ts'
import { resolveViews } from '../../../src/incus/naming/view-ranges.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ViewStores } from '../../../src/zone/view-stores.ts'
import { ask } from '../../helpers/ask.ts'
import { edited, instance } from '../../helpers/fixtures.ts'

const S: MapSettings = { suffix: 'incus.example.org', states: new Set(['running']), allAddresses: true }
const net = (name: string, v4: string, v6 = 'none'): Network => ({ name, type: 'bridge', managed: true, config: { 'ipv4.address': v4, 'ipv6.address': v6 } })
const BR0 = net('incusbr0', '10.42.0.1/24', 'fd42:4c81:5770:1eaf::1/64')
const BR1 = net('incusbr1', '10.43.0.1/24', 'fd42:4c81:5770:2eaf::1/64')

/** The fixture's `web` with a second NIC `eth1` on incusbr1; its state lists eth1 first, as a guest may. */
function twoNics(config: Record<string, string> = {}): Instance {
  return edited(instance('default/web'), (x) => {
    x.expanded_devices.eth1 = { name: 'eth1', network: 'incusbr1', type: 'nic' }
    x.expanded_config['volatile.eth1.hwaddr'] = '10:66:6a:00:00:99'
    Object.assign(x.expanded_config, config)
    x.state.network = {
      eth1: { ...x.state.network.eth0, hwaddr: '10:66:6a:00:00:99', addresses: [
        { family: 'inet', address: '10.43.0.15', netmask: '24', scope: 'global' },
        { family: 'inet6', address: 'fd42:4c81:5770:2eaf::15', netmask: '64', scope: 'global' },
      ] },
      ...x.state.network,
    }
  })
}

describe('mapInstance with several NICs', () => {
  it('keeps every usable address, eth0 (the first device) first; the default view takes eth0', () => {
    const m = mapInstance(twoNics(), S)
    expect([m.ipv4, m.ipv6]).toEqual(['10.42.0.15', 'fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd'])
    expect(m.addresses).toEqual(['10.42.0.15', 'fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd', '10.43.0.15', 'fd42:4c81:5770:2eaf::15'])
    expect(mapInstance(twoNics(), { ...S, allAddresses: false }).addresses).toBeUndefined()
  })

  it('user.dns.nic picks the NIC of the default view; one that names no NIC is said, and eth0 used', () => {
    const m = mapInstance(twoNics({ 'user.dns.nic': 'eth1' }), S)
    expect([m.ipv4, m.ipv6]).toEqual(['10.43.0.15', 'fd42:4c81:5770:2eaf::15'])
    expect(m.warning).toBeUndefined()
    const bad = mapInstance(twoNics({ 'user.dns.nic': 'lan0' }), S)
    expect(bad.ipv4).toBe('10.42.0.15')
    expect(bad.warning).toBe('user.dns.nic=lan0 names no NIC device of the instance (it has eth0, eth1); the first NIC is used')
  })
})

describe('waiting for every NIC with views', () => {
  const families = networkFamilies([BR0, BR1])
  const eth1Empty = (): Instance => edited(twoNics(), (x) => { x.state.network.eth1.addresses = [] })
  it('waits for a second NIC on a managed network that has no address yet, only with views', () => {
    expect(mapInstance(eth1Empty(), S, families).awaitingAddress).toBe('network')
    expect(mapInstance(eth1Empty(), { ...S, allAddresses: false }, families).awaitingAddress).toBe(false)
    expect(mapInstance(twoNics(), S, families).awaitingAddress).toBe(false)
  })
})

describe('resolveViews', () => {
  it("auto makes one view per managed network with a subnet; a view named like a network replaces that network's", () => {
    const specs = parseViews('auto; incusbr1=127.0.0.3>incusbr1; lan=192.168.1.0/24>192.168.1.0/24,incusbr0,nosuch')
    const v4only = net('v4only', '10.44.0.1/24')
    const none = net('nosubnet', 'none')
    const unmanaged: Network = { ...net('eth0', '192.0.2.1/24'), managed: false }
    expect(resolveViews(specs, [BR0, BR1, v4only, none, unmanaged])).toEqual([
      { name: 'incusbr0', clients: ['10.42.0.0/24', 'fd42:4c81:5770:1eaf::/64'], sees: ['10.42.0.0/24', 'fd42:4c81:5770:1eaf::/64'], missing: [] },
      { name: 'v4only', clients: ['10.44.0.0/24'], sees: ['10.44.0.0/24'], missing: [] },
      { name: 'incusbr1', clients: ['127.0.0.3/32'], sees: ['10.43.0.0/24', 'fd42:4c81:5770:2eaf::/64'], missing: [] },
      { name: 'lan', clients: ['192.168.1.0/24'], sees: ['192.168.1.0/24', '10.42.0.0/24', 'fd42:4c81:5770:1eaf::/64'], missing: ['nosuch'] },
    ])
    expect(resolveViews(parseViews('auto'), [])).toEqual([])
  })
})

describe('inView', () => {
  const m = mapInstance(twoNics(), S)
  it("gives the view's first address of each family, or the default view's when it has none there", () => {
    expect(inView(m, new Acl(['10.43.0.0/24', 'fd42:4c81:5770:2eaf::/64']))).toMatchObject({ ipv4: '10.43.0.15', ipv6: 'fd42:4c81:5770:2eaf::15' })
    expect(inView(m, new Acl(['192.168.0.0/16']))).toBe(m)
    expect(inView(m, new Acl(['10.42.0.0/16', 'fd42::/16']))).toBe(m) // the default view's own: the same object
  })
  it('never mixes: with only an IPv4 in the view, no IPv6', () => {
    expect(inView(m, new Acl(['10.43.0.0/24']))).toMatchObject({ ipv4: '10.43.0.15', ipv6: null })
  })
})

describe('ViewRecords with ViewStores', () => {
  const SUFFIX = 'incus.example.org'
  const soa = (apex: string) => [{ name: apex, ttl: 30, data: { type: 'SOA' as const, mname: `ns.${SUFFIX}`, rname: `hostmaster.${SUFFIX}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }]
  const mapped = (key: string, addresses: string[], ipv4: string | null, ipv6: string | null = null): Mapped => {
    const [project, name] = key.split('/') as [string, string]
    return { key, project, name, hostname: `${name}.${SUFFIX}`, aliases: [], ipv4, ipv6, addresses, skipped: null, awaitingAddress: false }
  }

  it("writes each view's addresses and PTRs into its store, and what they share into every store, new ones too", () => {
    const zones = new ViewStores(new ZoneStore(), () => new ZoneStore({ journalSize: 0 }))
    zones.setOwner('file', 'example.org', soa('example.org'))
    zones.setOwner('file', 'www.example.org', [{ name: 'www.example.org', ttl: 60, data: { type: 'CNAME', target: `web.${SUFFIX}` } }])
    zones.batch(() => { for (const apex of [SUFFIX, '0.42.10.in-addr.arpa', '0.43.10.in-addr.arpa']) zones.setOwner('incus', apex, soa(apex)) })
    const records = new ViewRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict: () => {}, rejected: () => {} })
    records.setReverseZones(['0.42.10.in-addr.arpa', '0.43.10.in-addr.arpa'])
    records.apply(zones.default, new Map([['default/web', mapped('default/web', ['10.42.0.15', '10.43.0.15'], '10.42.0.15')]]))
    const views = resolveViews(parseViews('auto'), [BR0, BR1])
    zones.reconcile(views.map((v) => v.name))
    records.setViews(views, new Map([...zones.named]))
    const br1 = zones.store('incusbr1') as ZoneStore
    expect(ask(br1.table, `web.${SUFFIX}`, 'A').answer).toEqual([`web.${SUFFIX}. 30 IN A 10.43.0.15`])
    expect(ask(br1.table, 'www.example.org', 'A').answer).toEqual(['www.example.org. 60 IN CNAME web.incus.example.org.', `web.${SUFFIX}. 30 IN A 10.43.0.15`])
    expect(ask(br1.table, '15.0.43.10.in-addr.arpa', 'PTR').answer).toEqual([`15.0.43.10.in-addr.arpa. 30 IN PTR web.${SUFFIX}.`])
    expect(ask(br1.table, '15.0.42.10.in-addr.arpa', 'PTR').rcode).toBe(3)
    expect(ask(zones.default.table, '15.0.42.10.in-addr.arpa', 'PTR').answer).toHaveLength(1)
    expect(ask(zones.default.table, '15.0.43.10.in-addr.arpa', 'PTR').rcode).toBe(3)
    // A change reaches every view; a view dropped is forgotten.
    records.apply(zones.default, new Map([['default/web', mapped('default/web', ['10.42.0.16', '10.43.0.16'], '10.42.0.16')]]))
    expect(ask(br1.table, `web.${SUFFIX}`, 'A').answer).toEqual([`web.${SUFFIX}. 30 IN A 10.43.0.16`])
    expect(ask(br1.table, '15.0.43.10.in-addr.arpa', 'PTR').rcode).toBe(3)
    expect(zones.reconcile(['incusbr0'])).toEqual({ added: [], removed: ['incusbr1'] })
    records.setViews(views.filter((v) => v.name === 'incusbr0'), new Map([...zones.named]))
    expect(records.resolved.map((v) => v.name)).toEqual(['incusbr0'])
    // A zone file change reaches the views that remain.
    zones.setOwner('file', 'www.example.org', [])
    expect(ask((zones.store('incusbr0') as ZoneStore).table, 'www.example.org', 'A').rcode).toBe(3)
  })
})
