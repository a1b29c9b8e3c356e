/**
 * @module zone/wire-name
 * A name in wire form, uncompressed and lowercase (RFC 4034 6.2): what digests, signatures and the names
 * inside DNSSEC records are made of.
 */
import type { Name } from './types.ts'

export function wireName(name: Name): Buffer {
  const parts: Buffer[] = []
  for (const label of name === '' ? [] : name.toLowerCase().split('.')) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'))
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}
