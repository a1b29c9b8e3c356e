/**
 * @module zone/name-table
 * A hash table from lowercase wire names to answer-table entries, keys and entries both kept as bytes in
 * one arena Buffer, so a lookup reads a slot and then one record: no string is built per query, and no
 * object is followed. A Map of strings to a Buffer per name cost ~280 B per name and five pointer hops
 * (bench/README.md); this costs the bytes themselves, ~20 B of slots per name, and one or two cache misses.
 *
 * Arena record: u8 key length, the key, u32 entry length, the entry. Records are never edited in place:
 * a changed name gets a new record, so bytes a socket still holds stay as they were. When dead records
 * outweigh live ones the arena is rebuilt into a new Buffer (old views keep the old one alive).
 */

/** FNV-1a over bytes: the hot path folds it in while it lowercases the name. */
export const FNV_OFFSET = 0x811c9dc5
export const fnvStep = (h: number, byte: number): number => Math.imul(h ^ byte, 0x01000193) >>> 0

export function hashOf(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET
  for (let i = start; i < end; i++) h = fnvStep(h, buf[i] as number)
  return h
}

const EMPTY = 0
/** A deleted slot: probing goes on past it, inserts may reuse it. */
const DELETED = 0xffffffff
const MIN_SLOTS = 64

export class NameTable {
  /** The records; read by the hot path, replaced (not edited) when it grows or is rebuilt. */
  arena: Buffer = Buffer.allocUnsafeSlow(4096)
  #used = 0
  #dead = 0
  /** Pairs [hash, record offset + 1]; 0 = empty. Open addressing, linear probing, at most half full. */
  #slots = new Uint32Array(MIN_SLOTS * 2)
  #count = 0
  #deleted = 0

  get size(): number { return this.#count }
  /** Arena bytes holding records, live or dead (the arena's pages past them are never touched). */
  get bytesUsed(): number { return this.#used }

  /**
   * The arena offset of the entry for the key in `key[start, end)` with hash `h`, or -1. The hot path's
   * lookup: no allocation.
   */
  find(key: Uint8Array, start: number, end: number, h: number): number {
    const i = this.#slotOf(key, start, end, h)
    if (i < 0) return -1
    const at = (this.#slots[2 * i + 1] as number) - 1
    return at + 1 + (this.arena[at] as number) + 4
  }

  /** The slot holding the key in `key[start, end)` with hash `h`, or -1: the one probe loop. */
  #slotOf(key: Uint8Array, start: number, end: number, h: number): number {
    const slots = this.#slots
    const mask = (slots.length >> 1) - 1
    const arena = this.arena
    const len = end - start
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const ref = slots[2 * i + 1] as number
      if (ref === EMPTY) return -1
      if (ref === DELETED || slots[2 * i] !== h) continue
      const at = ref - 1
      if (arena[at] !== len) continue
      let k = 0
      while (k < len && arena[at + 1 + k] === key[start + k]) k++
      if (k === len) return i
    }
  }

  /** The entry for a wire key given as a latin1 string (off the hot path), as a view; undefined if none. */
  get(wire: string): Buffer | undefined {
    const key = Buffer.from(wire, 'latin1')
    const at = this.find(key, 0, key.length, hashOf(key, 0, key.length))
    return at < 0 ? undefined : this.#entryAt(at)
  }

  has(wire: string): boolean {
    return this.get(wire) !== undefined
  }

  set(wire: string, entry: Uint8Array): void {
    const key = Buffer.from(wire, 'latin1')
    if (key.length > 255) throw new RangeError('wire name longer than 255 bytes')
    const h = hashOf(key, 0, key.length)
    this.#unlink(key, h)
    if ((this.#count + this.#deleted + 1) * 2 > this.#slots.length >> 1) this.#rehash(this.#count + 1)
    const at = this.#append(key, entry)
    this.#insertSlot(h, at)
    this.#count++
  }

  delete(wire: string): boolean {
    const key = Buffer.from(wire, 'latin1')
    return this.#unlink(key, hashOf(key, 0, key.length))
  }

  clear(): void {
    this.arena = Buffer.allocUnsafeSlow(4096)
    this.#used = 0
    this.#dead = 0
    this.#slots = new Uint32Array(MIN_SLOTS * 2)
    this.#count = 0
    this.#deleted = 0
  }

  /** Every [wire key, entry view]. */
  *entries(): IterableIterator<[string, Buffer]> {
    const slots = this.#slots
    for (let i = 1; i < slots.length; i += 2) {
      const ref = slots[i] as number
      if (ref === EMPTY || ref === DELETED) continue
      const at = ref - 1
      const len = this.arena[at] as number
      yield [this.arena.toString('latin1', at + 1, at + 1 + len), this.#entryAt(at + 1 + len + 4)]
    }
  }

  #entryAt(at: number): Buffer {
    return this.arena.subarray(at, at + this.arena.readUInt32BE(at - 4))
  }

  /** Removes the key's slot (its record turns dead); true when there was one. */
  #unlink(key: Uint8Array, h: number): boolean {
    const i = this.#slotOf(key, 0, key.length, h)
    if (i < 0) return false
    const at = (this.#slots[2 * i + 1] as number) - 1
    const len = this.arena[at] as number
    this.#slots[2 * i + 1] = DELETED
    this.#deleted++
    this.#count--
    this.#dead += 1 + len + 4 + this.arena.readUInt32BE(at + 1 + len)
    return true
  }

  #append(key: Uint8Array, entry: Uint8Array): number {
    const need = 1 + key.length + 4 + entry.length
    if (this.#used + need > this.arena.length) this.#compact(need)
    const arena = this.arena
    const at = this.#used
    arena[at] = key.length
    arena.set(key, at + 1)
    arena.writeUInt32BE(entry.length, at + 1 + key.length)
    arena.set(entry, at + 1 + key.length + 4)
    this.#used += need
    return at
  }

  #insertSlot(h: number, at: number): void {
    const slots = this.#slots
    const mask = (slots.length >> 1) - 1
    let i = h & mask
    while (slots[2 * i + 1] !== EMPTY && slots[2 * i + 1] !== DELETED) i = (i + 1) & mask
    if (slots[2 * i + 1] === DELETED) this.#deleted--
    slots[2 * i] = h
    slots[2 * i + 1] = at + 1
  }

  /** Room for `need` more bytes: a new arena with the live records only, grown when they fill half of it. */
  #compact(need: number): void {
    const live = this.#used - this.#dead
    let size = this.arena.length
    while (live + need > size / 2) size *= 2
    const old = this.arena
    const next = Buffer.allocUnsafeSlow(size)
    const slots = this.#slots
    let used = 0
    for (let i = 1; i < slots.length; i += 2) {
      const ref = slots[i] as number
      if (ref === EMPTY || ref === DELETED) continue
      const at = ref - 1
      const len = 1 + (old[at] as number) + 4 + old.readUInt32BE(at + 1 + (old[at] as number))
      old.copy(next, used, at, at + len)
      slots[i] = used + 1
      used += len
    }
    this.arena = next
    this.#used = used
    this.#dead = 0
  }

  /** Slots for `count` names and a quarter more (room for deleted marks) at most half full. */
  #rehash(count: number): void {
    let cap = MIN_SLOTS
    while ((count + (count >> 2)) * 2 > cap) cap *= 2
    const old = this.#slots
    this.#slots = new Uint32Array(cap * 2)
    this.#deleted = 0
    for (let i = 0; i < old.length; i += 2) {
      const ref = old[i + 1] as number
      if (ref !== EMPTY && ref !== DELETED) this.#insertSlot(old[i] as number, ref - 1)
    }
  }
}
