/**
 * @module zone/nsec
 * NSEC records for compact denial of existence (RFC 9824, after RFC 4470's white lies): one NSEC at the name
 * asked, whose next name is `\000.<name>` (the name's immediate successor in canonical order, so it covers
 * nothing else), listing the types the name has, or, for a name that does not exist, only RRSIG, NSEC and
 * NXNAME. No chain of names is ever built: a zone can be signed without enumerating it.
 */
import { wireName } from './wire-name.ts'
import type { Name, Rec } from './types.ts'

export const TYPE_RRSIG = 46
export const TYPE_NSEC = 47
/** RFC 9824: in the bitmap of a name that does not exist. */
export const TYPE_NXNAME = 128

/** The type bitmap of RFC 4034 4.1.2: per window of 256 types, its number, length, and the bits. */
export function typeBitmap(codes: Iterable<number>): Buffer {
  const windows = new Map<number, Uint8Array>()
  for (const code of codes) {
    const w = code >> 8
    let bits = windows.get(w)
    if (bits === undefined) { bits = new Uint8Array(32); windows.set(w, bits) }
    bits[(code & 0xff) >> 3] = (bits[(code & 0xff) >> 3] as number) | (0x80 >> (code & 7))
  }
  const parts: Buffer[] = []
  for (const w of [...windows.keys()].sort((a, b) => a - b)) {
    const bits = windows.get(w) as Uint8Array
    let len = 32
    while (len > 0 && bits[len - 1] === 0) len--
    parts.push(Buffer.from([w, len]), Buffer.from(bits.subarray(0, len)))
  }
  return Buffer.concat(parts)
}

/**
 * The compact-denial NSEC at `owner`: next name `\000.<owner>`, and `types` (the name's own) with RRSIG and
 * NSEC added, or RRSIG, NSEC and NXNAME when `types` is null (the name does not exist).
 */
export function compactNsec(owner: Name, types: Iterable<number> | null, ttl: number): Rec {
  const listed = new Set<number>(types ?? [TYPE_NXNAME])
  listed.add(TYPE_RRSIG)
  listed.add(TYPE_NSEC)
  const next = Buffer.concat([Buffer.from([1, 0]), wireName(owner)])
  return { name: owner, ttl, data: { type: 'NSEC', hex: Buffer.concat([next, typeBitmap(listed)]).toString('hex') } }
}
