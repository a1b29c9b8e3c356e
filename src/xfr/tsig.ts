/**
 * @module xfr/tsig
 * TSIG (RFC 8945) with hmac-sha256: verifying a signed request, signing responses (every message of a
 * transfer, each chained to the MAC before it, §5.3.1) and signing NOTIFY. Only one key is configured.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readMessage, readName } from '../dns/wire.ts'
import { writeName } from '../zone/name.ts'
import type { Name } from '../zone/types.ts'

export interface TsigKey {
  readonly name: Name
  readonly secret: Buffer
}

export const TSIG_TYPE = 250
const CLASS_ANY = 255
export const ALGORITHM: Name = 'hmac-sha256'
export const FUDGE = 300
export const BADSIG = 16
export const BADKEY = 17
export const BADTIME = 18

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

/** The TSIG record of a message (it must be the last one, RFC 8945 5.1), null if none, 'malformed' if broken. */
export function findTsig(msg: Buffer): TsigRecord | null | 'malformed' {
  const view = readMessage(msg)
  if (view === null) return 'malformed'
  const last = view.records.at(-1)
  if (last === undefined || last.type !== TSIG_TYPE) {
    return view.records.some((r) => r.type === TSIG_TYPE) ? 'malformed' : null
  }
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
  return Buffer.concat([wire(key.name), u16(CLASS_ANY), Buffer.alloc(4), wire(ALGORITHM), u48(time), u16(FUDGE), u16(error), u16(other.length), other])
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const h = createHmac('sha256', key.secret)
  for (const p of parts) h.update(p)
  return h.digest()
}

export type Verified = { readonly ok: true; readonly tsig: TsigRecord } | { readonly ok: false; readonly error: number; readonly tsig: TsigRecord | null }

/** Verifies a signed request against `key` (RFC 8945 5.2). */
export function verifyRequest(msg: Buffer, key: TsigKey, nowSeconds: number): Verified {
  const tsig = findTsig(msg)
  if (tsig === null || tsig === 'malformed') return { ok: false, error: BADSIG, tsig: null }
  if (tsig.keyName !== key.name || tsig.algorithm !== ALGORITHM) return { ok: false, error: BADKEY, tsig }
  // The message as signed: without the TSIG record, ARCOUNT one less, the original ID.
  const unsigned = Buffer.from(msg.subarray(0, tsig.start))
  unsigned.writeUInt16BE(tsig.originalId, 0)
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10)
  const expected = hmac(key, [unsigned, variables(key, tsig.timeSigned, tsig.error, tsig.other, false)])
  if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) return { ok: false, error: BADSIG, tsig }
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return { ok: false, error: BADTIME, tsig }
  return { ok: true, tsig }
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
  const rdata = Buffer.concat([wire(ALGORITHM), u48(o.time), u16(FUDGE), u16(mac.length), mac, u16(msg.readUInt16BE(0)), u16(error), u16(other.length), other])
  const rr = Buffer.concat([wire(key.name), u16(TSIG_TYPE), u16(CLASS_ANY), Buffer.alloc(4), u16(rdata.length), rdata])
  const out = Buffer.concat([msg, rr])
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10)
  return { msg: out, mac }
}

/** `name:base64secret` (INCUS_DNS_TSIG_KEY). */
export function parseTsigKey(raw: string): TsigKey {
  const at = raw.lastIndexOf(':')
  if (at <= 0) throw new Error(`'${raw.replace(/:.*/, ':...')}' is not name:secret, e.g. transfer-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0Cg== (secret in base64, as tsig-keygen makes it)`)
  const secretText = raw.slice(at + 1)
  const secret = Buffer.from(secretText, 'base64')
  if (secret.length === 0 || !/^[A-Za-z0-9+/]+=*$/.test(secretText)) throw new Error('the secret after the colon is not base64')
  return { name: raw.slice(0, at).toLowerCase().replace(/\.$/, ''), secret }
}
