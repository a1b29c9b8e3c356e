/**
 * @module incus/api/members
 * Which member of an Incus cluster to talk to. Any member answers for the whole cluster (shared/incus-api §6:
 * every member lists every instance, and one event stream carries every member's events), so one is used at
 * a time: the first URL configured, until it stops answering; then the next one, round the list of the URLs
 * configured and those the cluster names in /1.0/cluster/members. Each move is kept, with its reason, for
 * the status page and the metrics.
 */

export interface MemberSwitch {
  /** ms since the epoch. */
  readonly at: number
  readonly from: string
  readonly to: string
  readonly reason: string
}

/** A member as /1.0/cluster/members lists it (the fields incus-dns reads). */
export interface ClusterMember {
  readonly server_name: string
  readonly url: string
  readonly status: string
  readonly message?: string
  readonly roles?: readonly string[]
}

/** How many moves are kept for the status page. */
const KEPT = 20

export class Members {
  /** Configured first, in their order; then learnt ones, in the cluster's order. */
  #urls: string[]
  readonly #configured: ReadonlySet<string>
  #current = 0
  /** The members as the cluster last listed them (empty for a standalone server). */
  known: readonly ClusterMember[] = []
  readonly switches: MemberSwitch[] = []
  /** Moves since start (switches keeps the last few). */
  moved = 0

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new Error('Members needs at least one URL')
    this.#urls = [...new Set(urls)]
    this.#configured = new Set(this.#urls)
  }

  get current(): string { return this.#urls[this.#current] as string }
  get urls(): readonly string[] { return this.#urls }

  /**
   * The member at `url` failed (`reason`): if it is the one in use, move to the next. Returns the URL now in
   * use when it moved, null when it did not (another URL had failed; or there is no other member).
   */
  failed(url: string, reason: string): string | null {
    if (url !== this.current || this.#urls.length < 2) return null
    const from = this.current
    this.#current = (this.#current + 1) % this.#urls.length
    this.moved++
    this.switches.push({ at: Date.now(), from, to: this.current, reason })
    if (this.switches.length > KEPT) this.switches.shift()
    return this.current
  }

  /**
   * Takes the members the cluster lists: their URLs join the list after the configured ones (an address a
   * member advertises may not be reachable from here; it is only tried after those). A learnt member the
   * cluster no longer lists is dropped; the one in use never is.
   */
  learn(members: readonly ClusterMember[]): void {
    this.known = members
    const inUse = this.current
    const learnt = members.map((m) => m.url).filter((u) => /^https:\/\//.test(u))
    const next = [...new Set([...this.#urls.filter((u) => this.#configured.has(u) || u === inUse || learnt.includes(u)), ...learnt])]
    this.#urls = next
    this.#current = next.indexOf(inUse)
  }
}
