/**
 * @module dns/stats
 * Counters the transports bump per query: plain numbers, turned into metrics text only when scraped,
 * so counting costs an increment.
 */
export type DropReason = 'malformed' | 'internal_error'

export class DnsStats {
  queriesUdp = 0
  queriesTcp = 0
  truncated = 0
  /** TCP connections closed at once because `maxConnections` were open. */
  tcpRefused = 0
  readonly dropped: Record<DropReason, number> = { malformed: 0, internal_error: 0 }
  /** Responses by rcode (0-15). */
  readonly responses = new Float64Array(16)

  response(head: Buffer): void {
    const rcode = (head[3] as number) & 0x0f
    this.responses[rcode] = (this.responses[rcode] as number) + 1
    if (((head[2] as number) & 0x02) !== 0) this.truncated++
  }
}
