/**
 * @module zone/targets
 * What the store compiles into: the plain answers, and with a signer the signed ones too (zone/target.ts each),
 * with the queue that signs big batches in slices (zone/signing-queue.ts). The store says which names changed and
 * which zones it serves; this turns that into both tables, the same way for each.
 */
import type { NameAnswers, StoreView } from './compile.ts'
import type { ZoneSigner } from './signer.ts'
import { SIGN_NOW_LIMIT, SigningQueue } from './signing-queue.ts'
import type { AnswerTable } from './table.ts'
import { CompileTarget } from './target.ts'
import type { TargetZone } from './target.ts'
import type { Name, Rec } from './types.ts'

export class Targets {
  readonly #plain = new CompileTarget()
  /** The plain answers' table; its `signed` is the signed one's, when the zones are signed. */
  readonly table: AnswerTable = this.#plain.table
  readonly #signed: { readonly target: CompileTarget; readonly queue: SigningQueue } | null
  readonly #all: readonly CompileTarget[]

  /** `view`: what compiling reads of the store (the same for both targets). */
  constructor(signer: ZoneSigner | null, view: () => StoreView) {
    const target = signer === null ? null : new CompileTarget(signer)
    this.table.signed = target?.table ?? null
    this.#signed = target === null ? null : { target, queue: new SigningQueue((n) => { target.compile(n, view(), () => {}) }, () => target.table.publish()) }
    this.#all = target === null ? [this.#plain] : [this.#plain, target]
  }

  get signed(): boolean { return this.#signed !== null }

  /** Names whose signed answers are still to be made (in slices); 0 unsigned. */
  get signingPending(): number { return this.#signed?.queue.size ?? 0 }

  /** Signs every pending name now. */
  settleSigning(): void { this.#signed?.queue.settle() }

  /** The plain target's zone at `apex` (what compiling a name of it reads). */
  zone(apex: Name): TargetZone | undefined { return this.#plain.zone(apex) }

  addZone(apex: Name): void { for (const t of this.#all) t.addZone(apex) }
  removeZone(apex: Name): void { for (const t of this.#all) t.removeZone(apex) }
  clear(): void { for (const t of this.#all) t.table.clear() }
  publish(): void { for (const t of this.#all) t.table.publish() }

  /** The zone's SOA as served now; true when its names must be compiled again (a signed zone's negative TTL changed). */
  served(apex: Name, soa: Rec): boolean {
    let stale = false
    for (const t of this.#all) if (t.served(apex, soa)) stale = true
    return stale
  }

  /** Whether a batch of `dirty` names is signed in slices rather than with the batch. */
  slices(dirty: number): boolean { return this.#signed !== null && dirty > SIGN_NOW_LIMIT }

  /**
   * Compiles `name` into both tables; `signLater`: its signed entry is dropped now and made in a slice. The
   * signed answers read what the plain ones do, so `read` hears the plain compile only.
   */
  compile(name: Name, view: StoreView, read: (name: Name) => void, signLater: boolean): NameAnswers | null {
    const result = this.#plain.compile(name, view, read)
    const signed = this.#signed
    if (signed !== null && signLater) { signed.target.forget(name); signed.queue.add(name) }
    else if (signed !== null) { signed.target.compile(name, view, () => {}); signed.queue.done(name) }
    return result
  }

  /** Signs `name` again in a slice, keeping its answers meanwhile (a refresh: its records did not change). */
  resign(name: Name): void { this.#signed?.queue.add(name) }
}
