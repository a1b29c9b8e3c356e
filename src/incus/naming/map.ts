/**
 * @module incus/naming/map
 * One Incus instance → the names it should have and the addresses to publish. Pure: everything comes in as
 * arguments (the instance JSON, settings, DHCP leases), so it is tested from fixtures alone.
 */
import ipaddr from 'ipaddr.js'
import { canonicalName, flatString } from '../../zone/name.ts'
import type { Name } from '../../zone/types.ts'
import type { Instance, Network, NicState } from '../api/types.ts'
import { aliasValues, CADDY_HOST_KEY, caddyHost, healthOf, serviceLabel, srvSpecs, stackOf } from './labels.ts'
import type { SrvSpec } from './labels.ts'

export interface MapSettings {
  /** Names are `<name>.<suffix>`; null: only instances with a hostname key or a dotted name get names. */
  readonly suffix: Name | null
  /** Lowercase statuses that publish records; 'running' also covers 'ready' (running, guest signalled ready). */
  readonly states: ReadonlySet<string>
  /** Keep every usable address of the instance in `addresses` (views are configured: they choose among them). */
  readonly allAddresses?: boolean
}

/** What one instance publishes, before conflicts between instances are settled. */
export interface Mapped {
  /** `project/name`: an instance's identity (§4.1: the same name may exist in several projects). */
  readonly key: string
  readonly project: string
  readonly name: string
  readonly hostname: Name | null
  readonly aliases: readonly Name[]
  /** `user.dns.wildcard=true`: `*.<hostname>` answers with the instance's records too (reverse proxies, ingress). */
  readonly wildcard?: boolean
  /**
   * The config key each name came from (hostname key, alias keys, service key), for names that did not come
   * from the instance's own name; absent when none did. Name rules (name-rules.ts) say which key they refuse.
   */
  readonly keys?: Readonly<Record<Name, string>>
  /** The service it is a replica of, named as instances are (labels.ts has the keys); absent: none. */
  readonly service?: Name
  /**
   * The name Caddy routes to the instance (`user.caddyserver.http.matchers.host` with `.enable=true`): it is
   * answered with the proxy's addresses (INCUS_DNS_CADDY_PROXY), not the instance's.
   */
  readonly caddy?: Name
  /** incus-compose's stack (its project label): two stacks' services of one name are told apart by it. */
  readonly stack?: string
  /** `user.healthcheck.status`, lowercased; absent: no key (served). */
  readonly health?: string
  /** `user.dns.srv.*`: the SRV records it publishes under its hostname, and under its service. */
  readonly srv?: readonly SrvSpec[]
  /** Incus's status (Running, Stopped, ...), for the status page. */
  readonly status?: string
  /** The cluster member it is on (absent on a standalone server, whose `location` is 'none'). */
  readonly location?: string
  /** The default view's addresses: the first of each family, from the NIC `user.dns.nic` names, else the first NIC. */
  readonly ipv4: string | null
  readonly ipv6: string | null
  /** Every usable address, in the same order of NICs (only with `allAddresses`): what views choose from. */
  readonly addresses?: readonly string[]
  /** Configuration problems that did not stop publishing (a `user.dns.nic` naming no NIC, a bad SRV key), for the log. */
  readonly warning?: string
  /** Why it publishes nothing, for the debug log; null when it publishes. */
  readonly skipped: string | null
  /**
   * Live and named, but an address family its NICs should get is not in its state yet: worth polling, since
   * no event says when it arrives. 'network': a managed network says it hands out that family (wait long);
   * 'guess': a NIC on no managed network, so both families are only possible (wait briefly). false: done.
   */
  readonly awaitingAddress: false | 'network' | 'guess'
}

/** Managed network name → the address families it gives its NICs. */
export type NetworkFamilies = ReadonlyMap<string, { readonly ipv4: boolean; readonly ipv6: boolean }>

/** A managed network gives a family when its `ipv4.address` / `ipv6.address` is a subnet (not empty, not 'none'). */
export function networkFamilies(networks: readonly Network[]): NetworkFamilies {
  const has = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== 'none'
  return new Map(networks.filter((n) => n.managed).map((n) => [n.name, { ipv4: has(n.config['ipv4.address']), ipv6: has(n.config['ipv6.address']) }]))
}

/** MAC (lowercase) → addresses from the DHCP leases of the instance's managed networks. */
export type Leases = ReadonlyMap<string, readonly string[]>

export function instanceKey(project: string, name: string): string {
  return flatString(`${project}/${name}`) // a Map key for the instance's lifetime
}

/** user.* keys may come from profiles, so read expanded_config (§0.9), falling back to config. */
function configOf(inst: Instance): Readonly<Record<string, string>> {
  return inst.expanded_config ?? inst.config ?? {}
}

