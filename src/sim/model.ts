/**
 * @module sim/model
 * The simulated Incus's state: instances, networks and leases, rendered in the real API's JSON shapes
 * (shared/incus-api: field order as Go's encoding/json writes it, `location: "none"`, `null` network when
 * stopped, device-keyed fallback for a VM without agent). Changes made here emit lifecycle events the way
 * incusd does (§5.4), and addresses change with no event at all (§0.1).
 */
import { randomUUID } from 'node:crypto'
import ipaddr from 'ipaddr.js'
import type { Event, Instance, Lease, Network, NicState } from '../incus/api/types.ts'

/** A member of the simulated cluster, as /1.0/cluster/members lists it. */
export interface SimMember {
  readonly server_name: string
  readonly url: string
  status: 'Online' | 'Offline' | 'Evacuated'
  message: string
}

export interface LaunchSpec {
  readonly name: string
  readonly project?: string
  readonly type?: 'container' | 'virtual-machine'
  /** Instance config keys (user.dns.hostname, user.dns.aliases, ...). */
  readonly config?: Record<string, string>
  /** Keys coming from a profile: they appear in expanded_config only. */
  readonly profileConfig?: Record<string, string>
  readonly ipv4?: string | null
  readonly ipv6?: string | null
  /** The address appears this long after the start, with no event (a guest's DHCP client). 0: at once. */
  readonly addressAfterMs?: number
  /** Per family, overriding addressAfterMs: on a real incusd IPv4 (DHCP) and IPv6 (SLAAC) arrive apart, in either order. */
  readonly ipv4AfterMs?: number
  readonly ipv6AfterMs?: number
  /** The managed bridge its eth0 is on (BRIDGES); default incusbr0. */
  readonly network?: string
  /** The guest's interface name (containers: eth0; VMs with agent: enp5s0). */
  readonly guestNic?: string
  /** VMs: whether incus-agent runs. Without it Incus reports the device-keyed lease fallback. */
  readonly agent?: boolean
  /** Adds a docker0 bridge with 172.17.0.1 inside the instance. */
  readonly docker?: boolean
  /** NICs besides eth0, each on its own network; their addresses are there while it runs. */
  readonly nics?: readonly ExtraNic[]
  /** The cluster member it is on; default 'none' (a standalone server). */
  readonly location?: string
}

export interface ExtraNic {
  /** The device name, which is also the guest's interface name: eth1, lan0. */
  readonly device: string
  readonly network: string
  readonly ipv4?: string | null
  readonly ipv6?: string | null
  /** Its addresses arrive this long after the start, with no event. 0: at once. */
  readonly afterMs?: number
}

export interface SimInstance {
  name: string
  project: string
  type: 'container' | 'virtual-machine'
  status: 'Running' | 'Stopped' | 'Ready' | 'Frozen' | 'Error'
  config: Record<string, string>
  profileConfig: Record<string, string>
  hwaddr: string
  ipv4: string | null
  ipv6: string | null
  /** What the instance will get when started (its "DHCP lease"). */
  plannedIpv4: string | null
  plannedIpv6: string | null
  guestNic: string
  agent: boolean
  docker: boolean
  createdAt: string
  /** Pending per-family address arrivals. */
  addressTimers: NodeJS.Timeout[]
  network: string
  /** Error stub as an offline cluster member returns it: only name, project, location, type. */
  stub: boolean
  extraNics: (ExtraNic & { readonly hwaddr: string; configured: boolean })[]
  location: string
  /** Makes its JSON odd as a patched daemon or a proxy might (tests of one unreadable instance); undefined: as Incus sends it. */
  oddly?: (json: Record<string, unknown>) => void
}

const STATUS_CODE: Record<string, number> = { Running: 103, Stopped: 102, Frozen: 110, Error: 112, Ready: 113 }

let macCounter = 0x100
function nextMac(): string {
  const n = macCounter++
  return `10:66:6a:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`
}

export const BRIDGE: Network = {
  name: 'incusbr0', type: 'bridge', managed: true,
  config: { 'ipv4.address': '10.42.0.1/24', 'ipv4.nat': 'true', 'ipv6.address': 'fd42:4c81:5770:1eaf::1/64', 'ipv6.nat': 'true' },
}

/** A second bridge, as a project profile can point eth0 at (the same instance name in two projects needs two). */
export const BRIDGE2: Network = {
  name: 'incusbr1', type: 'bridge', managed: true,
  config: { 'ipv4.address': '10.43.0.1/24', 'ipv4.nat': 'true', 'ipv6.address': 'fd42:4c81:5770:2eaf::1/64', 'ipv6.nat': 'true' },
}

export const BRIDGES: readonly Network[] = [BRIDGE, BRIDGE2]

export function key(project: string, name: string): string {
  return `${project}/${name}`
}

