/**
 * @module dns/acl
 * Address ranges a client is checked against: whom we forward for (RFC 5358: never an open resolver), who
 * may transfer, who is never rate limited, which addresses a view sees. Decisions are cached per address
 * string, so the check costs one Map lookup for a client seen before.
 */
import ipaddr from 'ipaddr.js'

export const DEFAULT_FORWARD_ALLOW = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10']

export class Acl {
  readonly #ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][]
  readonly #seen = new Map<string, boolean>()

  constructor(cidrs: readonly string[]) {
    this.#ranges = cidrs.map((c) => ipaddr.parseCIDR(c))
  }

  allows(address: string): boolean {
    const known = this.#seen.get(address)
    if (known !== undefined) return known
    let ip: ipaddr.IPv4 | ipaddr.IPv6
    try {
      ip = ipaddr.parse(address.replace(/%.*$/, ''))
    } catch {
      return false
    }
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; judge them as IPv4.
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address()
    const ok = this.#ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))
    if (this.#seen.size >= 10_000) this.#seen.clear()
    this.#seen.set(address, ok)
    return ok
  }
}
