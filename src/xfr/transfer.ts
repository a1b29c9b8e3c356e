/**
 * @module xfr/transfer
 * AXFR (RFC 5936) and IXFR (RFC 1995) responses from the zone store: SOA first and last, records split over
 * messages of about 16 KiB (names compressed within each), IXFR as the journal's differences since the
 * client's serial, or the whole zone when the journal does not reach back that far.
 */
import type { JournalEntry, ZoneStore } from '../zone/store.ts'
import type { Name, Rec, SoaData } from '../zone/types.ts'
import { WireWriter } from '../zone/writer.ts'

const MESSAGE_BYTES = 16 * 1024
export const TYPE_IXFR = 251
export const TYPE_AXFR = 252

/** Serial arithmetic (RFC 1982): a < b. */
export function serialLess(a: number, b: number): boolean {
  return a !== b && ((a < b && b - a < 2 ** 31) || (a > b && a - b > 2 ** 31))
}

function withSerial(soa: Rec, serial: number): Rec {
  return { name: soa.name, ttl: soa.ttl, data: { ...(soa.data as SoaData & { type: 'SOA' }), serial } }
}

/** The records of the answer section, in order. */
export function transferRecords(store: ZoneStore, apex: Name, qtype: number, clientSerial: number | null): Rec[] | null {
  const soa = store.soa(apex)
  if (soa === undefined) return null
  const serial = (soa.data as SoaData).serial
  if (qtype === TYPE_IXFR && clientSerial !== null) {
    // Up to date (or ahead): only our SOA (RFC 1995 4).
    if (!serialLess(clientSerial, serial)) return [soa]
    const chain = journalFrom(store.journal(apex), clientSerial, serial)
    if (chain !== null) {
      const out: Rec[] = [soa]
      for (const e of chain) out.push(withSerial(soa, e.from), ...e.removed, withSerial(soa, e.to), ...e.added)
      out.push(soa)
      return out
    }
  }
  return [soa, ...store.zoneRecords(apex), soa]
}

/** The journal entries leading from `from` to `to` without a gap, or null. */
function journalFrom(journal: readonly JournalEntry[], from: number, to: number): JournalEntry[] | null {
  const start = journal.findIndex((e) => e.from === from)
  if (start < 0) return null
  const chain = journal.slice(start)
  for (let i = 1; i < chain.length; i++) if ((chain[i] as JournalEntry).from !== (chain[i - 1] as JournalEntry).to) return null
  return chain.at(-1)?.to === to ? chain : null
}

/**
 * Packs records into response messages: the first carries the question; each has QR, AA, the request's ID
 * and opcode. `question` is the wire question as the client sent it.
 */
export function packMessages(id: number, question: Buffer, records: readonly Rec[], tail: Buffer | null): Buffer[] {
  const messages: Buffer[] = []
  let i = 0
  do {
    const first = messages.length === 0
    const base = 12 + (first ? question.length : 0)
    const dict = new Map<Name, number>()
    const w = new WireWriter(base, dict)
    let count = 0
    while (i < records.length && (count === 0 || w.length < MESSAGE_BYTES)) {
      w.record(records[i] as Rec, (records[i] as Rec).ttl, null)
      i++
      count++
    }
    const head = Buffer.alloc(12)
    head.writeUInt16BE(id, 0)
    head[2] = 0x84 // QR, AA
    head.writeUInt16BE(first ? 1 : 0, 4)
    head.writeUInt16BE(count, 6)
    const parts = [head, ...(first ? [question] : []), w.finish()]
    if (tail !== null) { parts.push(tail); head.writeUInt16BE(1, 10) }
    messages.push(Buffer.concat(parts))
  } while (i < records.length)
  return messages
}
