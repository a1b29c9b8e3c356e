/**
 * @module zone/signing-queue
 * Signing in slices. A name changed in a big batch (a first Incus sync, a zone appearing) would sign tens of
 * thousands of RRsets at once, seconds of a thread that also answers. Instead its signed entry is dropped at
 * once, so a query with DO for it is signed per query from its current plain answer (dns/online-sign.ts), never
 * with an old signature, and it is signed again here, a few milliseconds per event-loop turn. A refresh (new
 * signatures for a new validity window, on records that did not change) keeps the entries, still valid, while
 * they are signed again.
 */
import type { Name } from './types.ts'

/** Above this many names changed in one batch, signing goes in slices; below, it is done with the batch. */
export const SIGN_NOW_LIMIT = 64
/** Milliseconds of signing per event-loop turn. */
export const SLICE_MS = 5

export class SigningQueue {
  readonly #pending = new Set<Name>()
  readonly #compile: (name: Name) => void
  readonly #publish: () => void
  #scheduled = false

  /** `compile` signs one name into the signed table; `publish` hands the table's changes on (worker replicas). */
  constructor(compile: (name: Name) => void, publish: () => void) {
    this.#compile = compile
    this.#publish = publish
  }

  get size(): number { return this.#pending.size }

  /** Signs `name` in a later slice. */
  add(name: Name): void {
    this.#pending.add(name)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#slice())
  }

  /** `name` was signed with its batch: nothing left to do for it. */
  done(name: Name): void { this.#pending.delete(name) }

  /** Signs everything pending now (tests; a stop). */
  settle(): void { this.#run(Infinity) }

  /** Signs pending names for up to `ms`, then hands the table's changes on. */
  #run(ms: number): void {
    const t0 = performance.now()
    for (const name of this.#pending) {
      this.#pending.delete(name)
      this.#compile(name)
      if (performance.now() - t0 >= ms) break
    }
    this.#publish()
  }

  #slice(): void {
    this.#scheduled = false
    this.#run(SLICE_MS)
    if (this.#pending.size > 0 && !this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#slice())
    }
  }
}
