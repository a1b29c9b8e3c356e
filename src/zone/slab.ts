/**
 * @module zone/slab
 * Memory for answer-table entries, which live as long as the zone keeps their name unchanged. From Node's
 * shared 8 KiB pool they shared slabs with short-lived Buffers, whose dead space the slab then kept
 * (measured: ~35 B per name at 100k names); these slabs hold entries only.
 */

/** Small like Node's pool: a slab lives while any entry in it does, so one long-lived entry keeps 8 KiB. */
const SLAB_BYTES = 8 * 1024
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
let used = 0

/** `size` zeroed bytes for an entry. */
export function slabAlloc(size: number): Buffer {
  if (size > SLAB_BYTES / 4) return Buffer.alloc(size)
  if (used + size > SLAB_BYTES) { slab = Buffer.allocUnsafeSlow(SLAB_BYTES); used = 0 }
  const out = slab.subarray(used, used + size).fill(0)
  used += size
  return out
}
