/**
 * @module incus/api/cluster
 * What incus-dns knows of an Incus cluster: whether the server is one, its members and their state (read at
 * every full sync), the member in use and why it moved, and the instances it holds: those an offline
 * member's Error stubs (§4.1) say nothing about, whose last records stay published.
 */
import type { Logger } from 'pino'
import type { IncusClient, ServerInfo } from './client.ts'
import type { Instance } from './types.ts'
import type { ClusterMember, MemberSwitch } from './members.ts'

/** What an offline member's instance is listed as (§4.1): status Error, no config; it says nothing of the instance. */
export function isErrorStub(inst: Instance): boolean {
  return inst.status === 'Error' && inst.config === null
}

export interface ClusterStatus {
  /** Member URLs tried in turn (configured, then learnt); empty for a unix socket. */
  readonly urls: readonly string[]
  /** This server's name as /1.0 gives it (the member in use). */
  readonly serverName: string | null
  /** The member URL in use (for a unix socket, null), and that member's name when the cluster lists it. */
  readonly current: string | null
  readonly currentMember: string | null
  readonly members: readonly ClusterMember[]
  /** Moves from one member to another since start, and the last few with their reasons. */
  readonly moved: number
  readonly switches: readonly MemberSwitch[]
  /** Instance key → the member it is on, for instances whose member is offline: their last records are kept. */
  readonly held: ReadonlyMap<string, string>
}

export class ClusterState {
  serverName: string | null = null
  readonly #client: IncusClient
  readonly #log: Logger
  /** Instance key → its member, while that member lists it as an Error stub. */
  readonly held = new Map<string, string>()
  /** Member name → status as last logged, to log each change once. */
  readonly #statuses = new Map<string, string>()

  constructor(client: IncusClient, log: Logger) {
    this.#client = client
    this.#log = log
    client.onMemberMoved = (move) => this.#log.warn({ from: move.from, to: move.to, reason: move.reason }, 'Incus cluster member not answering; moved to another')
  }

  /** After /1.0: reads the members of a cluster and lets the client learn their URLs. A failure here is logged, not fatal. */
  async refresh(info: ServerInfo): Promise<void> {
    this.serverName = info.environment?.server_name ?? null
    if (info.environment?.server_clustered !== true) return
    try {
      const members = await this.#client.clusterMembers()
      this.#client.members?.learn(members)
      for (const m of members) {
        if (this.#statuses.get(m.server_name) === m.status) continue
        const first = !this.#statuses.has(m.server_name)
        this.#statuses.set(m.server_name, m.status)
        if (!first || m.status !== 'Online') this.#log.info({ member: m.server_name, url: m.url, status: m.status, message: m.message }, 'Incus cluster member state')
      }
      if (this.#client.members === null) this.#known = members
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not read the cluster members; keeping the ones known')
    }
  }

  /** Members as read over a unix socket (no failover there, but the status page shows them). */
  #known: readonly ClusterMember[] = []

  /** An Error stub of this instance: its member is offline; its last records stay. */
  hold(key: string, location: string | undefined): void {
    if (!this.held.has(key)) this.#log.warn({ instance: key, member: location ?? '' }, 'instance listed as Error (its cluster member is offline); keeping its last records')
    this.held.set(key, location ?? '')
  }

  /** The instance was listed normally again (or is gone). */
  release(key: string): void {
    if (this.held.delete(key)) this.#log.info({ instance: key }, 'instance listed normally again')
  }

  status(): ClusterStatus {
    const m = this.#client.members
    const members = m?.known ?? this.#known
    const current = m?.current ?? null
    return {
      urls: m?.urls ?? [], serverName: this.serverName, current, currentMember: members.find((x) => x.url === current)?.server_name ?? null, members,
      moved: m?.moved ?? 0, switches: m?.switches ?? [], held: this.held,
    }
  }
}
