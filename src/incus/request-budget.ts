/**
 * @module incus/request-budget
 * One budget for the requests incus-dns sends Incus about single instances (the address watch's polls and the
 * re-reads after lifecycle events), for the whole process: several remotes share it. A token bucket of `rate`
 * per second holding at most one second's worth, so a burst of events is served at once and a fleet of
 * instances waiting for an address never sends Incus more than `rate` GETs a second (fetch-queue.ts falls back
 * to one listing instead).
 */
export class RequestBudget {
  /** Requests per second, and the most that can be taken at once. */
  readonly rate: number
  #tokens: number
  #at: number
  readonly #now: () => number

  constructor(rate: number, now: () => number = () => performance.now()) {
    this.rate = rate
    this.#tokens = rate
    this.#now = now
    this.#at = now()
  }

  /** Takes one request's worth; 0 when taken, otherwise how long (ms) until one is there. */
  take(): number {
    const now = this.#now()
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#at) * this.rate) / 1000)
    this.#at = now
    if (this.#tokens >= 1) { this.#tokens -= 1; return 0 }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.rate))
  }
}
