/**
 * @module forward/forwarder
 * Answers names outside our zones through upstream resolvers. Each upstream query has a fresh random ID and
 * comes from a fresh random port; a reply counts only if its source, ID and question (ignoring case) match.
 * UDP first, TCP after TC (or when the client came over TCP); per-upstream timeout and failover; identical
 * questions in flight are sent once; answers are cached. Everything failed: SERVFAIL, never silence.
 */
import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import { opt, readMessage, sameQuestion } from '../dns/wire.ts'
import { ForwardCache } from './cache.ts'
import { markFailure, markSuccess, tcpExchange, tryOrder, udpExchange } from './upstream.ts'
import type { Upstream } from './upstream.ts'

export interface ForwardRequest {
  readonly id: number
  readonly rd: boolean
  readonly cd: boolean
  /** The client's question: wire name (its letter case), type, class. */
  readonly question: Buffer
  /** Lowercase wire name + qtype, from answer(). */
  readonly key: string
  /** Client's EDNS payload size; 0 when it sent no OPT. */
  readonly ednsSize: number
  readonly ednsDo: boolean
  readonly tcp: boolean
}

export interface ForwarderOptions {
  readonly upstreams: readonly Upstream[]
  readonly timeoutMs: number
  readonly cacheEntries: number
  readonly cacheMaxTtl: number
  readonly log: Logger
}

export interface ForwardStats {
  requests: number
  cacheHits: number
  cacheMisses: number
  coalesced: number
  servfail: number
  /** Replies dropped for a wrong source, ID or question. */
  spoofed: number
  tcpRetries: number
}

/** The upstream's answer without OPT records, ID and flags still the upstream's. */
interface Upstreamed {
  readonly msg: Buffer
  readonly rcode: number
}

const SERVFAIL = 2

export class Forwarder {
  readonly stats: ForwardStats = { requests: 0, cacheHits: 0, cacheMisses: 0, coalesced: 0, servfail: 0, spoofed: 0, tcpRetries: 0 }
  readonly upstreams: readonly Upstream[]
  readonly cache: ForwardCache
  readonly #timeoutMs: number
  readonly #inflight = new Map<string, Promise<Upstreamed | null>>()
  readonly #log: Logger

  constructor(o: ForwarderOptions) {
    this.upstreams = o.upstreams
    this.#timeoutMs = o.timeoutMs
    this.cache = new ForwardCache(o.cacheEntries, o.cacheMaxTtl)
    this.#log = o.log.child({ mod: 'forward' })
  }

  /**
   * The answer from the cache, synchronously, or undefined on a miss (then call `resolve`). Cache hits skip
   * the promise machinery of `resolve` (measured in bench/README.md).
   */
  cached(req: ForwardRequest): Buffer | undefined {
    const cached = this.cache.get(cacheKey(req), optRoom(req))
    if (cached === undefined) return undefined
    this.stats.requests++
    this.stats.cacheHits++
    return toClient(cached, req)
  }

  /** The full answer for the client (not yet cut to its UDP size), after `cached()` found nothing. */
  async resolve(req: ForwardRequest): Promise<Buffer> {
    this.stats.requests++
    const key = cacheKey(req)
    this.stats.cacheMisses++
    let pending = this.#inflight.get(key)
    if (pending === undefined) {
      pending = this.#ask(req).then((got) => {
        const view = got === null ? null : readMessage(got.msg)
        if (got !== null && view !== null) this.cache.put(key, got.msg, view)
        return got
      }).finally(() => this.#inflight.delete(key))
      this.#inflight.set(key, pending)
    } else {
      this.stats.coalesced++
    }
    const got = await pending
    if (got === null) {
      this.stats.servfail++
      return failure(req, SERVFAIL)
    }
    const out = Buffer.allocUnsafe(got.msg.length + optRoom(req))
    got.msg.copy(out, 0)
    return toClient(out, req)
  }

  /** Tries upstreams in order until one gives a usable answer; null when none does. */
  async #ask(req: ForwardRequest): Promise<Upstreamed | null> {
    let lastServfail: Upstreamed | null = null
    for (const u of tryOrder(this.upstreams, Date.now())) {
      const id = randomInt(0, 65536)
      const query = upstreamQuery(id, req)
      const accept = (reply: Buffer): boolean => reply.length >= 12 && reply.readUInt16BE(0) === id && ((reply[2] as number) & 0x80) !== 0
        && reply.readUInt16BE(4) === 1 && sameQuestion(reply.subarray(12, 12 + req.question.length), req.question)
      const onSpoof = (): void => { this.stats.spoofed++ }
      try {
        u.queries++
        let reply = req.tcp ? await tcpExchange(u, query, this.#timeoutMs, accept, onSpoof) : await udpExchange(u, query, this.#timeoutMs, accept, onSpoof)
        if (!req.tcp && ((reply[2] as number) & 0x02) !== 0) {
          this.stats.tcpRetries++
          reply = await tcpExchange(u, query, this.#timeoutMs, accept, onSpoof)
        }
        const cleaned = withoutOpt(reply)
        if (cleaned === null) throw new Error(`${u.label} sent a malformed answer`)
        const rcode = (reply[3] as number) & 0x0f
        if (rcode === 5) throw new Error(`${u.label} refused the query (REFUSED): does it allow recursion for us?`)
        markSuccess(u)
        if (rcode === SERVFAIL) { lastServfail = { msg: cleaned, rcode }; continue } // maybe the next one can
        return { msg: cleaned, rcode }
      } catch (err) {
        markFailure(u, Date.now())
        this.#log.warn({ upstream: u.label, err: (err as Error).message }, 'upstream failed; trying the next')
      }
    }
    return lastServfail
  }
}

