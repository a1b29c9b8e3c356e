/**
 * Instance → names and addresses, from the shared/incus-api fixtures (real response shapes).
 */
import { describe, expect, it } from 'vitest'
import type { Instance } from '../../../src/incus/api/types.ts'
import { mapInstance } from '../../../src/incus/naming/map.ts'
import { leaseNetworks, networkFamilies, orderedInterfaces, usableAddress } from '../../../src/incus/naming/instance-addresses.ts'
import type { MapSettings } from '../../../src/incus/naming/map.ts'
import { edited, fixture, instance } from '../../helpers/fixtures.ts'

const S: MapSettings = { suffix: 'incus.example.org', states: new Set(['running']) }
/** incusbr0 as the fixtures have it: a managed bridge with IPv4 and IPv6. */
const DUAL = networkFamilies([{ name: 'incusbr0', type: 'bridge', managed: true, config: { 'ipv4.address': '10.42.0.1/24', 'ipv6.address': 'fd42:4c81:5770:1eaf::1/64' } }])
const V6_ONLY = networkFamilies([{ name: 'incusbr0', type: 'bridge', managed: true, config: { 'ipv4.address': 'none', 'ipv6.address': 'fd42:4c81:5770:1eaf::1/64' } }])
const onlyV6 = (i: Instance): Instance => edited(i, (x) => {
  x.state.network.eth0.addresses = x.state.network.eth0.addresses.filter((a: { family: string }) => a.family === 'inet6')
})

