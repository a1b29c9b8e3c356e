/**
 * @module xfr/notify
 * NOTIFY (RFC 1996) to the configured secondaries when a zone changes: the first change is notified at once
 * (so a secondary follows within a second), and the changes of the next second make one more NOTIFY at its
 * end; each is retried until acknowledged (up to 5 tries, 2 s apart) and signed with TSIG when a key is set.
 */
import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import { udpExchange, upstream } from '../forward/upstream.ts'
import type { Upstream } from '../forward/upstream.ts'
import type { ZoneStore } from '../zone/store.ts'
import { wireKey } from '../zone/name.ts'
import type { Name } from '../zone/types.ts'
import { WireWriter } from '../zone/writer.ts'
import { sign } from '../dns/tsig.ts'
import type { TsigKey } from '../dns/tsig.ts'

export interface NotifierOptions {
  readonly store: ZoneStore
  readonly targets: readonly { host: string; port: number }[]
  readonly key: TsigKey | null
  readonly log: Logger
  readonly debounceMs?: number
  readonly retryMs?: number
  readonly attempts?: number
}

export class Notifier {
  readonly stats = { sent: 0, acknowledged: 0, failed: 0 }
  readonly #o: NotifierOptions
  readonly #targets: Upstream[]
  /** Zones inside their quiet second: the timer, and whether a change came meanwhile. */
  readonly #pending = new Map<Name, { timer: NodeJS.Timeout; again: boolean }>()
  #stopped = false

  constructor(o: NotifierOptions) {
    this.#o = o
    this.#targets = o.targets.map((t) => upstream(t.host, t.port))
  }

  /** True while some zone is inside its quiet second (a change now would wait for its end). */
  get throttling(): boolean {
    return this.#pending.size > 0
  }

  /** A zone's serial changed: NOTIFY now, unless one went less than a second ago (then once at its end). */
  zoneChanged(apex: Name): void {
    if (this.#stopped || this.#targets.length === 0) return
    const pending = this.#pending.get(apex)
    if (pending !== undefined) { pending.again = true; return }
    this.#send(apex)
  }

  #send(apex: Name): void {
    for (const t of this.#targets) void this.#notify(apex, t)
    const state = { again: false, timer: setTimeout(() => {
      this.#pending.delete(apex)
      if (state.again && !this.#stopped) this.#send(apex)
    }, this.#o.debounceMs ?? 1000) }
    state.timer.unref()
    this.#pending.set(apex, state)
  }

  stop(): void {
    this.#stopped = true
    for (const p of this.#pending.values()) clearTimeout(p.timer)
    this.#pending.clear()
  }

  async #notify(apex: Name, target: Upstream): Promise<void> {
    const attempts = this.#o.attempts ?? 5
    for (let attempt = 1; attempt <= attempts && !this.#stopped; attempt++) {
      const soa = this.#o.store.soa(apex)
      if (soa === undefined) return
      const id = randomInt(0, 65536)
      const head = Buffer.alloc(12)
      head.writeUInt16BE(id, 0)
      head[2] = 0x24 // opcode NOTIFY (4), AA
      head.writeUInt16BE(1, 4)
      head.writeUInt16BE(1, 6)
      const question = Buffer.concat([Buffer.from(wireKey(apex), 'latin1'), Buffer.from([0, 6, 0, 1])])
      const w = new WireWriter(12 + question.length, null)
      w.record(soa, soa.ttl, null)
      let msg: Buffer = Buffer.concat([head, question, w.finish()])
      if (this.#o.key !== null) msg = sign(msg, this.#o.key, { time: Math.floor(Date.now() / 1000) }).msg
      this.stats.sent++
      try {
        const reply = await udpExchange(target, msg, this.#o.retryMs ?? 2000,
          (r) => r.length >= 12 && r.readUInt16BE(0) === id && ((r[2] as number) & 0xf8) === 0xa0, () => {})
        const rcode = (reply[3] as number) & 0x0f
        if (rcode === 0) {
          this.stats.acknowledged++
          this.#o.log.debug({ zone: apex, target: target.label, serial: (soa.data as { serial: number }).serial }, 'NOTIFY acknowledged')
          return
        }
        this.#o.log.warn({ zone: apex, target: target.label, rcode }, 'NOTIFY answered with an error')
        return
      } catch {
        // no answer: try again
      }
    }
    this.stats.failed++
    this.#o.log.warn({ zone: apex, target: target.label, attempts }, 'NOTIFY never acknowledged')
  }
}
