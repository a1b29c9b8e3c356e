/**
 * @module incus/naming/reverse
 * Reverse DNS names (RFC 1035 3.5 in-addr.arpa, RFC 3596 ip6.arpa) for published addresses, and the reverse
 * zones that hold them, made from subnets (CIDR). IPv4 zones are cut on octets and IPv6 zones on nibbles:
 * a /22 becomes four /24 zones, a /64 one zone of 16 nibbles, a /62 four of 16 nibbles.
 */
import ipaddr from 'ipaddr.js'
import { flatString } from '../../zone/name.ts'
import type { Name } from '../../zone/types.ts'

/** `192.0.2.80` → `80.2.0.192.in-addr.arpa`; `2001:db8::1` → `1.0.0.0...8.b.d.0.1.0.0.2.ip6.arpa`. */
export function reverseName(address: string): Name {
  const ip = ipaddr.parse(address)
  if (ip.kind() === 'ipv4') return flatString(`${ip.toByteArray().reverse().join('.')}.in-addr.arpa`)
  const nibbles = ip.toByteArray().flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)])
  return flatString(`${nibbles.reverse().join('.')}.ip6.arpa`)
}

/** The reverse zone apexes covering a CIDR such as `10.42.0.1/24` or `fd42::/64`. Throws on bad input. */
export function reverseZones(cidr: string): Name[] {
  const [ip, prefix] = ipaddr.parseCIDR(cidr)
  if (ip.kind() === 'ipv4') {
    const bytes = ip.toByteArray()
    if (prefix > 24) return [zoneOfBytes(bytes.slice(0, 3), 'in-addr.arpa')]
    const octets = Math.ceil(prefix / 8)
    const spare = octets * 8 - prefix // bits to enumerate so the zones cover the whole prefix
    const first = bytes.slice(0, octets)
    if (octets === 0) return ['in-addr.arpa']
    const zones: Name[] = []
    const last = first.length - 1
    const baseByte = (first[last] as number) & (0xff << spare) & 0xff
    for (let i = 0; i < 1 << spare; i++) zones.push(zoneOfBytes([...first.slice(0, last), baseByte + i], 'in-addr.arpa'))
    return zones
  }
  const count = Math.ceil(prefix / 4)
  if (count === 0) return ['ip6.arpa']
  const nibbles = ip.toByteArray().flatMap((b) => [b >> 4, b & 15]).slice(0, count)
  const spare = count * 4 - prefix
  const lastBase = (nibbles[count - 1] as number) & (0xf << spare) & 0xf
  const zones: Name[] = []
  for (let i = 0; i < 1 << spare; i++) {
    const n = [...nibbles.slice(0, count - 1), lastBase + i].map((x) => x.toString(16))
    zones.push(`${n.reverse().join('.')}.ip6.arpa`)
  }
  return zones
}

function zoneOfBytes(bytes: readonly number[], suffix: string): Name {
  return [...bytes].reverse().join('.') + '.' + suffix
}

/** Subnets of a managed network (`ipv4.address`, `ipv6.address` in its config), skipping `none`/`auto`. */
export function networkSubnets(config: Readonly<Record<string, string>>): string[] {
  return ['ipv4.address', 'ipv6.address']
    .map((k) => config[k] ?? '')
    .filter((v) => v !== '' && v !== 'none' && v !== 'auto' && ipaddr.isValidCIDR(v))
}
