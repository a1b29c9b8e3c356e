/**
 * @module dns/views
 * Split horizon on the hot path: the client's address picks the answer table of its view, by the longest
 * client prefix that holds it. With no views the transports never call in here (`split` is false), so the
 * single-view server pays one boolean test. IPv4 sources, and IPv4-mapped IPv6 ones, are parsed in place
 * with no allocation; other IPv6 sources go through a small cache, since parsing one costs about a microsecond.
 * `pick` never throws: an address it cannot read gets the default view.
 */
import ipaddr from 'ipaddr.js'
import type { AnswerTable } from '../zone/table.ts'

export interface View {
  readonly name: string
  readonly table: AnswerTable
  /** Queries answered from this view since start (counted only when views are configured). */
  queries: number
}

/** One client prefix of a view, as configured or resolved from an Incus network: `10.42.0.0/24`, `fd42::/64`. */
export interface ClientPrefix {
  readonly cidr: string
  readonly view: View
}

/** IPv6 source addresses remembered at most; the cache is emptied when full (a flood of sources costs parses, not memory). */
const V6_CACHE = 1024
const MAPPED = '::ffff:'

interface V4Prefix { readonly net: number; readonly mask: number; readonly bits: number; readonly view: View }
interface V6Prefix { readonly bytes: Uint8Array; readonly bits: number; readonly view: View }

export class Views {
  readonly default: View
  /** True when some view has a client prefix: only then do the transports call `pick`. */
  split = false
  #v4: V4Prefix[] = []
  #v6: V6Prefix[] = []
  #cache = new Map<string, View>()
  #all: View[]

  constructor(defaultTable: AnswerTable) {
    this.default = { name: 'default', table: defaultTable, queries: 0 }
    this.#all = [this.default]
  }

  /** Every view, the default first. */
  get all(): readonly View[] { return this.#all }

  /** The prefixes now matched, longest first. */
  get prefixes(): readonly { cidr: string; view: string }[] {
    const v4 = this.#v4.map((p) => ({ cidr: `${ipaddr.fromByteArray([p.net >>> 24, (p.net >>> 16) & 255, (p.net >>> 8) & 255, p.net & 255]).toString()}/${p.bits}`, view: p.view.name }))
    const v6 = this.#v6.map((p) => ({ cidr: `${ipaddr.fromByteArray([...p.bytes]).toString()}/${p.bits}`, view: p.view.name }))
    return [...v4, ...v6]
  }

  /**
   * Replaces the views and their client prefixes. A prefix given twice keeps its first view. Throws on a
   * prefix that is not a CIDR (callers pass validated or resolved ones).
   */
  set(views: readonly View[], prefixes: readonly ClientPrefix[]): void {
    const v4: V4Prefix[] = []
    const v6: V6Prefix[] = []
    const seen = new Set<string>()
    for (const p of prefixes) {
      const [ip, bits] = ipaddr.parseCIDR(p.cidr)
      const key = `${ip.kind()}/${bits}/${ip.toByteArray().join('.')}`
      if (seen.has(key)) continue
      seen.add(key)
      if (ip.kind() === 'ipv4') {
        const b = ip.toByteArray()
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
        const net = ((((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) & mask) >>> 0
        v4.push({ net, mask, bits, view: p.view })
      } else {
        const bytes = Uint8Array.from(ip.toByteArray())
        for (let i = 0; i < 16; i++) bytes[i] = (bytes[i] as number) & byteMask(bits, i)
        v6.push({ bytes, bits, view: p.view })
      }
    }
    // Longest first, so the first prefix that holds an address is the longest match.
    v4.sort((a, b) => b.bits - a.bits)
    v6.sort((a, b) => b.bits - a.bits)
    this.#v4 = v4
    this.#v6 = v6
    this.#cache = new Map()
    this.#all = [this.default, ...views.filter((v) => v !== this.default)]
    this.split = v4.length + v6.length > 0
  }

  /** The view whose prefix holds `address` (as node:dgram and node:net give it), counting the query. */
  pick(address: string): View {
    const view = this.#lookup(address)
    view.queries++
    return view
  }

  #lookup(address: string): View {
    let v4 = ipv4(address, 0)
    if (v4 < 0 && address.startsWith(MAPPED)) v4 = ipv4(address, MAPPED.length)
    if (v4 >= 0) {
      for (const p of this.#v4) if (((v4 & p.mask) >>> 0) === p.net) return p.view
      return this.default
    }
    if (this.#v6.length === 0) return this.default
    const cached = this.#cache.get(address)
    if (cached !== undefined) return cached
    const view = this.#matchV6(address)
    if (this.#cache.size >= V6_CACHE) this.#cache.clear()
    this.#cache.set(address, view)
    return view
  }

  #matchV6(address: string): View {
    let bytes: number[]
    try {
      const percent = address.indexOf('%') // a link-local source's zone (fe80::1%eth0)
      bytes = ipaddr.IPv6.parse(percent < 0 ? address : address.slice(0, percent)).toByteArray()
    } catch {
      return this.default
    }
    for (const p of this.#v6) {
      let ok = true
      for (let i = 0; i < 16 && ok; i++) ok = ((bytes[i] as number) & byteMask(p.bits, i)) === p.bytes[i]
      if (ok) return p.view
    }
    return this.default
  }
}

/** The mask of byte `i` of a prefix `bits` long. */
function byteMask(bits: number, i: number): number {
  const left = bits - i * 8
  return left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff
}

/** A dotted quad from `from` to the end of `s` as an unsigned 32-bit number, or -1. No allocation. */
export function ipv4(s: string, from: number): number {
  let acc = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1
      acc = acc * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return -1
    } else return -1
  }
  if (dots !== 3 || digits === 0) return -1
  return acc * 256 + part
}
