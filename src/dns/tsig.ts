/**
 * @module dns/tsig
 * TSIG (RFC 8945): verifying a signed message against a keyring, signing responses (every message of a
 * transfer, each chained to the MAC before it, §5.3.1), and signing requests (NOTIFY). HMAC-MD5, SHA-1,
 * SHA-224, SHA-256, SHA-384 and SHA-512 (§6), by the names the RFC gives them; keys are written as
 * `keymgr -t` prints them (`[<algorithm>:]<name>:<base64 secret>`), so its comment line pastes as it is.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { writeName } from '../zone/name.ts'
import type { Name } from '../zone/types.ts'
import { readMessage, readName } from './wire.ts'

/** The algorithms of RFC 8945 §6 that must or may be implemented, by their names on the wire. */
export const TSIG_ALGORITHMS = {
  'hmac-md5.sig-alg.reg.int': 'md5',
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
} as const
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS

export interface TsigKey {
  readonly name: Name
  readonly secret: Buffer
  /** Absent: hmac-sha256. */
  readonly algorithm?: TsigAlgorithm
}

/** Keys by name (lowercase, no trailing dot): one name, one key (RFC 8945 §4.2). */
export type TsigKeyring = ReadonlyMap<Name, TsigKey>

export const TSIG_TYPE = 250
const CLASS_ANY = 255
export const ALGORITHM: TsigAlgorithm = 'hmac-sha256'
export const FUDGE = 300
export const BADSIG = 16
export const BADKEY = 17
export const BADTIME = 18
/** The least secret a key may have (octets): shorter ones are guessable (the shortest output, MD5's, is 16). */
export const MIN_SECRET = 16

export interface TsigRecord {
  readonly keyName: Name
  readonly algorithm: Name
  readonly timeSigned: number
  readonly fudge: number
  readonly mac: Buffer
  readonly originalId: number
  readonly error: number
  readonly other: Buffer
  /** Offset where the TSIG record starts: the message without it is `msg.subarray(0, start)`. */
  readonly start: number
}

const algorithmOf = (key: TsigKey): TsigAlgorithm => key.algorithm ?? ALGORITHM

/** The TSIG record of a message (it must be the last one, RFC 8945 5.1), null if none, 'malformed' if broken. */
export function findTsig(msg: Buffer): TsigRecord | null | 'malformed' {
  const view = readMessage(msg)
  if (view === null) return 'malformed'
  const last = view.records.at(-1)
  if (last === undefined || last.type !== TSIG_TYPE) {
    return view.records.some((r) => r.type === TSIG_TYPE) ? 'malformed' : null
  }
  if (last.section !== 2) return 'malformed'
  const owner = readName(msg, last.start)
  const alg = readName(msg, last.rdataOffset)
  if (owner === null || alg === null) return 'malformed'
  let o = alg.end
  const end = last.rdataOffset + last.rdataLength
  if (o + 10 > end) return 'malformed'
  const timeSigned = msg.readUIntBE(o, 6)
  const fudge = msg.readUInt16BE(o + 6)
  const macSize = msg.readUInt16BE(o + 8)
  o += 10
  if (o + macSize + 6 > end) return 'malformed'
  const mac = Buffer.from(msg.subarray(o, o + macSize))
  o += macSize
  const originalId = msg.readUInt16BE(o)
  const error = msg.readUInt16BE(o + 2)
  const otherLen = msg.readUInt16BE(o + 4)
  o += 6
  if (o + otherLen !== end) return 'malformed'
  return { keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other: Buffer.from(msg.subarray(o, end)), start: last.start }
}

function wire(name: Name): Buffer {
  const b = Buffer.alloc(name === '' ? 1 : name.length + 2)
  writeName(name, b, 0)
  return b
}

function u48(v: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeUIntBE(v, 0, 6)
  return b
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(v)
  return b
}

/** The TSIG variables that follow the message in the MAC input (RFC 8945 4.3.3), or the timers alone. */
function variables(key: TsigKey, time: number, error: number, other: Buffer, timersOnly: boolean): Buffer {
  if (timersOnly) return Buffer.concat([u48(time), u16(FUDGE)])
  return Buffer.concat([wire(key.name), u16(CLASS_ANY), Buffer.alloc(4), wire(algorithmOf(key)), u48(time), u16(FUDGE), u16(error), u16(other.length), other])
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[algorithmOf(key)], key.secret)
  for (const p of parts) h.update(p)
  return h.digest()
}

export type Verified =
  | { readonly ok: true; readonly tsig: TsigRecord; readonly key: TsigKey }
  | { readonly ok: false; readonly error: number; readonly tsig: TsigRecord | null; readonly key: TsigKey | null }

/**
 * Verifies a signed message (RFC 8945 5.2) against one key or a keyring: BADKEY for a key name or algorithm
 * we do not have, BADSIG for a wrong MAC, BADTIME outside the fudge (checked after the MAC, §5.2.3).
 */
