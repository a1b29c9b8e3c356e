/**
 * @module incus/naming/view-ranges
 * Split horizon's views as address ranges: the views INCUS_DNS_VIEWS configures (config/view-specs.ts reads
 * them), resolved at each sync against Incus's managed networks, which come and go while we run, into each
 * view's client prefixes and the ranges whose addresses its clients see.
 */
import { networkCidr } from '../../address.ts'
import type { Network } from '../api/types.ts'
import { networkSubnets } from './reverse.ts'

/** One side of a view: address ranges (CIDRs, normalised) and Incus network names. */
export interface ViewElements {
  readonly cidrs: readonly string[]
  readonly networks: readonly string[]
}

export type ViewSpec =
  /** One view per managed Incus network with a subnet, named after it: its clients see their addresses on it. */
  | { readonly kind: 'auto' }
  | { readonly kind: 'view'; readonly name: string; readonly clients: ViewElements; readonly sees: ViewElements }

/** A view with every Incus network in it replaced by that network's subnets. */
export interface ResolvedView {
  readonly name: string
  /** Client prefixes (CIDRs). */
  readonly clients: readonly string[]
  /** The address ranges whose addresses its clients are given (CIDRs). */
  readonly sees: readonly string[]
  /** Networks the view names that Incus has not got (or that have no subnet), for the log and status page. */
  readonly missing: readonly string[]
}

/** The subnets of a network as ranges: `10.42.0.1/24` → `10.42.0.0/24`. */
function subnetsOf(network: Network): string[] {
  return networkSubnets(network.config).map(networkCidr)
}

/** The views of the specs, given Incus's managed networks; `auto` gives one per network with a subnet. */
export function resolveViews(specs: readonly ViewSpec[], networks: readonly Network[]): ResolvedView[] {
  const byName = new Map(networks.filter((n) => n.managed).map((n) => [n.name, n]))
  const out: ResolvedView[] = []
  const explicit = new Set(specs.flatMap((s) => (s.kind === 'view' ? [s.name] : [])))
  for (const spec of specs) {
    if (spec.kind === 'auto') {
      // A view named like a network overrides the network's automatic one.
      for (const n of byName.values()) {
        const subnets = subnetsOf(n)
        if (subnets.length > 0 && !explicit.has(n.name)) out.push({ name: n.name, clients: subnets, sees: subnets, missing: [] })
      }
      continue
    }
    const missing: string[] = []
    const side = (cidrs: readonly string[], names: readonly string[]): string[] => [...cidrs, ...names.flatMap((name) => {
      const n = byName.get(name)
      const subnets = n === undefined ? [] : subnetsOf(n)
      if (subnets.length === 0 && !missing.includes(name)) missing.push(name)
      return subnets
    })]
    out.push({ name: spec.name, clients: side(spec.clients.cidrs, spec.clients.networks), sees: side(spec.sees.cidrs, spec.sees.networks), missing })
  }
  return out
}
