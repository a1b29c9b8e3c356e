/**
 * @module cli/teardown
 * What start() has started, stopped in one order whichever way it ends: a stop signal, or a failure part-way
 * through start-up (an HTTP port taken once DNS and Incus are up). Queries stop first, TCP connections
 * finishing what they sent; then the side port, then what feeds the zones, the cookie timer last. A part
 * stops once, however often the teardown runs.
 */

/** The parts, in the order they stop (not the order they start). */
const ORDER = ['dns', 'workers', 'notify', 'http', 'incus', 'updates', 'cookies', 'dnssec'] as const
export type Part = typeof ORDER[number]

export class Teardown {
  readonly #stops = new Map<Part, (graceMs: number) => Promise<void> | void>()

  /** How to stop one part once it runs; `graceMs` is what TCP connections get to finish. */
  add(part: Part, stop: (graceMs: number) => Promise<void> | void): void {
    this.#stops.set(part, stop)
  }

  async run(graceMs: number): Promise<void> {
    for (const part of ORDER) {
      const stop = this.#stops.get(part)
      this.#stops.delete(part)
      await stop?.(graceMs)
    }
  }
}