function cacheKey(req: ForwardRequest): string {
  return `${req.key}|${req.question.readUInt16BE(req.question.length - 2)}|${req.ednsDo ? 1 : 0}|${req.cd ? 1 : 0}`
}

/** The query we send: fresh ID, RD set, the client's CD, question and EDNS size and DO (RFC 6891 passes them). */
function upstreamQuery(id: number, req: ForwardRequest): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(id, 0)
  head[2] = 0x01
  head[3] = req.cd ? 0x10 : 0
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(req.ednsSize > 0 ? 1 : 0, 10)
  return Buffer.concat(req.ednsSize > 0 ? [head, req.question, opt(req.ednsDo, 0, req.ednsSize)] : [head, req.question])
}

/** The message with its OPT records cut out (hop-by-hop, RFC 6891 6.1.1) and AR adjusted; null if malformed. */
function withoutOpt(msg: Buffer): Buffer | null {
  const view = readMessage(msg)
  if (view === null) return null
  const opts = view.records.filter((r) => r.type === 41)
  if (opts.length === 0) return Buffer.from(msg)
  const parts: Buffer[] = []
  let at = 0
  for (const r of opts) { parts.push(msg.subarray(at, r.start)); at = r.end }
  parts.push(msg.subarray(at))
  const out = Buffer.concat(parts)
  out.writeUInt16BE(msg.readUInt16BE(10) - opts.length, 10)
  return out
}

/** The OPT we add for a client that sent one: its DO bit, our payload size. */
const OPT_PLAIN = opt(false, 0)
const OPT_DO = opt(true, 0)

/** Bytes to leave at the end of the upstream's message for our OPT. */
function optRoom(req: ForwardRequest): number {
  return req.ednsSize > 0 ? OPT_PLAIN.length : 0
}

/**
 * Our answer to the client, written over `out`: a copy of the upstream's message (OPT removed) with
 * optRoom(req) bytes at its end. Its ID, question and RD/CD; RA set, AA clear; our OPT when it sent one.
 */
function toClient(out: Buffer, req: ForwardRequest): Buffer {
  out.writeUInt16BE(req.id, 0)
  // QR, opcode QUERY, AA clear (we are not authoritative for it), TC clear, the client's RD.
  out[2] = 0x80 | (req.rd ? 0x01 : 0)
  // RA; AD only for a client that asked for DNSSEC data (RFC 6840 5.8); the client's CD; the upstream's rcode.
  out[3] = 0x80 | (req.ednsDo ? (out[3] as number) & 0x20 : 0) | (req.cd ? 0x10 : 0) | ((out[3] as number) & 0x0f)
  req.question.copy(out, 12) // the same name up to case: the client's 0x20 comes back
  if (req.ednsSize === 0) return out
  const ours = req.ednsDo ? OPT_DO : OPT_PLAIN
  ours.copy(out, out.length - ours.length)
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10)
  return out
}

function failure(req: ForwardRequest, rcode: number): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(req.id, 0)
  head[2] = 0x80 | (req.rd ? 0x01 : 0)
  head[3] = 0x80 | (req.cd ? 0x10 : 0) | rcode
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(req.ednsSize > 0 ? 1 : 0, 10)
  return Buffer.concat(req.ednsSize > 0 ? [head, req.question, opt(req.ednsDo, 0)] : [head, req.question])
}

/** Cuts an answer to the client's UDP limit: over it, the TC-only reply (header, question, OPT). */
export function fitUdp(msg: Buffer, req: ForwardRequest, limit: number): Buffer {
  if (msg.length <= limit) return msg
  const qend = 12 + req.question.length
  const head = Buffer.from(msg.subarray(0, qend))
  head[2] = (head[2] as number) | 0x02
  head.writeUInt32BE(0, 6)
  head.writeUInt16BE(req.ednsSize > 0 ? 1 : 0, 10)
  return req.ednsSize > 0 ? Buffer.concat([head, opt(req.ednsDo, 0)]) : head
}