export function verifyRequest(msg: Buffer, keys: TsigKey | TsigKeyring, nowSeconds: number): Verified {
  const tsig = findTsig(msg)
  if (tsig === null || tsig === 'malformed') return { ok: false, error: BADSIG, tsig: null, key: null }
  const key = keys instanceof Map ? keys.get(tsig.keyName) : (keys as TsigKey).name === tsig.keyName ? keys as TsigKey : undefined
  // The algorithm's name on the wire, compared without its case (readName folds it).
  if (key === undefined || tsig.algorithm !== algorithmOf(key)) return { ok: false, error: BADKEY, tsig, key: null }
  // The message as signed: without the TSIG record, ARCOUNT one less, the original ID.
  const unsigned = Buffer.from(msg.subarray(0, tsig.start))
  unsigned.writeUInt16BE(tsig.originalId, 0)
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10)
  const expected = hmac(key, [unsigned, variables(key, tsig.timeSigned, tsig.error, tsig.other, false)])
  if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) return { ok: false, error: BADSIG, tsig, key }
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return { ok: false, error: BADTIME, tsig, key }
  return { ok: true, tsig, key }
}

export interface SignOptions {
  /** The request's MAC (first response) or the previous message's MAC (later ones); none for a request. */
  readonly priorMac?: Buffer
  /** Later messages of a multi-message response sign the timers only (RFC 8945 5.3.1). */
  readonly timersOnly?: boolean
  readonly error?: number
  readonly time: number
}

/** Appends a TSIG record to `msg` (a complete message without one); returns the signed message and its MAC. */
export function sign(msg: Buffer, key: TsigKey, o: SignOptions): { msg: Buffer; mac: Buffer } {
  const error = o.error ?? 0
  const other = error === BADTIME ? u48(o.time) : Buffer.alloc(0)
  const prior = o.priorMac === undefined ? [] : [u16(o.priorMac.length), o.priorMac]
  // A response to a request that failed with BADSIG or BADKEY carries no MAC (RFC 8945 5.3.2).
  const mac = error === BADSIG || error === BADKEY ? Buffer.alloc(0)
    : hmac(key, [...prior, msg, variables(key, o.time, error, other, o.timersOnly === true)])
  const rdata = Buffer.concat([wire(algorithmOf(key)), u48(o.time), u16(FUDGE), u16(mac.length), mac, u16(msg.readUInt16BE(0)), u16(error), u16(other.length), other])
  const rr = Buffer.concat([wire(key.name), u16(TSIG_TYPE), u16(CLASS_ANY), Buffer.alloc(4), u16(rdata.length), rdata])
  const out = Buffer.concat([msg, rr])
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10)
  return { msg: out, mac }
}

/** The algorithm a setting names: `hmac-sha256`, `sha256`, `HMAC-SHA256.`, `hmac-md5` (for hmac-md5.sig-alg.reg.int). */
export function tsigAlgorithm(text: string): TsigAlgorithm | null {
  const t = text.toLowerCase().replace(/\.$/, '').replace(/^(?!hmac-)/, 'hmac-')
  if (t === 'hmac-md5') return 'hmac-md5.sig-alg.reg.int'
  return t in TSIG_ALGORITHMS ? t as TsigAlgorithm : null
}

const KEY_EXAMPLE = 'hmac-sha256:acme-key:<32 octets in base64, e.g. from: keymgr -t acme-key>'

/** `[<algorithm>:]<name>:<base64 secret>` (INCUS_DNS_TSIG_KEY, each of INCUS_DNS_UPDATE_KEYS); the secret never in a message. */
export function parseTsigKey(raw: string): TsigKey {
  const parts = raw.trim().split(':')
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new Error(`'${(parts[0] ?? '').slice(0, 40)}${parts.length > 1 ? ':...' : ''}' is not name:secret or <algorithm>:name:secret, e.g. ${KEY_EXAMPLE}`)
  }
  const [algText, name, secretText] = parts.length === 3 ? parts as [string, string, string] : ['hmac-sha256', parts[0] as string, parts[1] as string]
  const algorithm = tsigAlgorithm(algText)
  if (algorithm === null) throw new Error(`key '${name}': '${algText}' is not one of ${Object.keys(TSIG_ALGORITHMS).map((a) => a.replace('.sig-alg.reg.int', '')).join(', ')}`)
  if (!/^[A-Za-z0-9+/]+=*$/.test(secretText)) throw new Error(`key '${name}': the secret after the last colon is not base64`)
  const secret = Buffer.from(secretText, 'base64')
  if (secret.length < MIN_SECRET) throw new Error(`key '${name}': the secret is ${secret.length} octets, fewer than ${MIN_SECRET}; make one with: keymgr -t ${name} ${algorithm.replace('.sig-alg.reg.int', '')}`)
  return { name: name.toLowerCase().replace(/\.$/, ''), secret, algorithm }
}

/** Several keys, comma-separated (INCUS_DNS_UPDATE_KEYS); a name twice is refused. */
export function parseTsigKeys(raw: string): TsigKey[] {
  const keys = raw.split(',').map((k) => k.trim()).filter((k) => k !== '').map(parseTsigKey)
  const seen = new Set<Name>()
  for (const k of keys) {
    if (seen.has(k.name)) throw new Error(`names key '${k.name}' twice; one name, one key`)
    seen.add(k.name)
  }
  return keys
}
