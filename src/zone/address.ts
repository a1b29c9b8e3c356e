/**
 * @module zone/address
 * IP address text ↔ bytes, through ipaddr.js (strict four-part IPv4, every IPv6 form, no zone index).
 */
import ipaddr from 'ipaddr.js'
import { ZoneDataError } from '../errors.ts'

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
