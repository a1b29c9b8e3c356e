/**
 * @module sim/routes
 * The REST API the simulated Incus answers (shared/incus-api §1.3-§5), GET only: the server, cluster members,
 * instances (listed with recursion 0, 1 or 2, one by one, and their state), networks and their DHCP leases,
 * each in Incus's envelope, and an untrusted client's view. Pure: what the daemon holds comes in as arguments.
 */
import type { Network } from '../incus/api/types.ts'
import { key, leasesOf, renderFull, renderInstance, renderState } from './model.ts'
import type { SimInstance, SimMember } from './model.ts'

/** What the routes read of the daemon. */
export interface SimState {
  readonly instances: ReadonlyMap<string, SimInstance>
  /** The managed networks. */
  readonly networks: readonly Network[]
  /** Entries of odd shape added to the network and lease lists (tests of imperfect input). */
  readonly oddEntries: { readonly networks: readonly unknown[]; readonly leases: readonly unknown[] }
  readonly cluster: readonly SimMember[] | null
}

export interface RouteReply {
  readonly status: number
  readonly body: unknown
  /** The instance listing: the server may hold it back (listingDelayMs). */
  readonly listing?: boolean
}

export function errorBody(code: number, message: string): unknown {
  return { type: 'error', status: '', status_code: 0, operation: '', error_code: code, error: message, metadata: null }
}

const sync = (metadata: unknown): RouteReply => ({ status: 200, body: { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata } })
const error = (code: number, message: string): RouteReply => ({ status: code, body: errorBody(code, message) })

/** One request: `trusted` as the client's certificate (or the unix socket) makes it; `serverName` the member asked. */
export function route(method: string, url: URL, trusted: boolean, serverName: string, state: SimState): RouteReply {
  const path = url.pathname.replace(/\/+$/, '') || '/'
  if (method !== 'GET') return error(trusted ? 501 : 403, trusted ? 'not implemented' : 'not authorized')
  if (path === '/') return sync(['/1.0'])
  if (path === '/1.0') {
    if (!trusted) return sync({ config: {}, api_extensions: null, api_status: 'stable', api_version: '1.0', auth: 'untrusted', public: false, auth_methods: ['tls'] })
    return sync({
      config: {}, api_extensions: ['instance_all_projects', 'event_project', 'event_lifecycle_name_and_project', 'instance_ready_state'],
      api_status: 'stable', api_version: '1.0', auth: 'trusted', public: false, auth_methods: ['tls'],
      auth_user_name: 'root', auth_user_method: 'unix',
      environment: { project: url.searchParams.get('project') ?? 'default', server: 'incus', server_clustered: state.cluster !== null, server_name: serverName, server_version: '7.3' },
    })
  }
  if (!trusted) return error(403, 'not authorized')
  if (path === '/1.0/cluster/members') {
    if (state.cluster === null) return error(404, 'Server isn\'t part of a cluster')
    const recursion = Number(url.searchParams.get('recursion') ?? '0') || 0
    return sync(recursion === 0 ? state.cluster.map((m) => `/1.0/cluster/members/${m.server_name}`)
      : state.cluster.map((m) => ({ server_name: m.server_name, url: m.url, database: true, status: m.status, message: m.message, architecture: 'x86_64', failure_domain: 'default', description: '', config: {}, groups: ['default'], roles: ['database'] })))
  }

  const project = url.searchParams.get('project')
  const all = /^(true|1|yes|on)$/i.test(url.searchParams.get('all-projects') ?? '')
  if (project !== null && all) return error(400, 'Cannot specify a project when requesting all projects')
  const recursion = Number(url.searchParams.get('recursion') ?? '0') || 0
  const inProject = (i: SimInstance): boolean => all || i.project === (project ?? 'default')

  if (path === '/1.0/instances') {
    const list = [...state.instances.values()].filter(inProject)
      .sort((a, b) => (a.project === b.project ? (a.name < b.name ? -1 : 1) : a.project < b.project ? -1 : 1))
    const body = recursion === 0 ? list.map((i) => `/1.0/instances/${encodeURIComponent(i.name)}${i.project === 'default' ? '' : `?project=${i.project}`}`)
      : list.map(recursion === 1 ? renderInstance : renderFull)
    return { ...sync(body), listing: true }
  }
  const m = /^\/1\.0\/instances\/([^/]+)(\/state)?$/.exec(path)
  if (m !== null) {
    const name = decodeURIComponent(m[1] as string)
    if (name.includes('/')) return error(400, 'Invalid instance name')
    const inst = state.instances.get(key(project ?? 'default', name))
    if (inst === undefined) return error(404, 'Instance not found')
    if (m[2] !== undefined) return sync(renderState(inst))
    return sync(recursion >= 1 ? renderFull(inst) : renderInstance(inst))
  }
  if (path === '/1.0/networks') {
    return sync(recursion >= 1 ? [...state.networks, ...state.oddEntries.networks] : state.networks.map((b) => `/1.0/networks/${b.name}`))
  }
  const n = /^\/1\.0\/networks\/([^/]+)\/leases$/.exec(path)
  if (n !== null) {
    const network = state.networks.find((b) => b.name === decodeURIComponent(n[1] as string))
    if (network === undefined) return error(404, 'Network not found')
    return sync([...leasesOf(network, [...state.instances.values()].filter(inProject)), ...state.oddEntries.leases])
  }
  return error(404, 'not found')
}
