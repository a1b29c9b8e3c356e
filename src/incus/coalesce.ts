/**
 * @module incus/coalesce
 * One run per key at a time: a call while that key's run is going asks for one more run after it, so that a
 * burst of events for one instance becomes at most two fetches, and the last one sees the latest state.
 */
export class PerKey {
  readonly #running = new Map<string, { again: boolean }>()

  /** Runs `once` for `key` (again while asked during a run, until `stopped`); undefined when one was running. */
  async run<T>(key: string, once: () => Promise<T>, stopped: () => boolean): Promise<T | undefined> {
    const running = this.#running.get(key)
    if (running !== undefined) { running.again = true; return undefined }
    const state = { again: false }
    this.#running.set(key, state)
    let result: T | undefined
    try {
      do {
        state.again = false
        result = await once()
      } while (state.again && !stopped())
    } finally {
      this.#running.delete(key)
    }
    return result
  }
}
