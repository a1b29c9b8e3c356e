/**
 * @module incus/address-watch
 * Polls a live instance until every address family its NICs should get is in its state. No event says when
 * a guest's DHCP client or SLAAC finishes (shared/incus-api §0.1), and on a real incusd the IPv4 and the IPv6
 * arrive a second or so apart, in either order. So: poll often in the first seconds, when addresses arrive,
 * then back off, and give up at a bound (long for a family a managed network hands out, short for a guess).
 * After giving up, the instance is left to the periodic sync until a lifecycle event gives it a new chance.
 * Polls go through the process's request budget (fetch-queue.ts: a listing replaces them when a fleet waits);
 * a poll Incus does not answer backs the instance off exponentially, whatever phase it is in.
 */
import type { Logger } from 'pino'
import type { Mapped } from './naming/map.ts'

export interface AddressPollTiming {
  /** Delay between polls while fast (the first `fastForMs`). */
  readonly firstMs: number
  /** How long the fast polls go on, from the start of the watch. */
  readonly fastForMs: number
  /** Afterwards, the delay doubles up to this. */
  readonly maxMs: number
  /** Give up on a family a managed network says it gives. */
  readonly giveUpMs: number
  /** Give up on a family that is only possible (a NIC on no managed network). */
  readonly guessGiveUpMs: number
}

export const DEFAULT_ADDRESS_POLL: AddressPollTiming = { firstMs: 100, fastForMs: 10_000, maxMs: 5000, giveUpMs: 120_000, guessGiveUpMs: 15_000 }

export interface AddressWatchOptions {
  readonly timing: AddressPollTiming
  readonly log: Logger
  /**
   * Reads the instance again and applies it (within the budget), then calls `done` (false: Incus did not
   * answer). A callback, not a promise: at 10k instances waiting, 10k suspended async frames were memory.
   */
  readonly poll: (key: string, done: (ok: boolean) => void) => void
  /** What the zone has for the instance now. */
  readonly current: (key: string) => Mapped | undefined
}

/** A watch that gave up: after how long, and on which family. */
export interface GaveUp {
  readonly afterMs: number
  readonly family: 'IPv4' | 'IPv6'
}

/** One instance being watched: since when, its last delay and failures in a row, and its timer (null while a poll runs). */
interface Watch {
  readonly started: number
  delay: number
  failures: number
  timer: NodeJS.Timeout | null
}

export class AddressWatcher {
  readonly #o: AddressWatchOptions
  readonly #watches = new Map<string, Watch>()
  /** Watches that gave up: not started again by a sync, only by a lifecycle event (`reset`). */
  readonly #gaveUp = new Map<string, GaveUp>()
  #stopped = false

  constructor(options: AddressWatchOptions) { this.#o = options }

  get watching(): number { return this.#watches.size }
  get gaveUpCount(): number { return this.#gaveUp.size }
  /** Whether the watch of `key` gave up, and after how long; undefined while watching or never watched. */
  gaveUp(key: string): GaveUp | undefined { return this.#gaveUp.get(key) }

  /** Starts watching, unless it is already, or it gave up and nothing happened to the instance since. */
  watch(key: string): void {
    if (this.#watches.has(key) || this.#gaveUp.has(key) || this.#stopped) return
    const w: Watch = { started: Date.now(), delay: this.#o.timing.firstMs, failures: 0, timer: null }
    this.#watches.set(key, w)
    this.#schedule(key, w)
  }

  #schedule(key: string, w: Watch): void {
    // Give or take a fifth: instances started together (a fleet's first sync) do not all fire in one turn.
    w.timer = setTimeout(() => {
      w.timer = null
      this.#o.poll(key, (ok) => this.#polled(key, w, ok))
    }, w.delay * (0.8 + Math.random() * 0.4))
    w.timer.unref()
  }

  #polled(key: string, w: Watch, ok: boolean): void {
    if (this.#stopped || this.#watches.get(key) !== w) return
    const { firstMs, fastForMs, maxMs, giveUpMs, guessGiveUpMs } = this.#o.timing
    const m = this.#o.current(key)
    if (m === undefined || m.awaitingAddress === false) { this.#watches.delete(key); return }
    const elapsed = Date.now() - w.started
    if (elapsed > (m.awaitingAddress === 'guess' ? guessGiveUpMs : giveUpMs)) {
      this.#watches.delete(key)
      const family = m.ipv4 === null ? 'IPv4' : 'IPv6'
      this.#gaveUp.set(key, { afterMs: elapsed, family })
      this.#o.log.debug({ instance: key, afterMs: elapsed, family }, 'an expected address family never appeared; leaving it to the periodic sync')
      return
    }
    // Incus did not answer: back off from this instance, fast phase or not.
    w.failures = ok ? 0 : w.failures + 1
    w.delay = w.failures > 0 ? Math.min(maxMs, firstMs * 2 ** w.failures)
      : elapsed < fastForMs ? firstMs : Math.min(maxMs, Math.max(w.delay, firstMs) * 2)
    this.#schedule(key, w)
  }

  /** Something happened to the instance (an event, or it has every address now): it may be watched again. */
  reset(key: string): void { this.#gaveUp.delete(key) }

  /** The instance is gone: forget it. */
  forget(key: string): void {
    this.#gaveUp.delete(key)
    const w = this.#watches.get(key)
    if (w === undefined) return
    if (w.timer !== null) clearTimeout(w.timer)
    this.#watches.delete(key)
  }

  stop(): void {
    this.#stopped = true
    for (const w of this.#watches.values()) if (w.timer !== null) clearTimeout(w.timer)
    this.#watches.clear()
  }
}
