import { describe, expect, it } from 'vitest'
import { networkSubnets, reverseName, reverseZones } from '../../../src/incus/naming/reverse.ts'

describe('reverse names and zones', () => {
  it('names addresses in in-addr.arpa and ip6.arpa', () => {
    expect(reverseName('10.42.0.15')).toBe('15.0.42.10.in-addr.arpa')
    expect(reverseName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa')
  })
  it.each([
    ['10.42.0.1/24', ['0.42.10.in-addr.arpa']],
    ['192.168.4.0/22', ['4.168.192.in-addr.arpa', '5.168.192.in-addr.arpa', '6.168.192.in-addr.arpa', '7.168.192.in-addr.arpa']],
    ['10.0.0.0/8', ['10.in-addr.arpa']],
    ['10.1.2.128/25', ['2.1.10.in-addr.arpa']],
    ['fd42:4c81:5770:1eaf::1/64', ['f.a.e.1.0.7.7.5.1.8.c.4.2.4.d.f.ip6.arpa']],
    ['2001:db8::/30', ['8.b.d.0.1.0.0.2.ip6.arpa', '9.b.d.0.1.0.0.2.ip6.arpa', 'a.b.d.0.1.0.0.2.ip6.arpa', 'b.b.d.0.1.0.0.2.ip6.arpa']],
  ])('%s → %j', (cidr, zones) => expect(reverseZones(cidr)).toEqual(zones))
  it('reads a managed network\'s subnets, skipping none/auto', () => {
    expect(networkSubnets({ 'ipv4.address': '10.42.0.1/24', 'ipv6.address': 'none' })).toEqual(['10.42.0.1/24'])
  })
})
