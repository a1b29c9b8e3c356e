/**
 * @module incus/naming/map
 * One Incus instance → what it publishes: the names it asks for (instance-names.ts), the addresses to answer
 * them with (instance-addresses.ts), its labels, and why it publishes nothing when it does not. Pure:
 * everything comes in as arguments (the instance JSON, settings, DHCP leases), so it is tested from fixtures alone.
 */
import { configOf } from '../api/instance-config.ts'
import type { Name } from '../../zone/types.ts'
import type { Instance } from '../api/types.ts'
import { expectedFamilies, firstAddresses, managedNicMissing, nicWarning, orderedInterfaces, preferredFirst, usableAddresses } from './instance-addresses.ts'
import type { Leases, NetworkFamilies } from './instance-addresses.ts'
import { instanceKey, namesOf } from './instance-names.ts'
import type { NameSettings } from './instance-names.ts'
import { healthOf, srvSpecs, stackOf } from './labels.ts'
import type { SrvSpec } from './labels.ts'

export interface MapSettings extends NameSettings {
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

/** Whether the instance's state passes the filter. */
export function isLive(inst: Instance, states: ReadonlySet<string>): boolean {
  const status = inst.status.toLowerCase()
  return states.has(status) || (status === 'ready' && states.has('running'))
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
