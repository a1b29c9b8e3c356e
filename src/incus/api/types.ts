/**
 * @module incus/api/types
 * The parts of the Incus REST API we read (shared/incus-api/README.md §1.3, §4, §5), as types. Only
 * fields incus-dns uses are listed; Incus sends more.
 */

/** Every reply (api.ResponseRaw): all seven keys always present. */
export interface Envelope<T> {
  readonly type: 'sync' | 'async' | 'error'
  readonly status: string
  readonly status_code: number
  readonly error_code: number
  readonly error: string
  readonly metadata: T
}

export interface NicAddress {
  readonly family: 'inet' | 'inet6'
  readonly address: string
  readonly netmask: string
  readonly scope: string
}

export interface NicState {
  readonly addresses: readonly NicAddress[] | null
  readonly hwaddr: string
  readonly type: string
}

export interface InstanceState {
  readonly status: string
  readonly status_code: number
  /** Interface name → NIC. `null` when Stopped or Error, `{}` for a VM without agent and no fallback. */
  readonly network: Readonly<Record<string, NicState>> | null
}

export interface Device {
  readonly type?: string
  readonly name?: string
  readonly network?: string
  readonly nictype?: string
  readonly [key: string]: string | undefined
}

/** `GET /1.0/instances?recursion=2` items and `GET /1.0/instances/{name}?recursion=1`. */
export interface Instance {
  readonly name: string
  readonly project: string
  readonly type: 'container' | 'virtual-machine'
  readonly status: string
  readonly status_code: number
  readonly location?: string
  readonly created_at?: string
  /** `null` on an Error stub (offline cluster member). */
  readonly config: Readonly<Record<string, string>> | null
  readonly expanded_config?: Readonly<Record<string, string>>
  readonly devices: Readonly<Record<string, Device>> | null
  readonly expanded_devices?: Readonly<Record<string, Device>>
  readonly state?: InstanceState | null
}

/** `GET /1.0/networks?recursion=1` items. */
export interface Network {
  readonly name: string
  readonly type: string
  readonly managed: boolean
  readonly config: Readonly<Record<string, string>>
  readonly project?: string
}

/** `GET /1.0/networks/{name}/leases` items. */
export interface Lease {
  readonly hostname: string
  readonly hwaddr: string
  readonly address: string
  readonly type: string
}

/** One `/1.0/events` websocket message. */
export interface Event {
  readonly type: string
  readonly timestamp: string
  readonly project?: string
  readonly location?: string
  readonly metadata: {
    readonly action?: string
    readonly source?: string
    readonly name?: string
    readonly project?: string
    readonly context?: Readonly<Record<string, unknown>>
  }
}

/** Statuses (§4.2), lowercased: the values INCUS_DNS_STATE_FILTER accepts. */
export const STATUSES = ['running', 'ready', 'frozen', 'stopped', 'error', 'starting', 'stopping', 'aborting', 'freezing', 'thawed'] as const
export type Status = typeof STATUSES[number]
