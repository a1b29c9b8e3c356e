/**
 * @module dns/stats
 * Counters the transports bump per query: plain numbers in preallocated arrays, turned into metrics text only
 * when scraped (http/metrics.ts), so counting costs a few increments.
 */
import { newHistogram, observe } from '../histogram.ts'
import type { Histogram } from '../histogram.ts'

export type DropReason = 'malformed' | 'internal_error'

/** qtypes with their own label; every other one counts as "other" (bounded label values). */
export const COUNTED_QTYPES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY',
}
const OTHER = 256
/** qtype → its counter index (OTHER for every qtype without a label): one typed-array read per query. */
const QTYPE_INDEX = new Uint16Array(65536).fill(OTHER)
for (const code of Object.keys(COUNTED_QTYPES)) QTYPE_INDEX[Number(code)] = Number(code)

/** Upper bounds (seconds) of the answer latency histogram. */
export const LATENCY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1] as const

export class DnsStats {
  queriesUdp = 0
  queriesTcp = 0
  truncated = 0
  /** TCP connections we closed, by why (dns/tcp-pool.ts): to make room at the cap, one source over its share, idle. */
  readonly tcpClosed = { idle_at_cap: 0, per_source_cap: 0, idle_timeout: 0 }
  /** Times the connection count passed the high-water mark and idle timeouts were shortened. */
  tcpPressure = 0
  readonly dropped: Record<DropReason, number> = { malformed: 0, internal_error: 0 }
  /** What DNS cookies did, by CookieResult (dns/cookies.ts): [0] unused, then issued, proven, badcookie, tc, malformed. */
  readonly cookies = new Float64Array(6)
  /** Rate limiting: responses dropped, slipped (sent as an empty TC reply), and only logged (log-only mode). */
  readonly rrl = new Float64Array(3)
  /** Responses by rcode (0-15). */
  readonly responses = new Float64Array(16)
  /** Queries by qtype (index = qtype, 256 = other), [0] UDP and [1] TCP. */
  readonly qtypes = [new Float64Array(OTHER + 1), new Float64Array(OTHER + 1)] as const
  /** Answer latency (receipt to send) of authoritative answers. */
  readonly latency: Histogram = newHistogram(LATENCY_BUCKETS)

  response(head: Buffer): void {
    const rcode = (head[3] as number) & 0x0f
    this.responses[rcode] = (this.responses[rcode] as number) + 1
    if (((head[2] as number) & 0x02) !== 0) this.truncated++
  }

  /** A response rate limiting caught: RRL_DROP (1) or RRL_SLIP (2) of dns/rrl.ts, or logged only. */
  limited(verdict: number, logOnly: boolean): void {
    const i = logOnly ? 2 : verdict === 1 ? 0 : 1
    this.rrl[i] = (this.rrl[i] as number) + 1
  }

  cookie(result: number): void {
    if (result > 0 && result < 6) this.cookies[result] = (this.cookies[result] as number) + 1
  }

  qtype(tcp: boolean, qtype: number): void {
    const i = QTYPE_INDEX[qtype] as number
    const arr = this.qtypes[tcp ? 1 : 0]
    arr[i] = (arr[i] as number) + 1
  }

  observe(seconds: number): void {
    observe(this.latency, LATENCY_BUCKETS, seconds)
  }
}
