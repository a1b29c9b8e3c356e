/**
 * @module zone/depends
 * What a name's compiled answers depend on besides its own records, so that a change recompiles exactly the
 * names it affects: the other names its answers read (a CNAME chain, an additional section), and the DNAME
 * targets above it (names below a target answer a DNAME's chase too, RFC 6672 3.2).
 */
import { isAtOrBelow, parentName } from './name.ts'
import type { Name } from './types.ts'

/** The names each compiled owner read, and the reverse: the owners to recompile when a name changes. */
export class Readers {
  readonly #readers = new Map<Name, Set<Name>>()
  readonly #reads = new Map<Name, ReadonlySet<Name>>()

  /** The owners whose answers read `name`. */
  of(name: Name): ReadonlySet<Name> | undefined {
    return this.#readers.get(name)
  }

  /** The owners that read `top` or a name below it (a zone cut appeared or went there: rare, so a scan). */
  *under(top: Name): Generator<Name> {
    for (const [name, readers] of this.#readers) if (isAtOrBelow(name, top)) yield* readers
  }

  /** Replaces what `owner` reads (an empty set: nothing, as when it has no answers any more); keeps `reads`. */
  set(owner: Name, reads: ReadonlySet<Name>): void {
    for (const read of this.#reads.get(owner) ?? []) this.#readers.get(read)?.delete(owner)
    this.#reads.delete(owner)
    if (reads.size === 0) return
    this.#reads.set(owner, reads)
    for (const r of reads) {
      let readers = this.#readers.get(r)
      if (readers === undefined) { readers = new Set(); this.#readers.set(r, readers) }
      readers.add(owner)
    }
  }
}

/** The targets of the zone's DNAME records, with how many DNAMEs point at each. */
export class DnameTargets {
  readonly #count = new Map<Name, number>()

  /** A DNAME's target moved from `before` to `after` (null: no DNAME there). */
  move(before: Name | null, after: Name | null): void {
    if (before === after) return
    if (before !== null) {
      const n = (this.#count.get(before) ?? 1) - 1
      if (n === 0) this.#count.delete(before)
      else this.#count.set(before, n)
    }
    if (after !== null) this.#count.set(after, (this.#count.get(after) ?? 0) + 1)
  }

  /** Whether `name` is strictly below the target of some DNAME. */
  below(name: Name): boolean {
    if (this.#count.size === 0) return false
    for (let a = parentName(name); a !== null; a = parentName(a)) if (this.#count.has(a)) return true
    return false
  }
}
