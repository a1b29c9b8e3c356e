/**
 * When did each address family of an instance appear in Incus's own state, and when did incus-dns answer it?
 * Both are polled side by side (the state every 20 ms over the unix socket, DNS every 10 ms over loopback UDP),
 * so the lag between them is what a client sees on top of Incus's own time to an address. Used by the
 * real-Incus tests (with bounds) and by bench/incus-real.ts (percentiles over many launches).
 */
import ipaddr from 'ipaddr.js'
import { udpExchange } from './net.ts'
import { decode, query } from './packets.ts'
import type { RealIncus } from './real-incus.ts'

export interface FamilyTimes {
  /** ms after t0 that the family's global address was first in `state.network`; null: never within the bound. */
  state: number | null
  /** ms after t0 that incus-dns first answered it; null: never. */
  dns: number | null
  address: string | null
}

export interface Timeline { ipv4: FamilyTimes; ipv6: FamilyTimes }

interface NicState { addresses: { family: string; address: string; scope: string }[] | null }

function globalAddress(network: Record<string, NicState> | null, family: 'inet' | 'inet6'): string | null {
  for (const [ifname, nic] of Object.entries(network ?? {})) {
    if (ifname === 'lo') continue
    for (const a of nic.addresses ?? []) {
      if (a.family === family && a.scope === 'global') return a.address
    }
  }
  return null
}

/** The records of one answer of type A or AAAA, as addresses (the last of a CNAME chain included). */
async function answered(port: number, name: string, type: 'A' | 'AAAA'): Promise<string[]> {
  const reply = await udpExchange(port, query(name, type), 500)
  if (reply === null) return []
  return decode(reply).answer.map((l) => l.split(' ')).filter((f) => f[3] === type).map((f) => f[4] as string)
}

/**
 * Watches until both families have appeared in Incus's state and in DNS, or `boundMs` passes. `t0` is the
 * moment to count from (the launch's return, say).
 */
export async function observe(real: Pick<RealIncus, 'get'>, opts: { instance: string; project?: string; dnsName: string; port: number; t0: number; boundMs: number }): Promise<Timeline> {
  const out: Timeline = { ipv4: { state: null, dns: null, address: null }, ipv6: { state: null, dns: null, address: null } }
  const deadline = opts.t0 + opts.boundMs
  const q = opts.project !== undefined && opts.project !== 'default' ? `?project=${encodeURIComponent(opts.project)}` : ''
  const done = (): boolean => out.ipv4.dns !== null && out.ipv6.dns !== null && out.ipv4.state !== null && out.ipv6.state !== null
  const pollState = async (): Promise<void> => {
    while (!done() && Date.now() < deadline) {
      const state = await real.get<{ network: Record<string, NicState> | null }>(`/1.0/instances/${opts.instance}/state${q}`).catch(() => null)
      const now = Date.now() - opts.t0
      for (const [fam, key] of [['inet', 'ipv4'], ['inet6', 'ipv6']] as const) {
        const a = globalAddress(state?.network ?? null, fam)
        if (a !== null && out[key].state === null) { out[key].state = now; out[key].address = a }
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const pollDns = async (): Promise<void> => {
    while (!done() && Date.now() < deadline) {
      const [v4, v6] = await Promise.all([answered(opts.port, opts.dnsName, 'A'), answered(opts.port, opts.dnsName, 'AAAA')])
      const now = Date.now() - opts.t0
      if (v4.length > 0 && out.ipv4.dns === null) out.ipv4.dns = now
      if (v6.length > 0 && out.ipv6.dns === null) out.ipv6.dns = now
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  await Promise.all([pollState(), pollDns()])
  for (const f of [out.ipv4, out.ipv6]) if (f.address !== null && f.address.includes(':')) f.address = (ipaddr.parse(f.address) as ipaddr.IPv6).toRFC5952String()
  return out
}

/** The lag of DNS behind Incus's state for a family; Infinity when DNS never answered what Incus had. */
export function lag(f: FamilyTimes): number {
  if (f.state === null) return Number.NaN
  if (f.dns === null) return Number.POSITIVE_INFINITY
  return Math.max(0, f.dns - f.state)
}
