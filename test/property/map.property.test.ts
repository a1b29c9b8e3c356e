/**
 * Any JSON as an instance (issue 24): reading it (instance-shape.ts) never throws, and what it reads the
 * mapping, the lease fallback and the name rules take without throwing either. Two generators: arbitrary JSON,
 * and instance-like objects whose fields are each either well-formed or anything at all, which reaches deeper.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readInstance, readLeases, readNetworks } from '../../src/incus/api/instance-shape.ts'
import { mapInstance } from '../../src/incus/naming/map.ts'
import { networkFamilies } from '../../src/incus/naming/instance-addresses.ts'
import type { Leases } from '../../src/incus/naming/instance-addresses.ts'
import { NameRules, parseProjectNames } from '../../src/incus/naming/name-rules.ts'
import { ZoneStore } from '../../src/zone/store.ts'

const budget = { interruptAfterTimeLimit: process.env.CI === 'true' ? 20_000 : 5000, numRuns: 4000 }
const either = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.jsonValue() })
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)
const keys = fc.constantFrom('user.dns.hostname', 'user.dns.aliases', 'user.dns.service', 'user.dns.srv.http', 'user.dns.wildcard', 'user.dns.nic', 'user.dns.enabled',
  'user.healthcheck.status', 'user.label.incus-compose.service', 'volatile.eth0.hwaddr', 'user.dnsweaver.hostname')
const value = fc.oneof(label, fc.constantFrom('incus.example.org.', '*.incus.example.org.', '5.0.42.10.in-addr.arpa.', 'tcp/80', 'true', 'eth0', '10:66:6a:00:00:01', 'a,b,,c', ''), fc.string())
const config = fc.dictionary(keys, either(value))
const address = fc.record({ family: either(fc.constantFrom('inet', 'inet6')), address: either(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string())), netmask: either(fc.constant('24')), scope: fc.constant('global') })
const nic = fc.record({ addresses: either(fc.array(either(address), { maxLength: 4 })), hwaddr: either(fc.constantFrom('10:66:6a:00:00:01', '')), type: either(fc.constantFrom('broadcast', 'loopback')) })
const device = fc.record({ type: either(fc.constantFrom('nic', 'disk')), network: either(fc.constantFrom('incusbr0', 'other')), name: either(fc.constantFrom('eth0', 'eth1')) }, { requiredKeys: [] })
const instanceLike = fc.record({
  name: either(label), project: either(fc.constantFrom('default', 'tenant', 'a.b')), status: either(fc.constantFrom('Running', 'Stopped', 'Ready', 'Error')),
  location: either(fc.constantFrom('none', 'node1')), config: either(config), expanded_config: either(config),
  devices: either(fc.dictionary(fc.constantFrom('eth0', 'eth1', 'root'), either(device))), expanded_devices: either(fc.dictionary(fc.constantFrom('eth0', 'eth1', 'root'), either(device))),
  state: either(fc.record({ network: either(fc.dictionary(fc.constantFrom('eth0', 'lo', 'enp5s0'), either(nic))) })),
}, { requiredKeys: [] })

const zone = new ZoneStore()
zone.setOwner('incus', 'incus.example.org', [{ name: 'incus.example.org', ttl: 30, data: { type: 'SOA', mname: 'ns.x', rname: 'h.x', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 } }])
const rules = new NameRules(parseProjectNames('tenant=*.tenant.example.org|shop.example.org'), new Map([['', 'incus.example.org']]))
const families = networkFamilies(readNetworks([{ name: 'incusbr0', type: 'bridge', managed: true, config: { 'ipv4.address': '10.42.0.1/24', 'ipv6.address': 'fd42::1/64' } }]))

function mapsWithoutThrowing(raw: unknown, suffix: string | null, allAddresses: boolean, leases: unknown): void {
  const read = readInstance(raw)
  if (!read.ok) { expect(read.problem).not.toBe(''); return }
  const byMac: Leases = new Map(readLeases(leases).map((l) => [l.hwaddr.toLowerCase(), [l.address]]))
  const m = mapInstance(read.instance, { suffix, states: new Set(['running']), allAddresses }, families, byMac)
  rules.settle(m, zone)
  JSON.stringify(m)
}

describe('mapping any JSON as an instance', () => {
  it('arbitrary JSON: read, mapped and settled without throwing', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.option(fc.constant('incus.example.org')), fc.boolean(), fc.jsonValue(), (raw, suffix, all, leases) => {
      mapsWithoutThrowing(raw, suffix, all, leases)
    }), budget)
  })

  it('instance-like objects with any field odd: read, mapped and settled without throwing', () => {
    fc.assert(fc.property(instanceLike, fc.option(fc.constant('incus.example.org')), fc.boolean(), fc.array(fc.record({ hwaddr: either(fc.constant('10:66:6a:00:00:01')), address: either(fc.ipV4()) }), { maxLength: 3 }), (raw, suffix, all, leases) => {
      mapsWithoutThrowing(raw, suffix, all, leases)
    }), budget)
  })

  it('an instance that fits is read as it was sent; one that does not says what was wrong and names it', () => {
    const ok = readInstance({ name: 'web', project: 'default', status: 'Running', config: { a: 'b' }, devices: {}, state: { network: { eth0: { addresses: [{ family: 'inet', address: '10.0.0.1', netmask: '24', scope: 'global' }], hwaddr: 'x', type: 'broadcast' } } } })
    expect(ok.ok && ok.instance.state?.network?.eth0?.addresses?.[0]?.address).toBe('10.0.0.1')
    expect(readInstance({ name: 'web', project: 'tenant', status: 'Running', config: { 'user.dns.aliases': ['x'] } })).toEqual({ ok: false, problem: "config key 'user.dns.aliases' is a list, not a string", project: 'tenant', name: 'web' })
    expect(readInstance({ name: 'web', project: 'default', status: 'Running', state: { network: { eth0: { addresses: [{ family: 'inet' }] } } } })).toMatchObject({ ok: false, problem: 'state.network.eth0.addresses has an entry without an address string' })
    expect(readInstance([])).toEqual({ ok: false, problem: 'the instance is a list, not an object', project: null, name: null })
    expect(readLeases([{ hwaddr: '10:66:6a:00:00:01', address: '10.0.0.2' }, { address: '10.0.0.3' }, null])).toEqual([{ hwaddr: '10:66:6a:00:00:01', address: '10.0.0.2' }])
  })
})
