/**
 * @module incus/naming/claims
 * Who claims which names, both ways: each owner name's claimants with how they claim it, and each instance's
 * names as it claimed them (not recomputed: reverse zones may have changed since). records.ts settles what a
 * name answers from its claims. Flat arrays inside ([instance, how, instance, how, ...]) rather than tuples
 * or Maps: at 100k instances per-name Maps were most of the records' memory (bench/README.md).
 */
import type { Name } from '../../zone/types.ts'

/** How an instance claims a name: its own name, a hostname through a key, a service, a name Caddy routes to it, an alias, a PTR, an SRV owner. */
export type Claim = 'own' | 'hostname' | 'service' | 'caddy' | 'alias' | 'ptr' | 'srv'

export class Claims {
  /** owner → [instance key, how, instance key, how, ...], in the order they were claimed. */
  readonly #byOwner = new Map<Name, string[]>()
  /** instance key → [owner, how, owner, how, ...]. */
  readonly #byInstance = new Map<string, string[]>()

  /** Each claim on `owner`: the instance and how it claims it. */
  forEach(owner: Name, fn: (key: string, how: Claim) => void): void {
    const c = this.#byOwner.get(owner)
    if (c !== undefined) for (let i = 0; i < c.length; i += 2) fn(c[i] as string, c[i + 1] as Claim)
  }

  /** The instances claiming `owner`, as `how` only when given, in the order they claimed it. */
  claimants(owner: Name, how?: Claim): string[] {
    const out: string[] = []
    this.forEach(owner, (key, h) => { if (how === undefined || h === how) out.push(key) })
    return out
  }

  /** Each name instance `key` claims, and how. */
  forEachOwned(key: string, fn: (owner: Name, how: Claim) => void): void {
    const o = this.#byInstance.get(key)
    if (o !== undefined) for (let i = 0; i < o.length; i += 2) fn(o[i] as Name, o[i + 1] as Claim)
  }

  /**
   * Replaces what instance `key` claims with `owners` (flat: [owner, how, ...]; [] for nothing). Every owner
   * it claimed before or claims now goes into `touched`; `released` hears of each that nobody claims any more.
   */
  set(key: string, owners: readonly string[], touched: Set<Name>, released: (owner: Name) => void): void {
    const old = this.#byInstance.get(key) ?? []
    for (let i = 0; i < old.length; i += 2) { this.#unclaim(old[i] as Name, key); touched.add(old[i] as Name) }
    if (owners.length === 0) this.#byInstance.delete(key)
    else this.#byInstance.set(key, owners.slice()) // sized exactly: push() leaves room for 16 more
    for (let i = 0; i < owners.length; i += 2) { this.#claim(owners[i] as Name, key, owners[i + 1] as Claim); touched.add(owners[i] as Name) }
    for (let i = 0; i < old.length; i += 2) if (!this.#byOwner.has(old[i] as Name)) released(old[i] as Name)
  }

  #claim(owner: Name, key: string, how: Claim): void {
    const claims = this.#byOwner.get(owner)
    if (claims === undefined) { this.#byOwner.set(owner, [key, how]); return }
    const i = claims.indexOf(key)
    if (i >= 0 && i % 2 === 0) claims[i + 1] = how
    else claims.push(key, how)
  }

  #unclaim(owner: Name, key: string): void {
    const claims = this.#byOwner.get(owner)
    if (claims === undefined) return
    const i = claims.indexOf(key)
    if (i >= 0 && i % 2 === 0) claims.splice(i, 2)
    if (claims.length === 0) this.#byOwner.delete(owner)
  }
}
