/**
 * @module zone/signer
 * What the zone core asks of DNSSEC, as a hook it is handed (src/dnssec/ implements it): the records a signed
 * zone adds at its apex, and the RRSIGs over an RRset. The store compiles its signed answers through this, so
 * the zone core never imports the keys or the crypto.
 */
import type { Name, Rec } from './types.ts'

export interface ZoneSigner {
  /** DNSKEY, CDS and CDNSKEY at the apex of zone `apex`: served with or without DO, and transferred. */
  apexRecords(apex: Name): readonly Rec[]
  /** The RRSIGs over one RRset of zone `apex`, `ttl` as served (one per active key; none when no key signs now). */
  sign(apex: Name, rrset: readonly Rec[], ttl: number): readonly Rec[]
}
