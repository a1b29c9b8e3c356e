/**
 * @module zone/writer
 * Builds the wire form of records when the zone changes (never per query). Names are compressed
 * (RFC 1035 4.1.4) against a dictionary of names already in the message, keyed by absolute offset, so a
 * body compiled for one owner can point at the question name at offset 12 whatever letter case the
 * client used.
 */
import { ZoneDataError } from '../errors.ts'
import { ipv4Bytes, ipv6Bytes } from '../address.ts'
import { typeCode } from './types.ts'
import type { Name, Rec } from './types.ts'

const CLASS_IN = 1

/**
 * One scratch buffer shared by all writers (compiles run one at a time): per-writer `allocUnsafe` slices
 * came from Node's 8 KiB pool, and the finished bodies kept those pool slabs alive with the dead scratch
 * space in them (measured: ~700 B of ArrayBuffer per name at 100k names).
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024)

export class WireWriter {
  #buf: Buffer
  readonly #own: boolean
  #len = 0
  readonly #base: number
  readonly #dict: Map<Name, number> | null

  /**
   * @param base absolute offset in the final message at which these bytes will sit
   * @param dict names already written before `base` (suffix → offset), or null to write every name in
   *   full: for bodies shared by queries of different names, whose offsets are not known in advance
   * @param own a buffer of its own instead of the shared scratch: for a writer used while another writes (a
   *   signature's canonical rdata, made in the middle of compiling a body)
   */
  constructor(base: number, dict: Map<Name, number> | null, own = false) {
    this.#base = base
    this.#dict = dict
    this.#own = own
    this.#buf = own ? Buffer.allocUnsafe(512) : scratch
  }

  get length(): number { return this.#len }

  /** Drops what was written after `length` (a record that did not fit), and the names it added for compression. */
  truncate(length: number): void {
    this.#len = length
    if (this.#dict === null) return
    for (const [name, at] of this.#dict) if (at >= this.#base + length) this.#dict.delete(name)
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    const next = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#len + n))
    this.#buf.copy(next, 0, 0, this.#len)
    this.#buf = next
    if (!this.#own) scratch = next
  }

  u8(v: number): void { this.#room(1); this.#buf[this.#len++] = v }
  u16(v: number): void { this.#room(2); this.#buf.writeUInt16BE(v, this.#len); this.#len += 2 }
  u32(v: number): void { this.#room(4); this.#buf.writeUInt32BE(v >>> 0, this.#len); this.#len += 4 }
  bytes(b: Uint8Array): void { this.#room(b.length); this.#buf.set(b, this.#len); this.#len += b.length }

  /** Writes `name`, compressed when `compress` and a dictionary exist (RFC 3597 4: only for RFC 1035 types). */
  name(name: Name, compress: boolean): void {
    let rest = name
    while (rest !== '') {
      const known = compress && this.#dict !== null ? this.#dict.get(rest) : undefined
      if (known !== undefined) { this.u16(0xc000 | known); return }
      const here = this.#base + this.#len
      if (this.#dict !== null && here < 0x3fff && !this.#dict.has(rest)) this.#dict.set(rest, here)
      const dot = rest.indexOf('.')
      const label = dot < 0 ? rest : rest.slice(0, dot)
      this.#room(label.length + 1)
      this.#buf[this.#len++] = label.length
      this.#len += this.#buf.write(label, this.#len, 'latin1')
      rest = dot < 0 ? '' : rest.slice(dot + 1)
    }
    this.u8(0)
  }

  /** One resource record. `ownerPointer` writes the owner as a pointer to that offset instead of by name. */
  record(rec: Rec, ttl: number, ownerPointer: number | null): void {
    if (ownerPointer !== null) this.u16(0xc000 | ownerPointer)
    else this.name(rec.name, true)
    this.u16(typeCode(rec.data.type))
    this.u16(CLASS_IN)
    this.u32(ttl)
    const lengthAt = this.#len
    this.u16(0)
    this.rdata(rec)
    this.#buf.writeUInt16BE(this.#len - lengthAt - 2, lengthAt)
  }

  rdata(rec: Rec): void {
    const d = rec.data
    switch (d.type) {
      case 'A': this.bytes(ipv4Bytes(d.address)); break
      case 'AAAA': this.bytes(ipv6Bytes(d.address)); break
      case 'CNAME': case 'NS': case 'PTR': this.name(d.target, true); break
      case 'MX': this.u16(d.preference); this.name(d.exchange, true); break
      case 'SRV': this.u16(d.priority); this.u16(d.weight); this.u16(d.port); this.name(d.target, false); break
      case 'TXT':
        for (const s of d.strings) {
          const b = Buffer.from(s, 'latin1') // one octet per character (file/parse.ts, update/message.ts)
          if (b.length > 255) throw new ZoneDataError(`TXT string of ${b.length} bytes at ${rec.name} (at most 255)`)
          this.u8(b.length); this.bytes(b)
        }
        break
      case 'SOA':
        this.name(d.mname, true); this.name(d.rname, true)
        this.u32(d.serial); this.u32(d.refresh); this.u32(d.retry); this.u32(d.expire); this.u32(d.minimum)
        break
      default: this.bytes(Buffer.from(d.hex, 'hex')) // names inside are written whole (RFC 3597 4)
    }
  }

  /** A copy of the bytes written, sized exactly, in memory of its own (not the shared scratch). */
  finish(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len))
  }
}

