/**
 * @module incus/api/client
 * The Incus REST client (undici) over a unix socket or HTTPS with a client certificate. Each call returns the
 * envelope's metadata or throws one typed error: IncusUnreachableError, IncusAuthError, IncusApiError,
 * IncusProtocolError (§1.3: an error reply has HTTP status == error_code and the message in `error`). Over
 * HTTPS to a cluster, a member that cannot be reached is left for the next one (members.ts), within the call.
 */
import { Client } from 'undici'
import { IncusApiError, IncusAuthError, IncusDnsError, IncusProtocolError, IncusUnreachableError } from '../../errors.ts'
import type { Envelope, Lease, Network } from './types.ts'
import { readLeases, readNetworks } from './instance-shape.ts'
import { describe, explainConnectError, tlsOptions } from './connection.ts'
import type { IncusConnection } from './connection.ts'
import { Members } from './members.ts'
import type { ClusterMember, MemberSwitch } from './members.ts'

/** Which instances: one project, or all of them (`all-projects=true`, §0.3). */
export type Scope = { readonly project: string } | 'all'

/** What /1.0 says of the server (the fields incus-dns reads). */
export interface ServerInfo {
  readonly auth?: string
  readonly environment?: { readonly server_clustered?: boolean; readonly server_name?: string }
}

export class IncusClient {
  readonly #base: IncusConnection
  /** One undici client per member URL (one in all for a unix socket). */
  readonly #clients = new Map<string, Client>()
  readonly #timeoutMs: number
  /** null for a unix socket: one local daemon, nothing to fail over to. */
  readonly members: Members | null
  /** Bytes of response bodies read so far (a full sync's share is what it grew by). */
  bytesRead = 0
  /** Requests sent since `takeRequests` last took them, by kind (kindOf). */
  #requests: Record<string, number> = {}
  /** Called when a member stops answering and another takes over. */
  onMemberMoved: ((move: MemberSwitch) => void) | null = null

  constructor(connection: IncusConnection, timeoutMs = 10_000) {
    this.#base = connection
    this.#timeoutMs = timeoutMs
    this.members = connection.kind === 'https' ? new Members(connection.urls.length > 0 ? connection.urls : [connection.url]) : null
  }

  /** The connection in use: over HTTPS, to the member now talked to. */
  get connection(): IncusConnection {
    const b = this.#base
    return b.kind === 'https' && this.members !== null ? { ...b, url: this.members.current } : b
  }

