/**
 * @module incus/api/instance-shape
 * What Incus sent, checked against the shape incus-dns reads (types.ts) before anything maps it. Incus's own
 * objects always fit (§4.2: every config value a string, NICs objects, `state.network` a map), but a proxy, a
 * patched daemon or a future version may not; one odd instance must not fail a whole sync. An instance that
 * does not fit is not mapped: the caller keeps its last good records and says once what was wrong, naming it.
 * Networks and leases that do not fit are left out (they only help the mapping). Never throws.
 */
import type { Device, Instance, InstanceState, Lease, Network, NicAddress, NicState } from './types.ts'

/** An instance that fits, or what was wrong (with its project and name when those at least could be read). */
export type ReadInstance =
  | { readonly ok: true; readonly instance: Instance }
  | { readonly ok: false; readonly problem: string; readonly project: string | null; readonly name: string | null }

type Obj = Record<string, unknown>

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`)

/** Thrown inside this module only, with the words for the log. */
class Unfit extends Error {}

function strings(v: unknown, what: string): Readonly<Record<string, string>> | null {
  if (v === null || v === undefined) return null
  if (!isObject(v)) throw new Unfit(`${what} is ${kind(v)}, not a map of strings`)
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw new Unfit(`${what} key '${k}' is ${kind(x)}, not a string`)
  return v as Record<string, string>
}

/** Device fields incus-dns reads must be strings when present; others are kept as they are, unread. */
const DEVICE_FIELDS = ['type', 'name', 'network', 'nictype'] as const

function devices(v: unknown, what: string): Readonly<Record<string, Device>> | null {
  if (v === null || v === undefined) return null
  if (!isObject(v)) throw new Unfit(`${what} is ${kind(v)}, not a map of devices`)
  for (const [name, d] of Object.entries(v)) {
    if (!isObject(d)) throw new Unfit(`${what} device '${name}' is ${kind(d)}, not an object`)
    for (const f of DEVICE_FIELDS) if (d[f] !== undefined && typeof d[f] !== 'string') throw new Unfit(`${what} device '${name}' has ${f} ${kind(d[f])}, not a string`)
  }
  return v as Record<string, Device>
}

function nic(ifname: string, v: unknown): NicState {
  if (!isObject(v)) throw new Unfit(`state.network interface '${ifname}' is ${kind(v)}, not an object`)
  const addresses = v.addresses
  if (addresses !== null && addresses !== undefined && !Array.isArray(addresses)) throw new Unfit(`state.network.${ifname}.addresses is ${kind(addresses)}, not a list`)
  const list: NicAddress[] = []
  for (const a of addresses ?? []) {
    if (!isObject(a) || typeof a.address !== 'string') throw new Unfit(`state.network.${ifname}.addresses has an entry without an address string`)
    list.push(a as unknown as NicAddress)
  }
  for (const f of ['hwaddr', 'type'] as const) if (v[f] !== undefined && v[f] !== null && typeof v[f] !== 'string') throw new Unfit(`state.network.${ifname}.${f} is ${kind(v[f])}, not a string`)
  return { addresses: list, hwaddr: typeof v.hwaddr === 'string' ? v.hwaddr : '', type: typeof v.type === 'string' ? v.type : '' }
}

function state(v: unknown): InstanceState | null {
  if (v === null || v === undefined) return null
  if (!isObject(v)) throw new Unfit(`state is ${kind(v)}, not an object`)
  const net = v.network
  let network: Record<string, NicState> | null = null
  if (net !== null && net !== undefined) {
    if (!isObject(net)) throw new Unfit(`state.network is ${kind(net)}, not a map of interfaces`)
    network = {}
    for (const [ifname, x] of Object.entries(net)) network[ifname] = nic(ifname, x)
  }
  return { status: typeof v.status === 'string' ? v.status : '', status_code: typeof v.status_code === 'number' ? v.status_code : 0, network }
}

/** One instance of a listing or a single GET, checked. */
export function readInstance(raw: unknown): ReadInstance {
  if (!isObject(raw)) return { ok: false, problem: `the instance is ${kind(raw)}, not an object`, project: null, name: null }
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : null
  const project = typeof raw.project === 'string' && raw.project !== '' ? raw.project : null
  try {
    if (name === null) throw new Unfit(`it has no name (name is ${kind(raw.name)})`)
    if (project === null) throw new Unfit(`it has no project (project is ${kind(raw.project)})`)
    if (typeof raw.status !== 'string') throw new Unfit(`status is ${kind(raw.status)}, not a string`)
    if (raw.location !== undefined && raw.location !== null && typeof raw.location !== 'string') throw new Unfit(`location is ${kind(raw.location)}, not a string`)
    const config = strings(raw.config, 'config')
    const expanded = strings(raw.expanded_config, 'expanded_config')
    const own = devices(raw.devices, 'devices')
    const expandedDevices = devices(raw.expanded_devices, 'expanded_devices')
    const instance: Instance = {
      name, project, status: raw.status, type: raw.type === 'virtual-machine' ? 'virtual-machine' : 'container',
      status_code: typeof raw.status_code === 'number' ? raw.status_code : 0,
      ...(typeof raw.location === 'string' ? { location: raw.location } : {}),
      config, devices: own,
      ...(expanded !== null ? { expanded_config: expanded } : {}),
      ...(expandedDevices !== null ? { expanded_devices: expandedDevices } : {}),
      state: state(raw.state),
    }
    return { ok: true, instance }
  } catch (err) {
    return { ok: false, problem: err instanceof Unfit ? err.message : `it could not be read: ${String((err as Error)?.message ?? err)}`, project, name }
  }
}

/** The managed networks' entries that fit (a name, a type, a map of string config); the others are left out. */
export function readNetworks(raw: unknown): Network[] {
  if (!Array.isArray(raw)) return []
  const out: Network[] = []
  for (const n of raw) {
    if (!isObject(n) || typeof n.name !== 'string' || typeof n.managed !== 'boolean') continue
    try { out.push({ name: n.name, type: typeof n.type === 'string' ? n.type : '', managed: n.managed, config: strings(n.config, 'config') ?? {} }) } catch { /* left out */ }
  }
  return out
}

/** The leases that say which MAC has which address; the others are left out. */
export function readLeases(raw: unknown): Lease[] {
  if (!Array.isArray(raw)) return []
  return raw.filter((l): l is Lease => isObject(l) && typeof l.hwaddr === 'string' && typeof l.address === 'string')
}