/** The `source` URL of a lifecycle event (§5.4): path-escaped name, `?project=` only off default. */
export function sourceUrl(project: string, name: string): string {
  return `/1.0/instances/${encodeURIComponent(name)}${project === 'default' ? '' : `?project=${project}`}`
}

export function lifecycleEvent(action: string, inst: { name: string; project: string }, context?: Record<string, unknown>): Event {
  const metadata: Record<string, unknown> = { action, source: sourceUrl(inst.project, inst.name) }
  if (context !== undefined) metadata.context = context
  metadata.requestor = { username: 'root', protocol: 'unix', address: '@' }
  metadata.name = inst.name
  metadata.project = inst.project
  return { type: 'lifecycle', timestamp: new Date().toISOString(), metadata, location: 'none', project: inst.project } as Event
}

/** A network's lifecycle event, as incusd sends it (source `/1.0/networks/<name>`, the project of the network). */
export function networkEvent(action: string, name: string, project = 'default'): Event {
  return { type: 'lifecycle', timestamp: new Date().toISOString(), location: 'none', project,
    metadata: { action, source: `/1.0/networks/${encodeURIComponent(name)}`, name, project } } as Event
}

export function newInstance(spec: LaunchSpec): SimInstance {
  const type = spec.type ?? 'container'
  return {
    name: spec.name, project: spec.project ?? 'default', type, status: 'Stopped',
    config: { ...spec.config }, profileConfig: { ...spec.profileConfig }, hwaddr: nextMac(),
    ipv4: null, ipv6: null, plannedIpv4: spec.ipv4 ?? null, plannedIpv6: spec.ipv6 ?? null,
    guestNic: spec.guestNic ?? (type === 'virtual-machine' ? 'enp5s0' : 'eth0'),
    agent: spec.agent ?? true, docker: spec.docker ?? false,
    createdAt: new Date().toISOString(), addressTimers: [], stub: false, network: spec.network ?? BRIDGE.name,
    extraNics: (spec.nics ?? []).map((n) => ({ ...n, hwaddr: nextMac(), configured: false })),
    location: spec.location ?? 'none',
  }
}

function address(a: string): { family: 'inet' | 'inet6'; address: string; netmask: string; scope: string } {
  const v6 = a.includes(':')
  return { family: v6 ? 'inet6' : 'inet', address: a, netmask: v6 ? '64' : '24', scope: 'global' }
}

const COUNTERS = { bytes_received: 1000, bytes_sent: 1000, packets_received: 10, packets_sent: 10, errors_received: 0, errors_sent: 0, packets_dropped_outbound: 0, packets_dropped_inbound: 0 }

/** `state.network` as incusd fills it for this instance (§4.4). */
export function networkState(i: SimInstance): Record<string, NicState & Record<string, unknown>> | null {
  if (i.status === 'Stopped' || i.status === 'Error') return null
  const own = [i.ipv4, i.ipv6].filter((a): a is string => a !== null).map(address)
  const linkLocal = { family: 'inet6' as const, address: eui64('fe80::/64', i.hwaddr), netmask: '64', scope: 'link' }
  const nic = (addresses: unknown[], hwaddr: string, hostName: string) =>
    ({ addresses, counters: COUNTERS, hwaddr, host_name: hostName, mtu: 1500, state: 'up', type: 'broadcast' }) as unknown as NicState & Record<string, unknown>
  if (i.type === 'virtual-machine' && !i.agent) {
    // No agent: keyed by device name, from the bridge's leases (only what has an address).
    return own.length === 0 ? {} : { eth0: nic(own, i.hwaddr, 'tap1234abcd') }
  }
  const net: Record<string, NicState & Record<string, unknown>> = {}
  if (i.docker) net.docker0 = nic([address('172.17.0.1')], '02:42:8e:3c:51:d7', '')
  net[i.guestNic] = nic([...own, linkLocal], i.hwaddr, i.type === 'container' ? 'veth1234abcd' : 'tap1234abcd')
  for (const x of i.extraNics) {
    const addresses = !x.configured ? [] : [x.ipv4 ?? null, x.ipv6 ?? null].filter((a): a is string => a !== null).map(address)
    net[x.device] = nic([...addresses, { family: 'inet6', address: eui64('fe80::/64', x.hwaddr), netmask: '64', scope: 'link' }], x.hwaddr, 'veth5678abcd')
  }
  net.lo = {
    addresses: [{ family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' }, { family: 'inet6', address: '::1', netmask: '128', scope: 'local' }],
    counters: COUNTERS, hwaddr: '', host_name: '', mtu: 65536, state: 'up', type: 'loopback',
  } as unknown as NicState & Record<string, unknown>
  return net
}

function stateOf(i: SimInstance): Record<string, unknown> {
  const running = i.status !== 'Stopped' && i.status !== 'Error'
  return {
    status: i.status, status_code: STATUS_CODE[i.status],
    disk: { root: { usage: running ? 387923968 : 0, total: 0 } },
    memory: { usage: running ? 45154304 : 0, usage_peak: 0, total: 0, swap_usage: 0, swap_usage_peak: 0 },
    network: networkState(i),
    pid: running ? 4242 : 0, processes: running ? 12 : i.type === 'virtual-machine' ? -1 : 0,
    cpu: { usage: 0, allocated_time: 0 }, started_at: running ? i.createdAt : '0001-01-01T00:00:00Z', os_info: null,
  }
}

/** `Instance` (recursion=1), keys in the order incusd writes them. */
export function renderInstance(i: SimInstance): Instance {
  const status = { status: i.status, status_code: STATUS_CODE[i.status] }
  if (i.stub) {
    return {
      architecture: '', config: null, devices: null, ephemeral: false, profiles: null, stateful: false, description: '',
      created_at: '0001-01-01T00:00:00Z', name: i.name, status: 'Error', status_code: 112, last_used_at: '0001-01-01T00:00:00Z',
      location: i.location === 'none' ? 'server02' : i.location, type: i.type, project: i.project,
    } as unknown as Instance
  }
  const volatile = {
    'volatile.eth0.hwaddr': i.hwaddr,
    ...Object.fromEntries(i.extraNics.map((x) => [`volatile.${x.device}.hwaddr`, x.hwaddr])),
    'volatile.last_state.power': i.status === 'Stopped' ? 'STOPPED' : 'RUNNING',
    'volatile.uuid': randomUUIDFor(i),
  }
  const config = { 'image.os': 'Debian', 'image.release': 'bookworm', ...i.config, ...volatile }
  const expanded = Object.fromEntries(Object.entries({ ...i.profileConfig, ...config }).sort(([a], [b]) => (a < b ? -1 : 1)))
  return {
    architecture: 'x86_64', config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1))),
    devices: {}, ephemeral: false, profiles: ['default'], stateful: false, description: '', created_at: i.createdAt,
    expanded_config: expanded,
    expanded_devices: {
      eth0: { name: 'eth0', network: i.network, type: 'nic' },
      ...Object.fromEntries(i.extraNics.map((x) => [x.device, { name: x.device, network: x.network, type: 'nic' }])),
      root: { path: '/', pool: 'default', type: 'disk' },
    },
    name: i.name, ...status, last_used_at: i.createdAt, location: i.location, type: i.type, project: i.project,
  } as unknown as Instance
}

