/**
 * @module incus/fault-log
 * Warnings about Incus failures that repeat per instance (a re-read after an event, an address poll): at 2,000
 * instances waiting and Incus answering errors, one line per failure was 69,375 lines in 10 s. So a fault is
 * logged once per class (what was being done, and how it failed) and minute; the next line of that class
 * says how many were left out meanwhile.
 */
import type { Logger } from 'pino'

export class FaultLog {
  readonly #log: Logger
  readonly #everyMs: number
  /** Class → when it was last logged, and how many since went unlogged. */
  readonly #classes = new Map<string, { at: number; left: number }>()

  constructor(log: Logger, everyMs = 60_000) {
    this.#log = log
    this.#everyMs = everyMs
  }

  /** Logs `msg` with `fields`, unless a fault of `cls` was logged less than a minute ago (then counts it). */
  warn(cls: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now()
    const seen = this.#classes.get(cls)
    if (seen !== undefined && now - seen.at < this.#everyMs) { seen.left++; return }
    this.#log.warn({ ...fields, ...(seen !== undefined && seen.left > 0 ? { alsoSinceLastLine: seen.left } : {}) }, msg)
    this.#classes.set(cls, { at: now, left: 0 })
  }
}

/** The class of an error from the Incus client: its code, else its name (IncusApiError's status is in its code). */
export function faultClass(err: unknown): string {
  const e = err as { code?: unknown; status?: unknown; name?: unknown } | null
  if (e === null || typeof e !== 'object') return 'unknown'
  return [e.code, e.status].filter((x) => x !== undefined).join(':') || String(e.name ?? 'Error')
}
