/**
 * @module address
 * IP addresses as every layer uses them, through ipaddr.js: text ↔ bytes (strict four-part IPv4, every IPv6
 * form, no zone index), listen addresses as `host:port`, ranges as settings write them, and the ranges a
 * client is checked against. The lowest module of the house: `config/`, `zone/`, `dns/`, `forward/`, `http/`
 * and `incus/` all import it, and it imports only the error types.
 */
import ipaddr from 'ipaddr.js'
import { ZoneDataError } from './errors.ts'

/** Where a socket listens or an upstream answers. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** `host:port`, or `[v6]:port`. */
export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

export function ipv4Bytes(address: string): Uint8Array {
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) throw new ZoneDataError(`'${address}' is not an IPv4 address`)
  return Uint8Array.from(ipaddr.IPv4.parse(address).toByteArray())
}

export function ipv6Bytes(address: string): Uint8Array {
  if (address.includes('%') || !ipaddr.IPv6.isValid(address)) throw new ZoneDataError(`'${address}' is not an IPv6 address`)
  return Uint8Array.from(ipaddr.IPv6.parse(address).toByteArray())
}

/** The canonical text of an address (RFC 5952 for IPv6), so equal addresses compare equal as strings. */
export function canonicalAddress(type: 'A' | 'AAAA', address: string): string {
  let text: string
  if (type === 'A') { ipv4Bytes(address); text = ipaddr.IPv4.parse(address).toString() } else { ipv6Bytes(address); text = ipaddr.IPv6.parse(address).toRFC5952String() }
  return text === address ? address : text // the caller's string when already canonical: one copy kept, not two
}

/** One address range as a setting writes it: a CIDR, host bits cleared, or one address as a /32 or /128; null for neither. */
export function addressRange(item: string): string | null {
  if (ipaddr.isValidCIDR(item)) return networkCidr(item)
  if (ipaddr.isValid(item)) return `${ipaddr.parse(item).toString()}/${item.includes(':') ? 128 : 32}`
  return null
}

/** A CIDR with the host bits cleared, as ipaddr.js writes it: `10.42.0.7/24` → `10.42.0.0/24`. Throws on a bad one. */
export function networkCidr(cidr: string): string {
  const bits = ipaddr.parseCIDR(cidr)[1]
  const net = cidr.includes(':') ? ipaddr.IPv6.networkAddressFromCIDR(cidr) : ipaddr.IPv4.networkAddressFromCIDR(cidr)
  return `${net.toString()}/${bits}`
}

/**
 * Address ranges a client is checked against: whom we forward for (RFC 5358: never an open resolver), who
 * may transfer or update, who is never rate limited, which addresses a view sees. Decisions are cached per
 * address string, so the check costs one Map lookup for a client seen before.
 */
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
