/**
 * @module incus/naming/services
 * Which replicas a service name answers with. Replicas of several compose stacks claiming one service name:
 * the stack whose name sorts first keeps it (instances no stack made count as the stack '', so a service named
 * by hand is never taken over by a stack deployed later). Of that stack, the replicas whose health is not
 * withheld (unhealthy, starting, stopped) are served; when every one is withheld, all are, as Route 53 answers
 * an all-unhealthy record set: a name that answers something beats one that answers nothing. docs/services.md
 * says why each rule is what it is.
 */
import type { Name } from '../../zone/types.ts'
import { isWithheld } from './labels.ts'
import type { Mapped } from './map.ts'

export interface ServiceSelection {
  /** The stack that keeps the name ('' for instances no stack made). */
  readonly stack: string
  /** Its replicas, by project/name. */
  readonly replicas: readonly Mapped[]
  /** What the name answers with. */
  readonly served: readonly Mapped[]
  /** Every replica is withheld, so all are served. */
  readonly failOpen: boolean
  /** Replicas of stacks that lost the name. */
  readonly otherStacks: readonly Mapped[]
}

const stackKey = (m: Mapped): string => m.stack ?? ''

/** The selection among the instances claiming one service name, given sorted by project/name. */
export function selectService(claimants: readonly Mapped[]): ServiceSelection {
  const stack = [...new Set(claimants.map(stackKey))].sort()[0] ?? ''
  const replicas = claimants.filter((m) => stackKey(m) === stack)
  const healthy = replicas.filter((m) => !isWithheld(m.health))
  const failOpen = healthy.length === 0 && replicas.length > 0
  return { stack, replicas, served: failOpen ? replicas : healthy, failOpen, otherStacks: claimants.filter((m) => stackKey(m) !== stack) }
}

export interface ReplicaRow {
  readonly instance: string
  readonly stack: string
  /** `user.healthcheck.status`, or '' when the key is not set. */
  readonly health: string
  readonly served: boolean
  /** Why it is served or not. */
  readonly why: string
}

export interface ServiceRow {
  readonly service: Name
  readonly stack: string
  readonly served: number
  readonly withheld: number
  /** Every replica withheld, so all are served. */
  readonly failOpen: boolean
  readonly replicas: readonly ReplicaRow[]
}

/**
 * Every service as the status page shows it: each replica (published or not), whether the name answers with
 * it, and why. `ownerOf(name)` is the instance whose hostname the name is, if any (it beats the service).
 */
export function serviceRows(instances: Iterable<Mapped>, ownerOf: (name: Name) => string | null): ServiceRow[] {
  const by = new Map<Name, Mapped[]>()
  for (const m of instances) {
    if (m.service === undefined) continue
    const list = by.get(m.service)
    if (list === undefined) by.set(m.service, [m])
    else list.push(m)
  }
  const rows: ServiceRow[] = []
  for (const service of [...by.keys()].sort()) {
    const members = (by.get(service) as Mapped[]).sort((a, b) => (a.key < b.key ? -1 : 1))
    const live = members.filter((m) => m.skipped === null)
    const owner = ownerOf(service)
    const sel = selectService(live)
    const served = new Set(owner === null ? sel.served.map((m) => m.key) : [])
    const why = (m: Mapped): string => {
      if (m.skipped !== null) return `not published: ${m.skipped}`
      if (owner !== null) return `${service} is the name of instance ${owner}, which beats a service`
      if (stackKey(m) !== sel.stack) return `stack '${sel.stack}' keeps ${service} (its name sorts first)`
      if (sel.failOpen) return `every replica is withheld, so all are served (${m.health ?? 'no health key'})`
      if (isWithheld(m.health)) return `withheld: ${m.health ?? ''}`
      return m.health ?? 'no health key'
    }
    const replicas = members.map((m) => ({ instance: m.key, stack: m.stack ?? '', health: m.health ?? '', served: served.has(m.key), why: why(m) }))
    const withheld = owner === null ? sel.replicas.filter((m) => isWithheld(m.health)).length : 0
    rows.push({ service, stack: sel.stack, served: served.size, withheld: sel.failOpen ? 0 : withheld, failOpen: owner === null && sel.failOpen, replicas })
  }
  return rows
}
