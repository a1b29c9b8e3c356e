/**
 * @module dns/cookies
 * DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018: version 1, three reserved
 * octets, a 32-bit timestamp, and SipHash-2-4 over the client cookie, those eight octets and the client's
 * address, keyed with a 16-octet secret. A client cookie gets ours; a server cookie of ours made within the
 * hour (five minutes ahead allowed), with the current secret or the previous one, proves the client's
 * address. One under half an hour old is handed back as it came, an older one is renewed. Called from
 * answer.ts only for a query that carries the option; never throws.
 */
import { randomBytes } from 'node:crypto'
import siphash from 'siphash'
import { addressBytes } from './peer.ts'

/** Bounded cache of cookies found valid: a resolver or two send most cookies; a flood just clears it. */
const CACHE_ENTRIES = 4096

export const OPTION_COOKIE = 10
/** BADCOOKIE = 23: 7 in the header, 1 in the OPT's extended-rcode byte (RFC 7873 8). */
export const RCODE_BADCOOKIE = 23
/** RFC 9018 4.3: a cookie older than this is not taken (s), one older than RENEW is replaced, one this far ahead is taken. */
const MAX_AGE = 3600
const RENEW_AGE = 1800
const MAX_AHEAD = 300

export type CookieMode = 'off' | 'on' | 'require'

/** What answer.ts did with a query's cookie (Reply.cookie; counted by the transports, as metrics label them). */
export const COOKIE_NONE = 0
export const COOKIE_ISSUED = 1
export const COOKIE_PROVEN = 2
export const COOKIE_BADCOOKIE = 3
export const COOKIE_TC = 4
export const COOKIE_MALFORMED = 5
export const COOKIE_RESULTS = ['', 'issued', 'proven', 'badcookie', 'tc', 'malformed'] as const

export interface CookieVerdict {
  /** The COOKIE option to put in the reply: the client cookie and our server cookie. */
  readonly option: Buffer
  /** The query carried a server cookie of ours, within its lifetime, for this address. */
  readonly valid: boolean
}

/** A 16-octet secret as siphash.js takes it: four little-endian 32-bit words. */
type Key = readonly [number, number, number, number]

function keyOf(secret: Buffer): Key {
  return [secret.readUInt32LE(0), secret.readUInt32LE(4), secret.readUInt32LE(8), secret.readUInt32LE(12)]
}

/**
 * The 16-octet server cookie for `client` (8 octets) from `ip` at `timestamp` (s, mod 2^32): version 1, the
 * reserved octets given (a client hands back whatever it got), the timestamp, then the hash.
 */
export function serverCookie(secret: Buffer, client: Uint8Array, ip: Uint8Array, timestamp: number, reserved: Uint8Array = new Uint8Array(3)): Buffer {
  const out = Buffer.alloc(16)
  writeServerCookie(out, 0, keyOf(secret), client, ip, timestamp, reserved)
  return out
}

/** The hash input, reused: client cookie, version, reserved, timestamp, then 4 or 16 octets of address. */
const input4 = Buffer.alloc(20)
const input16 = Buffer.alloc(32)

/** Writes the 16-octet server cookie at `out[o]` (serverCookie's work, without allocating). */
function writeServerCookie(out: Buffer, o: number, key: Key, client: Uint8Array, ip: Uint8Array, timestamp: number, reserved: Uint8Array): void {
  const input = ip.length === 4 ? input4 : input16
  input.set(client.subarray(0, 8), 0)
  input[8] = 1
  input.set(reserved.subarray(0, 3), 9)
  input.writeUInt32BE(timestamp >>> 0, 12)
  input.set(ip, 16)
  const h = siphash.hash(key, input)
  input.copy(out, o, 8, 16)
  // SipHash's 64-bit result, little-endian, as its reference code writes it.
  out.writeUInt32LE(h.l >>> 0, o + 8)
  out.writeUInt32LE(h.h >>> 0, o + 12)
}

