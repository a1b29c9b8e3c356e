/**
 * @module zone/table
 * The compiled form the hot path reads: wire-format answers per (name, qtype), prepared when the zone
 * changes. A published entry is never edited; a change swaps in a new one, so a Buffer handed to a socket
 * stays valid however long the kernel holds on to it.
 */

/** The zone's negative-answer SOA record (RFC 2308 3), owner written in full. Swapped on every serial bump. */
export interface ZoneNegative {
  soa: Buffer
}

export interface Compiled {
  /** Bits for header byte 2 (AA = 0x04). */
  readonly flags: number
  readonly rcode: number
  readonly an: number
  readonly ns: number
  readonly ar: number
  /** Answer (and additional) records after the question; names compressed against the question at offset 12. */
  readonly body: Buffer
  /** `body` without the additional section, for when the whole answer does not fit (RFC 2181 9). */
  readonly bodyNoAdditional: Buffer
  /** Set on negative answers: its SOA goes into the authority section (counted in `ns`). */
  readonly negative: ZoneNegative | null
  /** For an answered RRset of several records: `body` with the set rotated by 1, 2, ... (round-robin). */
  readonly rotations: readonly Buffer[] | null
}

export const AA = 0x04
export const RCODE_NOERROR = 0
export const RCODE_NXDOMAIN = 3
const EMPTY = Buffer.alloc(0)

/** Every Compiled comes from here, so all have one shape (one hidden class for the hot path). */
export function compiled(
  rcode: number, an: number, ar: number, body: Buffer, answerBytes: number, negative: ZoneNegative | null,
  rotations: readonly Buffer[] | null = null,
): Compiled {
  return {
    flags: AA,
    rcode,
    an,
    ns: negative === null ? 0 : 1,
    ar,
    body,
    bodyNoAdditional: ar === 0 ? body : body.subarray(0, answerBytes),
    negative,
    rotations,
  }
}

export function negativeAnswer(rcode: number, negative: ZoneNegative): Compiled {
  return compiled(rcode, 0, 0, EMPTY, 0, negative)
}

/** Appends the two qtype bytes to a wire name key. */
export function typeKey(wireName: string, qtype: number): string {
  return wireName + String.fromCharCode(qtype >> 8, qtype & 0xff)
}

export class AnswerTable {
  /** lowercase wire qname + 2-byte qtype → answer. */
  readonly answers = new Map<string, Compiled>()
  /** lowercase wire name of every existing name (and empty non-terminal) → answer for qtypes it has no entry for. */
  readonly others = new Map<string, Compiled>()
  /** lowercase wire apex → NXDOMAIN answer for names below it that do not exist. */
  readonly apexes = new Map<string, Compiled>()
}
