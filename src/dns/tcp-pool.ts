/**
 * @module dns/tcp-pool
 * Which TCP connections stay open under pressure (RFC 7766 6.2.3), over all listen addresses. At the cap the
 * connection idle longest is closed so that the new one gets in (refusing new ones instead let one client
 * that opened 1,200 and sent nothing lock every other client out of TCP, zone transfers included); one
 * source address may hold only so many, its own idlest closed first; and above a high-water mark every
 * connection gets a short idle timeout until the count falls below a low-water mark.
 */
import type net from 'node:net'
import type { DnsStats } from './stats.ts'

export interface TcpPoolOptions {
  readonly maxConnections: number
  readonly maxPerSource: number
  readonly idleTimeoutMs: number
  /** The idle timeout while above the high-water mark (3/4 of the cap), until below 1/2 of it. */
  readonly pressureIdleTimeoutMs: number
  readonly stats: DnsStats
}

export class TcpPool {
  readonly #o: TcpPoolOptions
  /** Socket → its source address, least recently active first (a Map keeps insertion order). */
  readonly #byActivity = new Map<net.Socket, string>()
  readonly #perSource = new Map<string, number>()
  #pressure = false

  constructor(options: TcpPoolOptions) { this.#o = options }

  get size(): number { return this.#byActivity.size }
  /** The idle timeout connections have now. */
  get idleTimeoutMs(): number { return this.#pressure ? Math.min(this.#o.pressureIdleTimeoutMs, this.#o.idleTimeoutMs) : this.#o.idleTimeoutMs }

  /** Takes a new connection in, closing others to make room when needed. */
  admit(sock: net.Socket, source: string): void {
    const { stats } = this.#o
    if ((this.#perSource.get(source) ?? 0) >= this.#o.maxPerSource) {
      for (const [s, src] of this.#byActivity) {
        if (src === source) { this.#close(s); stats.tcpClosed.per_source_cap++; break }
      }
    }
    if (this.#byActivity.size >= this.#o.maxConnections) {
      const idlest = this.#byActivity.keys().next().value
      if (idlest !== undefined) { this.#close(idlest); stats.tcpClosed.idle_at_cap++ }
    }
    this.#byActivity.set(sock, source)
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1)
    sock.setTimeout(this.idleTimeoutMs)
    this.#checkPressure()
  }

  /** The connection read or wrote: it is now the most recently active. */
  touch(sock: net.Socket): void {
    const source = this.#byActivity.get(sock)
    if (source === undefined) return
    this.#byActivity.delete(sock)
    this.#byActivity.set(sock, source)
  }

  /** The connection closed, for whatever reason. */
  remove(sock: net.Socket): void {
    const source = this.#byActivity.get(sock)
    if (source === undefined) return
    this.#byActivity.delete(sock)
    const n = (this.#perSource.get(source) ?? 1) - 1
    if (n === 0) this.#perSource.delete(source)
    else this.#perSource.set(source, n)
    this.#checkPressure()
  }

  #close(sock: net.Socket): void {
    this.remove(sock)
    sock.destroy()
  }

  #checkPressure(): void {
    const n = this.#byActivity.size
    const max = this.#o.maxConnections
    const next = this.#pressure ? n > max / 2 : n >= (max * 3) / 4
    if (next === this.#pressure) return
    this.#pressure = next
    if (next) this.#o.stats.tcpPressure++
    const timeout = this.idleTimeoutMs
    for (const s of this.#byActivity.keys()) s.setTimeout(timeout)
  }
}
