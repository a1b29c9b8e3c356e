/**
 * @module dns/subnet
 * EDNS Client Subnet (RFC 7871) for split horizon behind a resolver: from a resolver trusted to send it
 * (INCUS_DNS_VIEWS_ECS), the client subnet in the query's ECS option picks the view, as the client's own
 * address would, and the reply echoes the option with the SCOPE the answer holds for, so the resolver caches
 * each subnet's answer apart. A malformed option is FORMERR (RFC 7871 7.1.1); SOURCE 0 asks for no tailoring
 * (7.1.2): the resolver's own view, SCOPE 0. Runs only for trusted resolvers' queries; never throws.
 */
import ipaddr from 'ipaddr.js'
import type { View, ViewTable } from './view-table.ts'

export const OPTION_ECS = 8

/** The view the ECS option at `at` in `req` picks, with the option to echo; null when the option is malformed. */
export function clientSubnet(req: Buffer, at: number, viewTable: ViewTable): { view: View | null; echo: Buffer } | null {
  const len = req.readUInt16BE(at + 2)
  if (len < 4) return null
  const family = req.readUInt16BE(at + 4)
  const source = req[at + 6] as number
  const bytes = len - 4
  const max = family === 1 ? 32 : family === 2 ? 128 : -1
  if (max < 0 || source > max || bytes !== Math.ceil(source / 8)) return null
  // Bits past the source prefix must be zero.
  if (source % 8 !== 0 && ((req[at + 8 + bytes - 1] as number) & (0xff >> (source % 8))) !== 0) return null
  const echo = Buffer.from(req.subarray(at, at + 4 + len))
  if (source === 0) { echo[7] = 0; return { view: null, echo } }
  const full = Buffer.alloc(max / 8)
  req.copy(full, 0, at + 8, at + 8 + bytes)
  const picked = family === 1
    ? viewTable.pickSubnet(full.readUInt32BE(0), null, source)
    : viewTable.pickSubnet(0, ipaddr.fromByteArray([...full]) as ipaddr.IPv6, source)
  echo[7] = picked.scope
  return { view: picked.view, echo }
}

/** `opt` (an OPT record of ours) with `option` added to its RDATA. */
export function withOption(opt: Buffer, option: Buffer): Buffer {
  const out = Buffer.concat([opt, option])
  out.writeUInt16BE(out.length - 11, 9)
  return out
}
