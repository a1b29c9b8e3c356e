/**
 * @module dns/view-table
 * Split horizon on the hot path: the client's address picks the answer table of its view, by the longest
 * client prefix that holds it. With no views the transports never call in here (`split` and `subnets` are
 * false), so the single-view server pays two boolean tests. IPv4 sources, and IPv4-mapped IPv6 ones, are parsed in place
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

/** What `trusted` matches with: a view no query is answered from. */
const TRUSTED: View = { name: 'trusted resolvers', table: null as unknown as AnswerTable, queries: 0 }

export class ViewTable {
  readonly default: View
  /** True when some view has a client prefix: only then do the transports call `pick`. */
  split = false
  /** True when views are split and some resolvers' EDNS Client Subnet may pick the view (dns/subnet.ts). */
  subnets = false
  #v4: V4Prefix[] = []
  #v6: V6Prefix[] = []
  #cache = new Map<string, View | null>()
  #all: View[]
  /** The resolvers whose ECS option picks the view, as given (for worker threads) and as matched. */
  #subnetSources: readonly string[] = []
  #trusted: { v4: V4Prefix[]; v6: V6Prefix[]; cache: Map<string, View | null> } = { v4: [], v6: [], cache: new Map() }
  /** The view `pick` gave last: the one to uncount when the query's ECS picks another (`pickSubnet`). */
  #last: View

  constructor(defaultTable: AnswerTable) {
    this.default = { name: 'default', table: defaultTable, queries: 0 }
    this.#all = [this.default]
    this.#last = this.default
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
    const { v4, v6 } = compile(prefixes)
    this.#v4 = v4
    this.#v6 = v6
    this.#cache = new Map()
    this.#all = [this.default, ...views.filter((v) => v !== this.default)]
    this.split = v4.length + v6.length > 0
    this.subnets = this.split && this.#subnetSources.length > 0
  }

  /** The resolvers (CIDRs) whose EDNS Client Subnet option picks the view instead of their own address. */
  get subnetSources(): readonly string[] { return this.#subnetSources }

  setSubnetSources(cidrs: readonly string[]): void {
    this.#subnetSources = cidrs
    this.#trusted = { ...compile(cidrs.map((cidr) => ({ cidr, view: TRUSTED }))), cache: new Map() }
    this.subnets = this.split && this.#subnetSources.length > 0
  }

  /** The view whose prefix holds `address` (as node:dgram and node:net give it), counting the query. */
  pick(address: string): View {
    const view = lookup(this.#v4, this.#v6, this.#cache, address) ?? this.default
    view.queries++
    this.#last = view
    return view
  }

  /** Whether `address` is a resolver whose ECS option picks the view. */
  trustsSubnet(address: string): boolean {
    return lookup(this.#trusted.v4, this.#trusted.v6, this.#trusted.cache, address) !== null
  }

  /**
   * The view of an ECS subnet (RFC 7871) of `source` bits: its network as a number for IPv4, parsed for IPv6.
   * It replaces the last `pick`, whose count moves here. `scope`: the prefix length the answer holds for, the
   * source's or longer when a client prefix longer than the source matched or lies inside the subnet.
   */
  pickSubnet(v4: number, v6: ipaddr.IPv6 | null, source: number): { view: View; scope: number } {
    let found: V4Prefix | V6Prefix | undefined
    let scope = source
    if (v6 === null) {
      found = this.#v4.find((p) => ((v4 & p.mask) >>> 0) === p.net)
      const mask = source === 0 ? 0 : (0xffffffff << (32 - source)) >>> 0
      for (const p of this.#v4) if (p.bits > scope && ((p.net & mask) >>> 0) === v4) scope = p.bits
    } else {
      found = this.#v6.find((p) => v6.match(p.net, p.bits))
      for (const p of this.#v6) if (p.bits > scope && p.net.match(v6, source)) scope = p.bits
    }
    const view = found?.view ?? this.default
    this.#last.queries--
    view.queries++
    this.#last = view
    return { view, scope }
  }
}

/** Prefixes as the matcher keeps them, longest first; a prefix given twice keeps its first view. */
function compile(prefixes: readonly ClientPrefix[]): { v4: V4Prefix[]; v6: V6Prefix[] } {
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
  return { v4, v6 }
}

/** The view of the longest prefix holding `address`, or null. IPv4 in place; IPv6 through `cache`. */
function lookup(v4s: readonly V4Prefix[], v6s: readonly V6Prefix[], cache: Map<string, View | null>, address: string): View | null {
  let v4 = ipv4(address, 0)
  if (v4 < 0 && address.startsWith(MAPPED)) v4 = ipv4(address, MAPPED.length)
  if (v4 >= 0) {
    for (const p of v4s) if (((v4 & p.mask) >>> 0) === p.net) return p.view
    return null
  }
  if (v6s.length === 0) return null
  const cached = cache.get(address)
  if (cached !== undefined) return cached
  const view = matchV6(v6s, address)
  if (cache.size >= V6_CACHE) cache.clear()
  cache.set(address, view)
  return view
}

/** A cache miss only: parsing dominates, so ipaddr.js matches too. */
function matchV6(v6s: readonly V6Prefix[], address: string): View | null {
  let ip: ipaddr.IPv6
  try {
    const percent = address.indexOf('%') // a link-local source's zone (fe80::1%eth0)
    ip = ipaddr.IPv6.parse(percent < 0 ? address : address.slice(0, percent))
  } catch {
    return null
  }
  for (const p of v6s) if (ip.match(p.net, p.bits)) return p.view
  return null
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