  #client(conn: IncusConnection): Client {
    const id = conn.kind === 'unix' ? conn.socketPath : conn.url
    let c = this.#clients.get(id)
    if (c === undefined) {
      const t = this.#timeoutMs
      c = conn.kind === 'unix'
        ? new Client('http://unix.socket', { socketPath: conn.socketPath, headersTimeout: t, bodyTimeout: t })
        : new Client(conn.url, { connect: tlsOptions(conn), headersTimeout: t, bodyTimeout: t })
      this.#clients.set(id, c)
    }
    return c
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close().catch(() => c.destroy())))
  }

  /**
   * The member at `url` failed (a request, or the event stream): move to the next one if it is the one in
   * use. Returns whether it moved.
   */
  memberFailed(url: string, reason: string): boolean {
    const to = this.members?.failed(url, reason) ?? null
    if (to !== null) this.onMemberMoved?.(this.members?.switches.at(-1) as MemberSwitch)
    return to !== null
  }

  /** GET a path; returns the envelope's metadata. A member that cannot be reached is left for the next. */
  async get<T>(path: string): Promise<T> {
    const tries = this.members?.urls.length ?? 1
    for (let attempt = 1; ; attempt++) {
      const conn = this.connection
      try {
        return await this.#get<T>(conn, path)
      } catch (err) {
        if (!(err instanceof IncusUnreachableError) || conn.kind !== 'https' || attempt >= tries) throw err
        // Moved already (the event stream found that member dead first): try the one in use now.
        if (this.connection.kind === 'https' && this.connection.url !== conn.url) continue
        if (!this.memberFailed(conn.url, err.message)) throw err
      }
    }
  }

  /** The requests sent since the last call, by kind, and forgotten here (the caller adds them up). */
  takeRequests(): Record<string, number> {
    const r = this.#requests
    this.#requests = {}
    return r
  }

  async #get<T>(connection: IncusConnection, path: string): Promise<T> {
    let status: number
    let text: string
    const kind = kindOf(path)
    this.#requests[kind] = (this.#requests[kind] ?? 0) + 1
    try {
      const res = await this.#client(connection).request({ method: 'GET', path, signal: AbortSignal.timeout(this.#timeoutMs) })
      status = res.statusCode
      text = await res.body.text()
      this.bytesRead += text.length
    } catch (err) {
      if (err instanceof IncusDnsError) throw err
      throw new IncusUnreachableError(explainConnectError(connection, err), { cause: err })
    }
    let env: Envelope<T>
    try {
      env = JSON.parse(text) as Envelope<T>
    } catch (err) {
      throw new IncusProtocolError(`Incus at ${describe(connection)} sent ${status} with a body that is not JSON for GET ${path}: ${JSON.stringify(text.slice(0, 80))}`, { cause: err })
    }
    if (typeof env !== 'object' || env === null || !('type' in env)) {
      throw new IncusProtocolError(`Incus at ${describe(connection)} sent JSON without the response envelope for GET ${path}`)
    }
    if (status === 403) {
      const fix = connection.kind === 'https'
        ? `; trust our certificate on the server: incus config trust add-certificate ${connection.certFile}`
        : '; run as root or add this user to the incus-admin group'
      throw new IncusAuthError(`Incus at ${describe(connection)} rejected us (403 ${env.error || 'not authorized'})${fix}`)
    }
    if (status !== 200 || env.type === 'error') {
      throw new IncusApiError(status, path, `Incus answered GET ${path} with ${env.error_code || status} ${env.error || ''}`.trim())
    }
    return env.metadata
  }

  /** /1.0, checking we are trusted (an untrusted client gets `auth: untrusted`, §2). */
  async server(): Promise<ServerInfo> {
    const info = await this.get<ServerInfo>('/1.0')
    if (info?.auth !== 'trusted') {
      const c = this.connection
      throw new IncusAuthError(c.kind === 'https'
        ? `Incus at ${c.url} does not trust our client certificate ${c.certFile}; trust it: incus config trust add-certificate ${c.certFile}`
        : `Incus at ${c.socketPath} says we are not trusted (auth: ${String(info?.auth)})`)
    }
    return info
  }

  /** The members of the cluster (§6), each with its URL and status. */
  async clusterMembers(): Promise<ClusterMember[]> {
    const list = await this.get<ClusterMember[]>('/1.0/cluster/members?recursion=1')
    if (!Array.isArray(list)) throw new IncusProtocolError(`Incus at ${describe(this.connection)} sent a non-list for /1.0/cluster/members`)
    // URLs as configured ones are written (no trailing slash), so that they compare as they are.
    return list.filter((m) => typeof m?.server_name === 'string' && typeof m.url === 'string').map((m) => ({ ...m, url: m.url.replace(/\/$/, '') }))
  }

  /**
   * Every instance with its state (§4.1: recursion=2), each as sent: instance-shape.ts reads each one on its
   * own, so that one that does not fit fails only itself.
   */
  async instances(scope: Scope): Promise<unknown[]> {
    const list = await this.get<unknown>(`/1.0/instances?recursion=2&${scopeQuery(scope)}`)
    if (!Array.isArray(list)) throw new IncusProtocolError(`Incus at ${describe(this.connection)} sent a non-list for /1.0/instances`)
    return list
  }

  /** One instance with its state (§4.5: recursion=1 on the single endpoint), as sent (`raw`), or null when it is gone. */
  async instance(project: string, name: string): Promise<{ readonly raw: unknown } | null> {
    try {
      return { raw: await this.get<unknown>(`/1.0/instances/${encodeURIComponent(name)}?recursion=1&project=${encodeURIComponent(project)}`) }
    } catch (err) {
      if (err instanceof IncusApiError && err.status === 404) return null
      throw err
    }
  }

  /** The networks that fit the shape incus-dns reads (instance-shape.ts); the others are left out. */
  async networks(project: string): Promise<Network[]> {
    return readNetworks(await this.get<unknown>(`/1.0/networks?recursion=1&project=${encodeURIComponent(project)}`))
  }

  /** The leases that name a MAC and an address; the others are left out. */
  async leases(network: string, project: string): Promise<Lease[]> {
    return readLeases(await this.get<unknown>(`/1.0/networks/${encodeURIComponent(network)}/leases?project=${encodeURIComponent(project)}`))
  }
}

/** What a request is for: a listing of instances, one instance, networks, leases, the server, its members. */
export function kindOf(path: string): string {
  if (path.startsWith('/1.0/instances?')) return 'listing'
  if (path.startsWith('/1.0/instances/')) return 'instance'
  if (path.includes('/leases')) return 'leases'
  if (path.startsWith('/1.0/networks')) return 'networks'
  if (path.startsWith('/1.0/cluster/members')) return 'members'
  return path === '/1.0' ? 'server' : 'other'
}

export function scopeQuery(scope: Scope): string {
  return scope === 'all' ? 'all-projects=true' : `project=${encodeURIComponent(scope.project)}`
}
