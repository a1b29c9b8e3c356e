/**
 * @module incus/naming/instance-addresses
 * The addresses one instance publishes, and whether more are coming: its interfaces in order of preference,
 * the usable addresses on them, the DHCP leases a VM without its agent falls back on, and the address
 * families its NICs' networks should give it. Pure.
 */
import ipaddr from 'ipaddr.js'
import { configOf, nicDevices } from '../api/instance-config.ts'
import type { Instance, Network, NicState } from '../api/types.ts'

/** Managed network name → the address families it gives its NICs. */
export type NetworkFamilies = ReadonlyMap<string, { readonly ipv4: boolean; readonly ipv6: boolean }>

/** A managed network gives a family when its `ipv4.address` / `ipv6.address` is a subnet (not empty, not 'none'). */
export function networkFamilies(networks: readonly Network[]): NetworkFamilies {
  const has = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== 'none'
  return new Map(networks.filter((n) => n.managed).map((n) => [n.name, { ipv4: has(n.config['ipv4.address']), ipv6: has(n.config['ipv6.address']) }]))
}

/** MAC (lowercase) → addresses from the DHCP leases of the instance's managed networks. */
export type Leases = ReadonlyMap<string, readonly string[]>

/** The managed networks whose leases could give this instance an address (bridged NICs with `network`). */
export function leaseNetworks(inst: Instance): string[] {
  return nicDevices(inst).flatMap(([, d]) => (d.network !== undefined ? [d.network] : []))
}

/** Usable for DNS: not link-local, loopback, unspecified or multicast. ULA and CGNAT are kept. */
export function usableAddress(address: string): string | null {
  if (!ipaddr.isValid(address)) return null
  const parsed = ipaddr.parse(address)
  const range = parsed.range()
  if (range === 'linkLocal' || range === 'loopback' || range === 'unspecified' || range === 'multicast' || range === 'broadcast') return null
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) return null
  return parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString()
}

/**
 * Interfaces in order of preference: those whose MAC is an Incus NIC device's `volatile.<dev>.hwaddr`
 * (works for VMs, whose guest names differ), then those named as a device, then the rest sorted; the device
 * `user.dns.nic` names comes first. `lo` and loopback interfaces are skipped.
 */
export function orderedInterfaces(inst: Instance): [string, NicState][] {
  const network = inst.state?.network ?? {}
  const config = configOf(inst)
  const devices = preferredFirst(inst)
  const macs = devices.map(([dev]) => (config[`volatile.${dev}.hwaddr`] ?? '').toLowerCase()).filter((m) => m !== '')
  const names = devices.map(([dev, d]) => d.name ?? dev)
  const rank = ([ifname, nic]: [string, NicState]): number => {
    const byMac = macs.indexOf(nic.hwaddr.toLowerCase())
    if (byMac >= 0 && nic.hwaddr !== '') return byMac
    const byName = names.indexOf(ifname)
    return byName >= 0 ? 100 + byName : 1000
  }
  return Object.entries(network)
    .filter(([ifname, nic]) => ifname !== 'lo' && nic.type !== 'loopback')
    .sort((a, b) => rank(a) - rank(b) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** The NIC device `user.dns.nic` names, when it is one of the instance's NIC devices. */
function preferredNic(inst: Instance): string | null {
  const want = (configOf(inst)['user.dns.nic'] ?? '').trim()
  return want !== '' && nicDevices(inst).some(([dev]) => dev === want) ? want : null
}

/** The NIC devices by name, the one `user.dns.nic` names first. */
export function preferredFirst(inst: Instance): ReturnType<typeof nicDevices> {
  const devices = nicDevices(inst)
  const preferred = preferredNic(inst)
  return preferred === null ? devices : [...devices.filter(([d]) => d === preferred), ...devices.filter(([d]) => d !== preferred)]
}

/** Why `user.dns.nic` is not used, or undefined when it is unset or names a NIC device. */
export function nicWarning(inst: Instance): string | undefined {
  const want = (configOf(inst)['user.dns.nic'] ?? '').trim()
  if (want === '' || preferredNic(inst) !== null) return undefined
  const devices = nicDevices(inst).map(([dev]) => dev)
  return `user.dns.nic=${want} names no NIC device of the instance (it has ${devices.length === 0 ? 'none' : devices.join(', ')}); the first NIC is used`
}

/** The first usable address of each family among `candidates`, normalised. */
export function firstAddresses(candidates: Iterable<string>): { ipv4: string | null; ipv6: string | null } {
  let ipv4: string | null = null
  let ipv6: string | null = null
  for (const a of candidates) {
    const usable = usableAddress(a)
    if (usable === null) continue
    if (usable.includes(':')) ipv6 ??= usable
    else ipv4 ??= usable
  }
  return { ipv4, ipv6 }
}

/** The usable ones of `candidates`, normalised, each once, in order. */
export function usableAddresses(candidates: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const a of candidates) { const u = usableAddress(a); if (u !== null) out.add(u) }
  return [...out]
}

/**
 * The families the instance's NICs should get, and how sure that is: a NIC on a managed network gets what the
 * network gives; any other NIC (macvlan, physical, an unmanaged bridge) may get either.
 */
export function expectedFamilies(inst: Instance, networks: NetworkFamilies): { ipv4: boolean; ipv6: boolean; guess: boolean } {
  const out = { ipv4: false, ipv6: false, guess: false }
  for (const [, d] of nicDevices(inst)) {
    const known = d.network !== undefined ? networks.get(d.network) : undefined
    if (known === undefined) { out.ipv4 = out.ipv6 = out.guess = true; continue }
    out.ipv4 ||= known.ipv4
    out.ipv6 ||= known.ipv6
  }
  return out
}

/** Whether a NIC on a managed network lacks, in the instance's state, a family that network gives. */
export function managedNicMissing(inst: Instance, networks: NetworkFamilies): boolean {
  const config = configOf(inst)
  const state = Object.values(inst.state?.network ?? {})
  for (const [dev, d] of nicDevices(inst)) {
    const known = d.network !== undefined ? networks.get(d.network) : undefined
    if (known === undefined) continue
    const mac = (config[`volatile.${dev}.hwaddr`] ?? '').toLowerCase()
    const nic = mac === '' ? undefined : state.find((n) => n.hwaddr.toLowerCase() === mac)
    const usable = usableAddresses((nic?.addresses ?? []).map((a) => a.address))
    if (known.ipv4 && !usable.some((a) => !a.includes(':'))) return true
    if (known.ipv6 && !usable.some((a) => a.includes(':'))) return true
  }
  return false
}
