/**
 * @module types/siphash
 * siphash.js (jedisct1/siphash-js) ships no types: the part dns/cookies.ts uses.
 */
declare module 'siphash' {
  /** SipHash-2-4 of `message` under `key` (four little-endian 32-bit words): the 64-bit result as high and low halves. */
  export function hash(key: readonly number[], message: Uint8Array | string): { h: number; l: number }
  const siphash: { hash: typeof hash }
  export default siphash
}
