/**
 * @module incus/unreadable
 * Instances Incus listed or sent that do not fit the shape incus-dns reads (api/instance-shape.ts): they keep their
 * last good records, and each is logged once, naming it and what was wrong, until it reads again or goes. The
 * status page lists them.
 */
import type { Logger } from 'pino'

export class UnreadableInstances {
  readonly #log: Logger
  /** Instance key (or `?` and the problem, for one without a project and name) → what was wrong. */
  readonly #now = new Map<string, string>()

  constructor(log: Logger) { this.#log = log }

  /** `key` (null: an instance without a project and name) does not fit: logged when new or changed. */
  note(key: string | null, problem: string): void {
    const id = key ?? `? ${problem}`
    if (this.#now.get(id) === problem) return
    this.#now.set(id, problem)
    this.#log.warn({ instance: key ?? '(no project and name)', problem }, key === null
      ? 'Incus listed an instance incus-dns cannot read or name; it is skipped'
      : 'Incus sent an instance incus-dns cannot read; it keeps its last good records, the rest of the sync goes on')
  }

  /** `key` read well (or went): forgotten. */
  readable(key: string): void { this.#now.delete(key) }

  /** After a full sync: only what it found unreadable stays listed. */
  replace(found: readonly (readonly [string | null, string])[]): void {
    const next = new Set(found.map(([k, p]) => k ?? `? ${p}`))
    for (const id of [...this.#now.keys()]) if (!next.has(id)) this.#now.delete(id)
    for (const [k, p] of found) this.note(k, p)
  }

  /** Each unreadable instance and what was wrong, by instance. */
  list(): { instance: string; problem: string }[] {
    return [...this.#now].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, problem]) => ({ instance: id.startsWith('? ') ? '(no project and name)' : id, problem }))
  }
}
