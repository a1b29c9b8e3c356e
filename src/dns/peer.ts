/**
 * @module dns/peer
 * A client's address as bytes, for what is bound to it (DNS cookies, RFC 9018) or counted by its prefix (rate
 * limiting): 4 octets for IPv4, IPv4-mapped IPv6 included (a dual-stack socket reports IPv4 clients so), 16 for
 * IPv6. Cached per address string: a resolver or two send most queries; a flood of sources clears it.
 */
import ipaddr from 'ipaddr.js'

const CACHE_ENTRIES = 4096
const cache = new Map<string, Uint8Array | null>()

/** The address's bytes, or null when it is not an address. */
export function addressBytes(address: string): Uint8Array | null {
  let bytes = cache.get(address)
  if (bytes !== undefined) return bytes
  bytes = parse(address)
  if (cache.size >= CACHE_ENTRIES) cache.clear()
  cache.set(address, bytes)
  return bytes
}

function parse(address: string): Uint8Array | null {
  if (!ipaddr.isValid(address)) return null
  const parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) return Uint8Array.from((parsed as ipaddr.IPv6).toIPv4Address().toByteArray())
  return Uint8Array.from(parsed.toByteArray())
}
