/**
 * @module incus/naming/remotes-records
 * Several Incus servers in one zone (INCUS_DNS_INCUS_REMOTES): one source per remote, one set of records for
 * all. Instance keys are `<remote>:<project>/<name>`, so the same instance name on two servers is two
 * instances; when both claim one name, the remote named first in the list keeps it. PTRs may go into the
 * reverse zones any remote wants.
 */
import type { Logger } from 'pino'
import type { Name } from '../../zone/types.ts'
import { remoteOf } from './keys.ts'
import { byKey } from './records.ts'
import type { RecordEvents, RecordSettings } from './records.ts'
import { ViewRecords } from './view-records.ts'

/** What one remote's source is given: the shared records, its name, and the union of reverse zones. */
export interface SharedRecords {
  readonly remote: string
  readonly viewRecords: ViewRecords
  /** This remote wants these reverse zones; returns the union over every remote (where PTRs may go). */
  reverseZones(wanted: ReadonlySet<Name>): ReadonlySet<Name>
}

/** Conflicts, names the store would not take and names the rules refuse, logged (the default view's records report them; view-records.ts says why). */
export function recordEvents(log: Logger): RecordEvents {
  return {
    conflict: (name, winner, loser, rule) => log.warn({ name, winner, loser, rule }, `two instances claim one name; ${rule}`),
    rejected: (name, reason) => log.warn({ name, reason }, 'name not published'),
    refused: (r) => log.warn({ instance: r.instance, key: r.key, name: r.name, reason: r.reason, rule: r.rule, fix: r.fix }, `name refused: ${r.rule}`),
  }
}

export class RemotesRecords {
  readonly viewRecords: ViewRecords
  readonly #wanted = new Map<string, ReadonlySet<Name>>()

  constructor(remotes: readonly string[], settings: RecordSettings, log: Logger) {
    const rank = new Map(remotes.map((r, i) => [r, i]))
    // The remote's place in the list first, then project/name.
    const compare = (a: string, b: string): number =>
      ((rank.get(remoteOf(a)) ?? remotes.length) - (rank.get(remoteOf(b)) ?? remotes.length)) || byKey(a, b)
    this.viewRecords = new ViewRecords({ ...settings, compare }, recordEvents(log.child({ mod: 'incus' })))
  }

  /** What the source of `remote` is given. */
  for(remote: string): SharedRecords {
    return { remote, viewRecords: this.viewRecords, reverseZones: (wanted) => this.#union(remote, wanted) }
  }

  #union(remote: string, wanted: ReadonlySet<Name>): ReadonlySet<Name> {
    this.#wanted.set(remote, wanted)
    return new Set([...this.#wanted.values()].flatMap((s) => [...s]))
  }
}