describe('mapInstance', () => {
  it('a running container: <name>.<suffix>, first global IPv4 and IPv6 of eth0, link-local skipped', () => {
    expect(mapInstance(instance('default/web'), S)).toEqual({
      key: 'default/web', project: 'default', name: 'web', hostname: 'web.incus.example.org', aliases: [], wildcard: false, status: 'Running',
      ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd', skipped: null, awaitingAddress: false,
    })
  })

  it('a Ready container counts as running; dnsweaver\'s hostname key names it', () => {
    const m = mapInstance(instance('default/app'), S)
    expect(m.hostname).toBe('shop.incus.example.org')
    expect(m.ipv4).toBe('10.42.0.23')
  })

  it('user.dns.hostname wins over dnsweaver\'s key; a dotted value is a full name', () => {
    const app = edited(instance('default/app'), (i) => { i.expanded_config['user.dns.hostname'] = 'Store.Example.NET.' })
    expect(mapInstance(app, S).hostname).toBe('store.example.net')
  })

  it('another project: <name>.<project>.<suffix>, so equal names never clash', () => {
    const m = mapInstance(instance('staging/api'), S)
    expect(m.hostname).toBe('api.staging.incus.example.org')
    expect(m.ipv4).toBe('10.42.0.77')
  })

  it('a dotted instance name is used as the full name', () => {
    const dotted = edited(instance('default/web'), (i) => { i.name = 'web.lab.example.org' })
    expect(mapInstance(dotted, { ...S, suffix: null }).hostname).toBe('web.lab.example.org')
  })

  it('no suffix and no rule: nothing, with the reason', () => {
    const m = mapInstance(instance('default/web'), { ...S, suffix: null })
    expect(m.hostname).toBeNull()
    expect(m.skipped).toBe('no INCUS_DNS_SUFFIX and no user.dns.hostname')
  })

  it('uppercase instance names are lowercased', () => {
    expect(mapInstance(edited(instance('default/web'), (i) => { i.name = 'Web' }), S).hostname).toBe('web.incus.example.org')
  })

  it('a VM with agent: the NIC matched by MAC (enp5s0) wins over docker0, whatever the names', () => {
    const vm = instance('default/vm-docker')
    expect(orderedInterfaces(vm).map(([n]) => n)).toEqual(['enp5s0', 'docker0'])
    const m = mapInstance(vm, S)
    expect(m.ipv4).toBe('10.42.0.50')
    expect(m.ipv6).toBe('fd42:4c81:5770:1eaf:1266:6aff:fe91:4be')
  })

  it('docker0 is used only when the real NIC has no address of that family', () => {
    const vm = edited(instance('default/vm-docker'), (i) => {
      i.state.network.enp5s0.addresses = i.state.network.enp5s0.addresses.filter((a: { family: string }) => a.family === 'inet6')
    })
    expect(mapInstance(vm, S).ipv4).toBe('172.17.0.1')
  })

  it('matches a NIC by the device\'s name property when MACs do not match', () => {
    const c = edited(instance('default/web'), (i) => {
      i.expanded_devices.eth0.name = 'net0'
      i.expanded_config['volatile.eth0.hwaddr'] = '00:00:00:00:00:01'
      i.state.network = {
        aaa: { addresses: [{ family: 'inet', address: '192.168.5.5', netmask: '24', scope: 'global' }], hwaddr: '02:00:00:00:00:02', type: 'broadcast' },
        net0: { addresses: [{ family: 'inet', address: '10.1.2.3', netmask: '24', scope: 'global' }], hwaddr: '02:00:00:00:00:03', type: 'broadcast' },
      }
    })
    expect(mapInstance(c, S).ipv4).toBe('10.1.2.3')
  })

  it('a VM without agent: the device-keyed lease/EUI-64 addresses Incus reports', () => {
    const m = mapInstance(instance('default/noagent-bridged'), S)
    expect([m.ipv4, m.ipv6]).toEqual(['10.42.0.61', 'fd42:4c81:5770:1eaf:1266:6aff:fe3a:9c41'])
  })

  it('a running instance with empty state.network gets its address from the DHCP leases, by MAC', () => {
    const vm = edited(instance('default/noagent-bridged'), (i) => { i.state.network = {} })
    expect(leaseNetworks(vm)).toEqual(['incusbr0'])
    expect(mapInstance(vm, S).skipped).toBe('no usable address yet (state.network and DHCP leases have none)')
    const leases = new Map([['10:66:6a:3a:9c:41', ['10.42.0.61']], ['10:66:6a:00:00:00', ['10.42.0.99']]])
    expect(mapInstance(vm, S, DUAL, leases).ipv4).toBe('10.42.0.61')
  })

  it('a macvlan VM without agent has no fallback: nothing', () => {
    const vm = instance('default/noagent-macvlan')
    expect(leaseNetworks(vm)).toEqual([])
    expect(mapInstance(vm, S).skipped).toMatch(/no usable address/)
  })

  it('a stopped instance: nothing, said why', () => {
    expect(mapInstance(instance('default/db'), S).skipped).toBe('status Stopped is not in INCUS_DNS_STATE_FILTER')
    expect(mapInstance(instance('default/db'), { ...S, states: new Set(['running', 'stopped']) }).skipped).toMatch(/no usable address/)
  })

  it('just started, only fe80: nothing yet', () => {
    const state = fixture<Instance['state']>('instance-state-just-started-no-ipv4-yet').metadata
    const c = edited(instance('default/web'), (i) => { i.state = state })
    expect(mapInstance(c, S).skipped).toMatch(/no usable address yet/)
    expect(mapInstance(c, S, DUAL).awaitingAddress).toBe('network')
    expect(mapInstance(instance('default/db'), S).awaitingAddress).toBe(false)
  })

  it('IPv6 only', () => {
    const c = edited(instance('default/web'), (i) => {
      i.state.network.eth0.addresses = i.state.network.eth0.addresses.filter((a: { family: string }) => a.family === 'inet6')
    })
    const m = mapInstance(c, S)
    expect([m.ipv4, m.ipv6]).toEqual([null, 'fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd'])
  })

  it('keeps waiting for a family the managed network gives until the state has it, publishing what is there', () => {
    expect(mapInstance(instance('default/web'), S, DUAL).awaitingAddress).toBe(false)
    const m = mapInstance(onlyV6(instance('default/web')), S, DUAL)
    expect([m.ipv4, m.ipv6, m.skipped, m.awaitingAddress]).toEqual([null, 'fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd', null, 'network'])
    expect(mapInstance(onlyV6(instance('default/web')), S, V6_ONLY).awaitingAddress).toBe(false)
  })

  it('a NIC on no managed network may get either family: a short guess-wait', () => {
    expect(mapInstance(onlyV6(instance('default/web')), S).awaitingAddress).toBe('guess')
    expect(mapInstance(instance('default/web'), S).awaitingAddress).toBe(false)
  })

  it('the computed SLAAC lease Incus lists before the guest has it is never taken while the state has interfaces', () => {
    const state = fixture<Instance['state']>('instance-state-just-started-no-ipv4-yet').metadata
    const c = edited(instance('default/web'), (i) => { i.state = state })
    const mac = c.expanded_config?.['volatile.eth0.hwaddr'] as string
    const leases = new Map([[mac, ['fd42:4c81:5770:1eaf:1266:6aff:fe0c:eedd']]])
    const m = mapInstance(c, S, DUAL, leases)
    expect([m.ipv4, m.ipv6, m.awaitingAddress]).toEqual([null, null, 'network'])
  })

  it('a lease fallback (no interfaces reported) does not end the wait', () => {
    const vm = edited(instance('default/noagent-bridged'), (i) => { i.state.network = {} })
    const m = mapInstance(vm, S, DUAL, new Map([['10:66:6a:3a:9c:41', ['10.42.0.61']]]))
    expect([m.ipv4, m.awaitingAddress]).toEqual(['10.42.0.61', 'network'])
  })

  it('keeps CGNAT and ULA, skips link-local, loopback and unspecified', () => {
    expect(usableAddress('100.64.1.2')).toBe('100.64.1.2')
    expect(usableAddress('fd00::1')).toBe('fd00::1')
    for (const a of ['169.254.1.1', 'fe80::1', '127.0.0.1', '::1', '0.0.0.0', '::', 'ff02::1', 'bogus']) expect(usableAddress(a)).toBeNull()
  })

  it('user.dns.enabled=false opts out; dnsweaver\'s enabled key from a profile is read from expanded_config', () => {
    const off = edited(instance('default/web'), (i) => { i.expanded_config['user.dns.enabled'] = 'false' })
    expect(mapInstance(off, S).skipped).toBe('opted out (user.dns.enabled=false)')
    expect(mapInstance(instance('staging/api'), S).skipped).toBeNull()
  })

  it('user.dns.wildcard=true asks for *.<hostname> too', () => {
    expect(mapInstance(edited(instance('default/web'), (i) => { i.expanded_config['user.dns.wildcard'] = 'true' }), S).wildcard).toBe(true)
    expect(mapInstance(instance('default/web'), S).wildcard).toBe(false)
  })

  it('user.dns.aliases: relative and full names, deduplicated', () => {
    const c = edited(instance('default/web'), (i) => { i.expanded_config['user.dns.aliases'] = 'www, blog ,www,shop.example.net' })
    expect(mapInstance(c, S).aliases).toEqual(['www.incus.example.org', 'blog.incus.example.org', 'shop.example.net'])
  })

  const withConfig = (key: string, config: Record<string, string>): Instance => edited(instance(key), (i) => { Object.assign(i.expanded_config, config) })

  it("a service: incus-compose's label, else ic-dns's, else the CoreDNS-era one, else user.dns.service; named as instances are", () => {
    const all = { 'user.dns.service': 'ours', 'user.label.coredns.service': 'old', 'user.label.dns.service': 'icdns', 'user.label.incus-compose.service': 'front' }
    expect(mapInstance(withConfig('default/web', all), S).service).toBe('front.incus.example.org')
    const { 'user.label.incus-compose.service': _a, ...noCompose } = all
    expect(mapInstance(withConfig('default/web', noCompose), S).service).toBe('icdns.incus.example.org')
    expect(mapInstance(withConfig('default/web', { 'user.label.coredns.service': 'old', 'user.dns.service': 'ours' }), S).service).toBe('old.incus.example.org')
    expect(mapInstance(withConfig('default/web', { 'user.dns.service': 'ours' }), S).service).toBe('ours.incus.example.org')
    // Another project: <service>.<project>.<suffix>; a dotted value is a full name.
    expect(mapInstance(withConfig('staging/api', { 'user.dns.service': 'api-svc' }), S).service).toBe('api-svc.staging.incus.example.org')
    expect(mapInstance(withConfig('default/web', { 'user.dns.service': 'lb.example.net.' }), S).service).toBe('lb.example.net')
    // None, blank, or the instance's own name: no service field at all.
    expect('service' in mapInstance(instance('default/web'), S)).toBe(false)
    expect('service' in mapInstance(withConfig('default/web', { 'user.dns.service': '  ' }), S)).toBe(false)
    expect('service' in mapInstance(withConfig('default/web', { 'user.dns.service': 'web' }), S)).toBe(false)
  })

  it('a service label that makes no DNS name publishes no service, and says so', () => {
    const m = mapInstance(withConfig('default/web', { 'user.label.incus-compose.service': 'bad_name!' }), S)
    expect(m.service).toBeUndefined()
    expect(m.skipped).toBeNull()
    expect(m.warning).toBe("service 'bad_name!' makes no valid DNS name; it is not published")
  })

  it("the stack and the health come from incus-compose's and ic-healthd's keys; an unknown health is served, with a warning", () => {
    const m = mapInstance(withConfig('default/web', { 'user.label.incus-compose.project': 'shop', 'user.healthcheck.status': 'Unhealthy' }), S)
    expect(m.stack).toBe('shop')
    expect(m.health).toBe('unhealthy')
    expect(m.warning).toBeUndefined()
    const odd = mapInstance(withConfig('default/web', { 'user.healthcheck.status': 'degraded' }), S)
    expect(odd.health).toBe('degraded')
    expect(odd.warning).toBe('user.healthcheck.status=degraded is none of healthy, unhealthy, starting, stopped, unknown; the replica is served as if unknown')
  })

  it("ic-dns's alias keys add to user.dns.aliases", () => {
    const m = mapInstance(withConfig('default/web', { 'user.dns.aliases': 'www', 'user.label.dns.aliases': 'blog,www', 'user.label.coredns.aliases': 'old' }), S)
    expect(m.aliases).toEqual(['www.incus.example.org', 'blog.incus.example.org', 'old.incus.example.org'])
  })

  it('user.dns.srv.<name>: <proto>/<port>[/<priority>/<weight>], several comma-separated; a bad one publishes nothing and says why', () => {
    const m = mapInstance(withConfig('default/web', {
      'user.dns.srv.http': 'tcp/80', 'user.dns.srv._sip': 'udp/5060/10/20, TCP/5060/20/0', 'user.dns.srv.bad': 'tcp/99999', 'user.dns.srv.worse': 'icmp/1',
      'user.dns.srv.half': 'tcp/80/1', 'user.dns.srv.not_a_label': 'tcp/80',
    }), S)
    expect(m.srv).toEqual([
      { service: 'http', proto: 'tcp', port: 80, priority: 0, weight: 1 },
      { service: 'sip', proto: 'tcp', port: 5060, priority: 20, weight: 0 },
      { service: 'sip', proto: 'udp', port: 5060, priority: 10, weight: 20 },
    ])
    expect((m.warning ?? '').split('; write <proto>/<port>[/<priority>/<weight>], e.g. tcp/80').map((w) => w.replace(/^; /, '')).filter((w) => w !== '')).toEqual([
      'user.dns.srv.bad=tcp/99999: the port must be 1-65535',
      'user.dns.srv.half=tcp/80/1: priority and weight come together, each 0-65535',
      "user.dns.srv.not_a_label=tcp/80: 'not_a_label' is not a DNS label (letters, digits, hyphens)",
      'user.dns.srv.worse=icmp/1: the protocol must be tcp, udp or sctp',
    ])
  })
})
