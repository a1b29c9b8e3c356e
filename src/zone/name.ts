/**
 * @module zone/name
 * Canonical names and their wire form. Names are lowercased once, on the way in (RFC 4343: DNS
 * comparisons are ASCII case-insensitive), so every later comparison is a plain string compare.
 */
import { ZoneDataError } from '../errors.ts'
import type { Name } from './types.ts'

// '/' for RFC 2317 classless reverse delegation (`0/26.2.0.192.in-addr.arpa`); '*' alone is a wildcard label,
// allowed first only (canonicalName).
const LABEL = /^[a-z0-9_/](?:[a-z0-9_/-]{0,61}[a-z0-9_/])?$/

/**
 * Lowercases and checks a name given in presentation form, with or without the trailing dot.
 * Accepts letters, digits, '-', '_' (for SRV owners such as _sip._tcp) and '/' (RFC 2317); labels 1-63 bytes,
 * whole name at most 255 bytes on the wire.
 */
export function canonicalName(input: string): Name {
  // Hand back `input` itself when it is already canonical: at 100k names a second copy of every name
  // (the zone file's and the store's) cost ~48 B each.
  let s = /[A-Z]/.test(input) ? input.toLowerCase() : input
  if (s.endsWith('.')) s = s.slice(0, -1)
  if (s === '') return ''
  const labels = s.split('.')
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as string
    if (label.length === 0) throw new ZoneDataError(`'${input}' has an empty label`)
    if (label.length > 63) throw new ZoneDataError(`'${input}' has a label longer than 63 bytes`)
    if (label === '*') {
      // A wildcard owner (RFC 4592 2.1.1): the asterisk is the whole leftmost label, nowhere else.
      if (i !== 0) throw new ZoneDataError(`'${input}' has '*' below its first label; a wildcard is '*.' followed by a name`)
      continue
    }
    if (!LABEL.test(label)) {
      throw new ZoneDataError(`'${input}' has a label with characters other than letters, digits, '-', '_' and '/'`)
    }
  }
  if (wireLength(s) > 255) throw new ZoneDataError(`'${input}' is longer than 255 bytes`)
  return s
}

/**
 * `s` as a flat string. V8 keeps a string built by `+` or a template literal as a rope (a node pointing at
 * its parts); kept as a Map key or record owner it is flattened into a copy while the rope node stays, about
 * twice the memory of the name (~90 B per name at 100k Incus instances). Names are ASCII, so a round trip
 * through latin1 bytes gives a flat string. For names built once and kept, not for lookups.
 */
export function flatString(s: string): string {
  if (s.length > flatScratch.length || !ASCII.test(s)) return s // not a name: left as it is
  return flatScratch.latin1Slice(0, flatScratch.latin1Write(s, 0))
}
const ASCII = /^[\x00-\x7f]*$/
const flatScratch = Buffer.allocUnsafeSlow(1024) as Buffer & { latin1Slice(start: number, end: number): string; latin1Write(s: string, offset: number): number }

/** Bytes the name takes on the wire, uncompressed, including the root label. */
export function wireLength(name: Name): number {
  return name === '' ? 1 : name.length + 2
}

/** Writes the uncompressed wire form of `name` at `offset`; returns the offset after it. */
export function writeName(name: Name, buf: Buffer, offset: number): number {
  if (name !== '') {
    for (const label of name.split('.')) {
      buf[offset++] = label.length
      offset += buf.write(label, offset, 'latin1')
    }
  }
  buf[offset++] = 0
  return offset
}

/** Reads an uncompressed wire-form name at `offset` (what writeName writes): `b.c` from 1 b 1 c 0. */
export function readName(b: Uint8Array, offset: number): Name {
  const labels: string[] = []
  for (let o = offset; o < b.length && (b[o] as number) !== 0; o += (b[o] as number) + 1) {
    labels.push(Buffer.from(b.buffer, b.byteOffset + o + 1, b[o] as number).toString('latin1'))
  }
  return labels.join('.')
}

/** The uncompressed wire form of `name` as a latin1 string: the key format of the answer table. */
export function wireKey(name: Name): string {
  // Through one scratch Buffer: no Buffer per call, and a flat string (one built by `+` stays a rope).
  const end = writeName(name, keyScratch, 0)
  return keyScratch.toString('latin1', 0, end)
}
const keyScratch = Buffer.allocUnsafeSlow(256)

/** `a.b.c` → `b.c`; the root has no parent. */
export function parentName(name: Name): Name | null {
  if (name === '') return null
  const dot = name.indexOf('.')
  return dot < 0 ? '' : name.slice(dot + 1)
}

/** True if `name` equals `zone` or lies below it. */
export function isAtOrBelow(name: Name, zone: Name): boolean {
  if (zone === '') return true
  return name === zone || name.endsWith('.' + zone)
}

/** Whether `name` is in a reverse tree (RFC 1035 3.5 in-addr.arpa, RFC 3596 ip6.arpa). */
export function isReverseName(name: Name): boolean {
  return isAtOrBelow(name, 'in-addr.arpa') || isAtOrBelow(name, 'ip6.arpa')
}
