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

/** `cidr` as given (normalised), for `prefixes`; the numbers are what the hot path compares. */
interface V4Prefix { readonly cidr: string; readonly net: number; readonly mask: number; readonly bits: number; readonly view: View }
interface V6Prefix { readonly cidr: string; readonly net: ipaddr.IPv6; readonly bits: number; readonly view: View }

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
    return [...this.#v4, ...this.#v6].map((p) => ({ cidr: p.cidr, view: p.view.name }))
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
      const bits = ipaddr.parseCIDR(p.cidr)[1]
      if (p.cidr.includes(':')) {
        const net = ipaddr.IPv6.networkAddressFromCIDR(p.cidr)
        const cidr = `${net.toString()}/${bits}`
        if (!seen.has(cidr)) v6.push({ cidr, net, bits, view: p.view })
        seen.add(cidr)
      } else {
        const b = ipaddr.IPv4.networkAddressFromCIDR(p.cidr).toByteArray()
        const cidr = `${b.join('.')}/${bits}`
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
        const net = (b[0] as number) * 2 ** 24 + (b[1] as number) * 2 ** 16 + (b[2] as number) * 2 ** 8 + (b[3] as number)
        if (!seen.has(cidr)) v4.push({ cidr, net, mask, bits, view: p.view })
        seen.add(cidr)
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

  /** A cache miss only: parsing dominates, so ipaddr.js matches too. */
  #matchV6(address: string): View {
    let ip: ipaddr.IPv6
    try {
      const percent = address.indexOf('%') // a link-local source's zone (fe80::1%eth0)
      ip = ipaddr.IPv6.parse(percent < 0 ? address : address.slice(0, percent))
    } catch {
      return this.default
    }
    for (const p of this.#v6) if (ip.match(p.net, p.bits)) return p.view
    return this.default
  }
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
