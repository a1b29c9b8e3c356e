/**
 * @module dns/reply
 * What the hot path fills and the transports send: the Reply (head + body + auth + opt), the outcomes of
 * answering, and the server's identity (NSID, CHAOS TXT) a Reply carries. Its own module, so that answer.ts
 * and the rarer answers beside it (dname.ts, identity.ts) all import it and none imports another back.
 */
import { EMPTY } from './bytes.ts'
import { COOKIE_NONE } from './cookies.ts'
import type { Cookies } from './cookies.ts'

export const DROP = 0
export const SEND = 1
/** Not in our zones: `out` holds a REFUSED reply; a forwarder may answer instead. */
export const FORWARD = 2
/**
 * For the main thread's handoff hook: an AXFR or IXFR, an UPDATE, or a TSIG-signed query. `req` is left
 * untouched (TSIG signs it as sent); call `refuse()` unless the hook answers.
 */
export const HANDOFF = 3
export type Outcome = typeof DROP | typeof SEND | typeof FORWARD | typeof HANDOFF

/** Prepared once from the identity setting. */
export interface Identity {
  /** What it was made from (worker threads make their own from these). */
  readonly id: string
  readonly version: string
  /** The OPT record carrying NSID, without and with DO. */
  readonly opt: Buffer
  readonly optDo: Buffer
  /**
   * CHAOS TXT answers by lowercase wire qname (latin1), as answer.ts folds the question: the TXT record after
   * the question, owner a pointer.
   */
  readonly chaos: ReadonlyMap<string, Buffer>
}

/**
 * Filled by `answer()`: the reply is head + body + auth + opt. Reused across queries; its Buffers are not.
 * `identity` is the server's (NSID, CHAOS TXT), fixed for the transport that owns this Reply.
 */
export class Reply {
  readonly identity: Identity | null
  /** DNS cookies (dns/cookies.ts), or null when off. */
  readonly cookies: Cookies | null
  constructor(identity: Identity | null = null, cookies: Cookies | null = null) { this.identity = identity; this.cookies = cookies }

  /** The client's address, set by the transport before each query (cookies are bound to it). */
  peer = ''
  /**
   * Set by answer() with HANDOFF: a query with DO for a name whose signed answer is made for the name asked (a
   * name that does not exist, a wildcard's or a DNAME's synthesis): dns/online-sign.ts answers it.
   */
  online = false
  /** Set by answer(): the query carried a valid server cookie of ours (its address is proven). */
  proven = false
  /** Set by answer(): what it did with the query's cookie (COOKIE_* of dns/cookies.ts), for the counters. */
  cookie = COOKIE_NONE
  head: Buffer = EMPTY
  body: Buffer = EMPTY
  auth: Buffer = EMPTY
  opt: Buffer = EMPTY
  /**
   * The question's type, and (on FORWARD) the lowercase wire qname + qtype key for a forwarder's cache, (on a
   * HANDOFF with `online`) the closest encloser's wire name, for response rate limiting.
   */
  qtype = 0
  key = ''
  /** Client's EDNS payload size (0 = no EDNS) and DO bit, for a forwarder to pass on. */
  ednsSize = 0
  ednsDo = false
}
