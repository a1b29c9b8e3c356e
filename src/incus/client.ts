/**
 * @module incus/client
 * The Incus REST client (undici) over a unix socket or HTTPS with a client certificate. Each call returns the
 * envelope's metadata or throws one typed error: IncusUnreachableError, IncusAuthError, IncusApiError,
 * IncusProtocolError (§1.3: an error reply has HTTP status == error_code and the message in `error`).
 */
import { Client } from 'undici'
import { IncusApiError, IncusAuthError, IncusDnsError, IncusProtocolError, IncusUnreachableError } from '../errors.ts'
import type { Envelope, Instance, Lease, Network } from './api.ts'
import { describe, explainConnectError, tlsOptions } from './connection.ts'
import type { IncusConnection } from './connection.ts'

/** Which instances: one project, or all of them (`all-projects=true`, §0.3). */
export type Scope = { readonly project: string } | 'all'

export class IncusClient {
  readonly connection: IncusConnection
  readonly #client: Client
  readonly #timeoutMs: number

  constructor(connection: IncusConnection, timeoutMs = 10_000) {
    this.connection = connection
    this.#timeoutMs = timeoutMs
    this.#client = connection.kind === 'unix'
      ? new Client('http://unix.socket', { socketPath: connection.socketPath, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      : new Client(connection.url, { connect: tlsOptions(connection), headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  }

  async close(): Promise<void> {
    await this.#client.close().catch(() => this.#client.destroy())
  }

  /** GET a path; returns the envelope's metadata. */
  async get<T>(path: string): Promise<T> {
    let status: number
    let text: string
    try {
      const res = await this.#client.request({ method: 'GET', path, signal: AbortSignal.timeout(this.#timeoutMs) })
      status = res.statusCode
      text = await res.body.text()
    } catch (err) {
      if (err instanceof IncusDnsError) throw err
      throw new IncusUnreachableError(explainConnectError(this.connection, err), { cause: err })
    }
    let env: Envelope<T>
    try {
      env = JSON.parse(text) as Envelope<T>
    } catch (err) {
      throw new IncusProtocolError(`Incus at ${describe(this.connection)} sent ${status} with a body that is not JSON for GET ${path}: ${JSON.stringify(text.slice(0, 80))}`, { cause: err })
    }
    if (typeof env !== 'object' || env === null || !('type' in env)) {
      throw new IncusProtocolError(`Incus at ${describe(this.connection)} sent JSON without the response envelope for GET ${path}`)
    }
    if (status === 403) {
      const fix = this.connection.kind === 'https'
        ? `; trust our certificate on the server: incus config trust add-certificate ${this.connection.certFile}`
        : '; run as root or add this user to the incus-admin group'
      throw new IncusAuthError(`Incus at ${describe(this.connection)} rejected us (403 ${env.error || 'not authorized'})${fix}`)
    }
    if (status !== 200 || env.type === 'error') {
      throw new IncusApiError(status, path, `Incus answered GET ${path} with ${env.error_code || status} ${env.error || ''}`.trim())
    }
    return env.metadata
  }

  /** Checks we are trusted (an untrusted client gets `auth: untrusted` on /1.0, §2). */
  async checkTrusted(): Promise<void> {
    const info = await this.get<{ auth?: string }>('/1.0')
    if (info?.auth !== 'trusted') {
      const c = this.connection
      throw new IncusAuthError(c.kind === 'https'
        ? `Incus at ${c.url} does not trust our client certificate ${c.certFile}; trust it: incus config trust add-certificate ${c.certFile}`
        : `Incus at ${c.socketPath} says we are not trusted (auth: ${String(info?.auth)})`)
    }
  }

  /** Every instance with its state (§4.1: recursion=2). */
  async instances(scope: Scope): Promise<Instance[]> {
    const list = await this.get<Instance[]>(`/1.0/instances?recursion=2&${scopeQuery(scope)}`)
    if (!Array.isArray(list)) throw new IncusProtocolError(`Incus at ${describe(this.connection)} sent a non-list for /1.0/instances`)
    for (const i of list) checkInstance(i)
    return list
  }

  /** One instance with its state (§4.5: recursion=1 on the single endpoint), or null when it is gone. */
  async instance(project: string, name: string): Promise<Instance | null> {
    try {
      const inst = await this.get<Instance>(`/1.0/instances/${encodeURIComponent(name)}?recursion=1&project=${encodeURIComponent(project)}`)
      checkInstance(inst)
      return inst
    } catch (err) {
      if (err instanceof IncusApiError && err.status === 404) return null
      throw err
    }
  }

  async networks(project: string): Promise<Network[]> {
    return await this.get<Network[]>(`/1.0/networks?recursion=1&project=${encodeURIComponent(project)}`)
  }

  async leases(network: string, project: string): Promise<Lease[]> {
    return await this.get<Lease[]>(`/1.0/networks/${encodeURIComponent(network)}/leases?project=${encodeURIComponent(project)}`)
  }
}

export function scopeQuery(scope: Scope): string {
  return scope === 'all' ? 'all-projects=true' : `project=${encodeURIComponent(scope.project)}`
}

function checkInstance(i: unknown): void {
  const x = i as Partial<Instance> | null
  if (typeof x !== 'object' || x === null || typeof x.name !== 'string' || typeof x.project !== 'string' || typeof x.status !== 'string') {
    throw new IncusProtocolError(`Incus sent an instance without name, project or status: ${JSON.stringify(i).slice(0, 120)}`)
  }
}
