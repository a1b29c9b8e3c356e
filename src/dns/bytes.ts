/**
 * @module dns/bytes
 * The hot path's byte readers, shared by answer.ts and dname.ts: plain indexing, no bounds checks beyond the
 * callers' own (each says which it has done), no allocation.
 */

export const EMPTY = Buffer.alloc(0)
export const at = (b: Buffer, i: number): number => b[i] as number
/** Big-endian u16 at i; callers have checked i + 1 < length (Buffer.readUInt16BE would check again). */
export const u16 = (b: Buffer, i: number): number => ((b[i] as number) << 8) | (b[i + 1] as number)
/** Big-endian u32 at i, in an entry of our own (always in bounds). */
export const u32 = (b: Buffer, i: number): number => (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
/** Buffer's own latin1 decoder without toString()'s encoding-name dispatch (measured: bench/README.md). */
export const latin1 = (b: Buffer, start: number, end: number): string =>
  (b as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end)

/** The request up to the end of its question: the request itself when nothing follows (no view to build). */
export const headOf = (req: Buffer, qend: number): Buffer => (qend === req.length ? req : req.subarray(0, qend))