function nicDevices(inst: Instance): [string, NonNullable<Instance['devices']>[string]][] {
  const devices = inst.expanded_devices ?? inst.devices ?? {}
  return Object.entries(devices).filter(([, d]) => d.type === 'nic').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The managed networks whose leases could give this instance an address (bridged NICs with `network`). */
export function leaseNetworks(inst: Instance): string[] {
  return nicDevices(inst).flatMap(([, d]) => (d.network !== undefined ? [d.network] : []))
}

/** Whether the instance's state passes the filter. */
export function isLive(inst: Instance, states: ReadonlySet<string>): boolean {
  const status = inst.status.toLowerCase()
  return states.has(status) || (status === 'ready' && states.has('running'))
}

/** An instance's own name: `<name>.<suffix>`, or `<name>.<project>.<suffix>` outside the default project; null without a suffix. */
export function ownName(project: string, label: string, suffix: Name | null): Name | null {
  if (suffix === null) return null
  return project === 'default' ? `${label}.${suffix}` : `${label}.${project}.${suffix}`
}

/** The hostname keys, first set wins: ours, then dnsweaver's (so users can switch without relabelling). */
const HOSTNAME_KEYS = ['user.dns.hostname', 'user.dnsweaver.hostname'] as const
/** What `keys` says of a hostname that is the instance's name with dots in it (Incus allows none, §4.2). */
export const INSTANCE_NAME_KEY = 'instance name'

/** Hostname and aliases per the naming rules; throws nothing, returns null hostname with a reason. */
export function namesOf(inst: Instance, settings: MapSettings): { hostname: Name | null; aliases: Name[]; service: Name | null; caddy: Name | null; keys: Record<Name, string>; why: string | null; problem: string | null } {
  const config = configOf(inst)
  const project = inst.project
  const relative = (label: string): Name | null => ownName(project, label, settings.suffix)
  const resolve = (value: string): Name | null => {
    const v = value.trim()
    if (v === '') return null
    return v.includes('.') ? v.replace(/\.$/, '') : relative(v)
  }
  const checked = (n: Name | null): Name | null => {
    if (n === null) return null
    try { return flatString(canonicalName(n)) } catch { return null } // kept for the instance's lifetime
  }
  // First match wins: our key, dnsweaver's, a dotted name, the default.
  const keys: Record<Name, string> = {}
  const hostnameKey = HOSTNAME_KEYS.find((k) => config[k] !== undefined)
  const override = hostnameKey === undefined ? undefined : config[hostnameKey]
  let hostname: Name | null
  let why: string | null = null
  if (override !== undefined && override.trim() !== '') {
    hostname = checked(resolve(override))
    if (hostname !== null) keys[hostname] = hostnameKey as string
    if (hostname === null) why = settings.suffix === null && !override.includes('.')
      ? `hostname key '${override}' is relative and INCUS_DNS_SUFFIX is not set`
      : `hostname key '${override}' is not a valid DNS name`
  } else if (inst.name.includes('.')) {
    hostname = checked(inst.name)
    if (hostname !== null) keys[hostname] = INSTANCE_NAME_KEY
    if (hostname === null) why = `instance name '${inst.name}' is not a valid DNS name`
  } else {
    hostname = checked(relative(inst.name))
    if (hostname === null) why = settings.suffix === null ? 'no INCUS_DNS_SUFFIX and no user.dns.hostname' : `'${inst.name}' in project '${project}' makes no valid DNS name`
  }
  const aliases: Name[] = []
  for (const [key, value] of aliasValues(config)) {
    const a = checked(resolve(value))
    if (a === null || a === hostname || keys[a] !== undefined) continue
    aliases.push(a)
    keys[a] = key
  }
  // A service is named as an instance is; one named like the instance itself is just its hostname.
  const label = serviceLabel(config)
  const resolved = label === null ? null : checked(resolve(label.value))
  const service = resolved === hostname ? null : resolved
  if (service !== null && label !== null) keys[service] = label.key
  const problem = label !== null && resolved === null ? `service '${label.value}' makes no valid DNS name${settings.suffix === null && !label.value.includes('.') ? ' (INCUS_DNS_SUFFIX is not set)' : ''}; it is not published` : null
  // Caddy's host is a full name (it is what clients type), never relative.
  const routed = caddyHost(config)
  const caddy = routed === null ? null : checked(routed.replace(/\.$/, ''))
  if (caddy !== null) keys[caddy] = CADDY_HOST_KEY
  return { hostname, aliases: aliases.filter((a) => a !== service && a !== caddy), service, caddy: caddy === hostname ? null : caddy, keys, why, problem }
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
function preferredFirst(inst: Instance): ReturnType<typeof nicDevices> {
  const devices = nicDevices(inst)
  const preferred = preferredNic(inst)
  return preferred === null ? devices : [...devices.filter(([d]) => d === preferred), ...devices.filter(([d]) => d !== preferred)]
}

/** Why `user.dns.nic` is not used, or undefined when it is unset or names a NIC device. */
function nicWarning(inst: Instance): string | undefined {
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
function usableAddresses(candidates: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const a of candidates) { const u = usableAddress(a); if (u !== null) out.add(u) }
  return [...out]
}

/**
 * The families the instance's NICs should get, and how sure that is: a NIC on a managed network gets what the
 * network gives; any other NIC (macvlan, physical, an unmanaged bridge) may get either.
 */
function expectedFamilies(inst: Instance, networks: NetworkFamilies): { ipv4: boolean; ipv6: boolean; guess: boolean } {
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
function managedNicMissing(inst: Instance, networks: NetworkFamilies): boolean {
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

/**
 * Maps one instance. Addresses come from its state. The DHCP leases are a fallback only for an instance that
 * reports no interface at all (a VM without its agent): Incus lists a computed SLAAC address there for every
 * NIC from the moment it exists, so a lease never means the guest has that address, nor that waiting is over.
 */
export function mapInstance(inst: Instance, settings: MapSettings, networks: NetworkFamilies = new Map(), leases: Leases | null = null): Mapped {
  const key = instanceKey(inst.project, inst.name)
  const { hostname, aliases, service, caddy, keys, why, problem } = namesOf(inst, settings)
  const config = configOf(inst)
  const { health, problem: healthProblem } = healthOf(config)
  const stack = stackOf(config)
  const { specs, problems } = srvSpecs(config)
  const warnings = [nicWarning(inst), problem, healthProblem, ...problems].filter((w): w is string => w !== null && w !== undefined)
  // Only what is set: at 100k instances a field each is memory for nothing.
  const base = {
    key, project: inst.project, name: inst.name, hostname, aliases, wildcard: (config['user.dns.wildcard'] ?? '').trim().toLowerCase() === 'true', status: inst.status,
    ...(inst.location !== undefined && inst.location !== '' && inst.location !== 'none' ? { location: inst.location } : {}),
    ...(Object.keys(keys).length > 0 ? { keys } : {}),
    ...(service !== null ? { service } : {}), ...(caddy !== null ? { caddy } : {}), ...(stack !== null ? { stack } : {}), ...(health !== null ? { health } : {}),
    ...(specs.length > 0 ? { srv: specs } : {}),
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  }
  const nothing = (reason: string, awaitingAddress: Mapped['awaitingAddress'] = false): Mapped => ({ ...base, ipv4: null, ipv6: null, skipped: reason, awaitingAddress })
  if ((config['user.dns.enabled'] ?? config['user.dnsweaver.enabled'] ?? 'true').toLowerCase() === 'false') {
    return nothing('opted out (user.dns.enabled=false)')
  }
  if (!isLive(inst, settings.states)) return nothing(`status ${inst.status} is not in INCUS_DNS_STATE_FILTER`)
  if (hostname === null) return nothing(why ?? 'no name')

  const interfaces = orderedInterfaces(inst)
  const all = interfaces.flatMap(([, nic]) => (nic.addresses ?? []).map((a) => a.address))
  const fromState = firstAddresses(all)
  // Every address only when views choose among them: at 100k instances an array each is memory for nothing.
  const addresses = settings.allAddresses === true ? { addresses: usableAddresses(all) } : {}
  const expected = expectedFamilies(inst, networks)
  const missing = (expected.ipv4 && fromState.ipv4 === null) || (expected.ipv6 && fromState.ipv6 === null)
  // With views, every NIC's addresses are answered somewhere, so a second NIC still waiting is waited for too.
  const nicMissing = settings.allAddresses === true && managedNicMissing(inst, networks)
  const awaiting: Mapped['awaitingAddress'] = nicMissing ? 'network' : !missing ? false : expected.guess ? 'guess' : 'network'
  if (fromState.ipv4 !== null || fromState.ipv6 !== null) return { ...base, ...fromState, ...addresses, skipped: null, awaitingAddress: awaiting }
  if (interfaces.length === 0) {
    // A VM without its agent (or an empty state.network): the managed network's DHCP leases, by MAC.
    const macs = preferredFirst(inst).map(([dev]) => (config[`volatile.${dev}.hwaddr`] ?? '').toLowerCase()).filter((m) => m !== '')
    const fromLeases = firstAddresses(macs.flatMap((m) => leases?.get(m) ?? []))
    const leased = settings.allAddresses === true ? { addresses: usableAddresses(macs.flatMap((m) => leases?.get(m) ?? [])) } : {}
    if (fromLeases.ipv4 !== null || fromLeases.ipv6 !== null) return { ...base, ...fromLeases, ...leased, skipped: null, awaitingAddress: awaiting }
  }
  return nothing('no usable address yet (state.network and DHCP leases have none)', awaiting === false ? 'guess' : awaiting)
}