const scratch = Buffer.alloc(16)
const NO_RESERVED = new Uint8Array(3)

/** Seconds from `timestamp` to `now`, both mod 2^32 (a cookie stamped before the wrap and read after it is not four billion seconds old). */
function age(timestamp: number, now: number): number {
  return ((now - timestamp) | 0)
}

export class Cookies {
  readonly mode: CookieMode
  #current: Buffer
  #previous: Buffer | null
  /** The secrets as siphash.js keys, worked out when they change. */
  #keys: Key[] = []
  readonly #now: () => number
  /**
   * Cookies found valid, by peer and cookie: when they stop being kept as they are (they are then checked
   * anew, and renewed). Forgotten whenever the secrets change.
   */
  readonly #valid = new Map<string, number>()

  constructor(mode: CookieMode, current: Buffer, previous: Buffer | null = null, now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.mode = mode
    this.#current = current
    this.#previous = previous
    this.#now = now
    this.#rekey()
  }

  #rekey(): void {
    this.#keys = [keyOf(this.#current), ...(this.#previous === null ? [] : [keyOf(this.#previous)])]
    this.#valid.clear()
  }

  get require(): boolean { return this.mode === 'require' }
  get secrets(): { current: Buffer; previous: Buffer | null } { return { current: this.#current, previous: this.#previous } }

  /** A new current secret; the one it replaces is still taken until the next rotation. */
  rotate(next: Buffer = randomBytes(16)): void {
    this.#previous = this.#current
    this.#current = next
    this.#rekey()
  }

  setSecrets(current: Buffer, previous: Buffer | null): void {
    this.#current = current
    this.#previous = previous
    this.#rekey()
  }

  /**
   * The COOKIE option at offset `p` of `req` from `peer`: null when it is malformed (RFC 7873 5.2.2: not 8
   * octets, nor 16 to 40; FORMERR), else the option to reply with and whether it proved the client.
   */
  answer(req: Buffer, p: number, peer: string): CookieVerdict | null {
    const len = req.readUInt16BE(p + 2)
    if (len !== 8 && (len < 16 || len > 40)) return null
    const client = req.subarray(p + 4, p + 12)
    const ip = addressBytes(peer)
    const now = this.#now()
    let valid = false
    let keep = false
    // Only our own format can be ours: 16 octets, version 1 (another server's cookie is simply replaced).
    if (ip !== null && len === 24 && req[p + 12] === 1) {
      const sent = req.subarray(p + 12, p + 28)
      const stamped = sent.readUInt32BE(4)
      const a = age(stamped, now)
      // A cookie found valid before, and still to be kept, needs no hash (most queries of a resolver).
      const id = peer + req.toString('latin1', p + 4, p + 28)
      const until = this.#valid.get(id)
      if (until !== undefined && age(until, now) < 0 && a >= -MAX_AHEAD) { valid = true; keep = true }
      else if (a <= MAX_AGE && a >= -MAX_AHEAD) {
        for (const key of this.#keys) {
          writeServerCookie(scratch, 0, key, client, ip, stamped, sent.subarray(1, 4))
          if (scratch.equals(sent)) { valid = true; keep = a < RENEW_AGE; break }
        }
        if (keep) {
          if (this.#valid.size >= CACHE_ENTRIES) this.#valid.clear()
          this.#valid.set(id, (stamped + RENEW_AGE) >>> 0)
        }
      }
    }
    const option = Buffer.allocUnsafe(4 + 8 + 16)
    option.writeUInt16BE(OPTION_COOKIE, 0)
    option.writeUInt16BE(24, 2)
    req.copy(option, 4, p + 4, p + 12)
    if (keep) req.copy(option, 12, p + 12, p + 28)
    else if (ip !== null) writeServerCookie(option, 12, this.#keys[0] as Key, client, ip, now, NO_RESERVED)
    else { option.writeUInt16BE(8, 2); return { option: option.subarray(0, 12), valid: false } }
    return { option, valid }
  }
}