/** `InstanceFull` (recursion=2 lists, recursion=1 single GETs). */
export function renderFull(i: SimInstance): Instance {
  const json = { ...renderInstance(i), backups: null, state: i.stub ? null : stateOf(i), snapshots: null } as unknown as Record<string, unknown>
  i.oddly?.(json)
  return json as unknown as Instance
}

export function renderState(i: SimInstance): unknown {
  return stateOf(i)
}

/**
 * A bridge's leases as a real incusd lists them: its gateway addresses, then for every instance on it, from the
 * moment it exists and whether or not the guest ever configures it, the EUI-64 SLAAC address computed from the
 * MAC; and the DHCPv4 lease once the guest has one.
 */
export function leasesOf(network: Network, instances: Iterable<SimInstance>): Lease[] {
  const out: Lease[] = []
  for (const cidr of [network.config['ipv4.address'], network.config['ipv6.address']]) {
    if (cidr === undefined || cidr === 'none') continue
    out.push({ hostname: `${network.name}.gw`, hwaddr: '', address: cidr.split('/')[0] as string, type: 'gateway', location: '' } as Lease)
  }
  const prefix = network.config['ipv6.address']
  for (const i of instances) {
    if (i.stub || i.network !== network.name) continue
    if (prefix !== undefined && prefix !== 'none') out.push({ hostname: i.name, hwaddr: i.hwaddr, address: eui64(prefix, i.hwaddr), type: 'dynamic', location: 'none' } as Lease)
    if (i.status !== 'Stopped' && i.ipv4 !== null) out.push({ hostname: i.name, hwaddr: i.hwaddr, address: i.ipv4, type: 'dynamic', location: 'none' } as Lease)
  }
  return out
}

/** The SLAAC address of a MAC in a /64 (RFC 4291 appendix A): the U/L bit flipped, ff:fe in the middle. */
export function eui64(prefix64: string, mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16))
  const iid = [(b[0] as number) ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]] as number[]
  const groups = [0, 2, 4, 6].map((k) => ((iid[k] as number) << 8 | (iid[k + 1] as number)).toString(16))
  const head = (prefix64.split('/')[0] as string).replace(/::.*$/, '').split(':').slice(0, 4)
  while (head.length < 4) head.push('0')
  return (ipaddr.parse([...head, ...groups].join(':')) as ipaddr.IPv6).toRFC5952String()
}

const uuids = new WeakMap<SimInstance, string>()
function randomUUIDFor(i: SimInstance): string {
  let u = uuids.get(i)
  if (u === undefined) { u = randomUUID(); uuids.set(i, u) }
  return u
}
