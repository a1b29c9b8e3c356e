/**
 * @module zone/file/rdata
 * Presentation form → RDATA bytes for the types the zone model keeps as bytes (zone/types.ts `OpaqueType`): CAA
 * (RFC 8659), SSHFP (4255), TLSA (6698), SVCB and HTTPS (9460), NAPTR (3403), HINFO and RP (1035, 1183), URI
 * (7553), LOC (1876), DS (4034), DNAME (6672), and the generic `\# length hex` form of RFC 3597 for these and
 * for any `TYPEnnn`. Names inside are written whole and lowercase (RFC 3597 4: no compression). No library
 * on npm covers these codecs for zone-file input with errors a user can act on (dns-packet has some types,
 * not SVCB's presentation form nor LOC), so they are small functions, tested against knotd's answers.
 */
import ipaddr from 'ipaddr.js'
import { wireKey } from '../name.ts'
import type { Name, OpaqueType } from '../types.ts'

/** What the zone-file parser hands over: a token's text, and whether it was quoted or held an escape. */
export interface RdataToken { readonly text: string; readonly quoted: boolean; readonly escaped: boolean }
type Fail = (problem: string) => never
type NameOf = (token: RdataToken) => Name

/** RDATA as lowercase hex, for `type` from its tokens. */
export function opaqueRdata(type: OpaqueType, toks: readonly RdataToken[], nameOf: NameOf, fail: Fail): string {
  const first = toks[0]
  if (first !== undefined && first.text === '#' && first.escaped && !first.quoted) return generic(type, toks, fail)
  if (type.startsWith('TYPE')) fail(`${type} takes the generic form: \\# <length> <hex> (RFC 3597)`)
  const out = new Bytes(type, fail)
  const want = (n: number, form: string): void => {
    if (toks.length !== n) fail(`${type} takes ${form}; got ${toks.length} field${toks.length === 1 ? '' : 's'}`)
  }
  const atLeast = (n: number, form: string): void => {
    if (toks.length < n) fail(`${type} takes ${form}; got ${toks.length} field${toks.length === 1 ? '' : 's'}`)
  }
  const tok = (k: number): RdataToken => toks[k] as RdataToken
  const hexFrom = (k: number, what: string): void => {
    const hex = toks.slice(k).map((t) => t.text).join('')
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) fail(`${type} ${what} '${hex}' is not hexadecimal digits in pairs`)
    out.hex(hex)
  }
  /** Fixed numeric fields (u8 up to 255, u16 up to 65535), then the rest of the tokens as hex: SSHFP, TLSA, DS. */
  const numbersThenHex = (fields: readonly (readonly [string, 255 | 0xffff])[], hexWhat: string): void => {
    fields.forEach(([what, max], k) => {
      const v = out.number(tok(k).text, max, what)
      if (max === 255) out.u8(v)
      else out.u16(v)
    })
    hexFrom(fields.length, hexWhat)
  }
  switch (type) {
    case 'HINFO':
      want(2, 'a CPU and an OS string')
      out.string(tok(0).text); out.string(tok(1).text)
      break
    case 'RP':
      want(2, 'a mailbox name and a TXT name')
      out.name(nameOf(tok(0))); out.name(nameOf(tok(1)))
      break
    case 'DNAME':
      want(1, 'one target name')
      out.name(nameOf(tok(0)))
      break
    case 'CAA': {
      atLeast(3, 'flags, a tag and a value, e.g. 0 issue "letsencrypt.org"')
      out.u8(out.number(tok(0).text, 255, 'flags'))
      const tag = tok(1).text
      if (!/^[A-Za-z0-9]{1,255}$/.test(tag)) fail(`CAA tag '${tag}' must be letters and digits (issue, issuewild, iodef, ...)`)
      out.u8(tag.length); out.raw(tag)
      out.raw(toks.slice(2).map((t) => t.text).join(' '))
      break
    }
    case 'SSHFP':
      atLeast(3, 'an algorithm, a fingerprint type and the fingerprint in hex')
      numbersThenHex([['algorithm', 255], ['fingerprint type', 255]], 'fingerprint')
      break
    case 'TLSA':
      atLeast(4, 'usage, selector, matching type and the data in hex')
      numbersThenHex([['usage', 255], ['selector', 255], ['matching type', 255]], 'data')
      break
    case 'DS':
      atLeast(4, 'a key tag, an algorithm, a digest type and the digest in hex')
      numbersThenHex([['key tag', 0xffff], ['algorithm', 255], ['digest type', 255]], 'digest')
      break
    case 'NAPTR':
      want(6, 'order, preference, flags, services, regexp and replacement')
      out.u16(out.number(tok(0).text, 0xffff, 'order')); out.u16(out.number(tok(1).text, 0xffff, 'preference'))
      out.string(tok(2).text); out.string(tok(3).text); out.string(tok(4).text)
      out.name(nameOf(tok(5)))
      break
    case 'URI':
      want(3, 'a priority, a weight and a quoted target URI')
      out.u16(out.number(tok(0).text, 0xffff, 'priority')); out.u16(out.number(tok(1).text, 0xffff, 'weight'))
      if (tok(2).text === '') fail('URI target is empty')
      out.raw(tok(2).text)
      break
    case 'LOC':
      loc(out, toks.map((t) => t.text), fail)
      break
    case 'SVCB': case 'HTTPS':
      svcb(type, out, toks, nameOf, fail)
      break
    default:
      fail(`${type} takes the generic form: \\# <length> <hex> (RFC 3597)`)
  }
  return out.done()
}

/** `\# length hex...` (RFC 3597 5). */
function generic(type: string, toks: readonly RdataToken[], fail: Fail): string {
  const len = toks[1]?.text
  if (len === undefined || !/^[0-9]+$/.test(len) || Number(len) > 0xffff) fail(`${type} \\# needs a length from 0 to 65535, then the data in hex`)
  const hex = toks.slice(2).map((t) => t.text).join('')
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) fail(`${type} \\# data '${hex}' is not hexadecimal digits in pairs`)
  if (hex.length / 2 !== Number(len)) fail(`${type} \\# says ${len} bytes but the data has ${hex.length / 2}`)
  return hex.toLowerCase()
}

/** A growing RDATA, failing with the type's name on a bad field. */
class Bytes {
  readonly #parts: number[] = []
  readonly #type: string
  readonly #fail: Fail
  constructor(type: string, fail: Fail) { this.#type = type; this.#fail = fail }
  number(text: string, max: number, what: string): number {
    if (!/^[0-9]+$/.test(text) || Number(text) > max) this.#fail(`${this.#type} ${what} '${text}' is not a number from 0 to ${max}`)
    return Number(text)
  }
  u8(v: number): void { this.#parts.push(v & 255) }
  u16(v: number): void { this.#parts.push((v >> 8) & 255, v & 255) }
  u32(v: number): void { this.u16((v >>> 16) & 0xffff); this.u16(v & 0xffff) }
  raw(text: string): void { for (const c of Buffer.from(text, 'latin1')) this.#parts.push(c) }
  bytes(b: Uint8Array): void { for (const c of b) this.#parts.push(c) }
  hex(hex: string): void { this.bytes(Buffer.from(hex, 'hex')) }
  /** A <character-string>: a length byte, then at most 255 bytes. */
  string(text: string): void {
    const b = Buffer.from(text, 'latin1')
    if (b.length > 255) this.#fail(`${this.#type} string is longer than 255 bytes`)
    this.u8(b.length); this.bytes(b)
  }
  name(name: Name): void { this.raw(wireKey(name)) } // the wire form, uncompressed (RFC 3597 4)
  get length(): number { return this.#parts.length }
  done(): string {
    if (this.#parts.length > 0xffff) this.#fail(`${this.#type} data is longer than 65535 bytes`)
    return Buffer.from(this.#parts).toString('hex')
  }
}

const SVC_KEYS: Record<string, number> = { mandatory: 0, alpn: 1, 'no-default-alpn': 2, port: 3, ipv4hint: 4, ech: 5, ipv6hint: 6 }

function svcKey(name: string, fail: Fail): number {
  const known = SVC_KEYS[name]
  if (known !== undefined) return known
  const m = /^key([0-9]+)$/.exec(name)
  if (m === null || Number(m[1]) > 65535) fail(`SVCB parameter '${name}' is not one of ${Object.keys(SVC_KEYS).join(', ')} or keyNNNN`)
  return Number((m as RegExpExecArray)[1])
}

/** SvcPriority TargetName SvcParams (RFC 9460 2.1): parameters sorted by key on the wire, each once. */
function svcb(type: string, out: Bytes, toks: readonly RdataToken[], nameOf: NameOf, fail: Fail): void {
  if (toks.length < 2) fail(`${type} takes a priority, a target name and parameters, e.g. 1 . alpn=h2,h3`)
  const priority = out.number((toks[0] as RdataToken).text, 0xffff, 'priority')
  out.u16(priority)
  const target = toks[1] as RdataToken
  out.name(target.text === '.' ? '' : nameOf(target))
  const params = new Map<number, Buffer>()
  // A quoted value may stand as a token of its own after 'key=' (alpn="h2,h3" splits so in our tokenizer).
  for (let k = 2; k < toks.length; k++) {
    const t = toks[k] as RdataToken
    const eq = t.text.indexOf('=')
    const key = eq < 0 ? t.text : t.text.slice(0, eq)
    let value: string | null = eq < 0 ? null : t.text.slice(eq + 1)
    if (value === '' && toks[k + 1]?.quoted === true) { value = (toks[k + 1] as RdataToken).text; k++ }
    const code = svcKey(key.toLowerCase(), fail)
    if (params.has(code)) fail(`${type} parameter ${key} appears twice`)
    if (priority === 0) fail(`${type} with priority 0 (AliasMode) takes no parameters`)
    params.set(code, svcValue(type, code, key, value, fail))
  }
  for (const code of [...params.keys()].sort((a, b) => a - b)) {
    const v = params.get(code) as Buffer
    out.u16(code); out.u16(v.length); out.bytes(v)
  }
}

function svcValue(type: string, code: number, key: string, value: string | null, fail: Fail): Buffer {
  const need = (): string => value ?? fail(`${type} parameter ${key} needs a value (${key}=...)`)
  const list = (): string[] => need().split(',').filter((x) => x !== '')
  const ips = (v6: boolean): Buffer => Buffer.concat(list().map((a) => {
    if (!ipaddr.isValid(a) || ipaddr.parse(a).kind() !== (v6 ? 'ipv6' : 'ipv4')) fail(`${type} ${key} '${a}' is not an IPv${v6 ? 6 : 4} address`)
    return Buffer.from(ipaddr.parse(a).toByteArray())
  }))
  switch (code) {
    case 0: {
      const codes = list().map((k) => svcKey(k.toLowerCase(), fail)).sort((a, b) => a - b)
      const b = Buffer.alloc(codes.length * 2)
      codes.forEach((c, i) => b.writeUInt16BE(c, i * 2))
      return b
    }
    case 1: return Buffer.concat(list().map((id) => {
      if (id.length > 255) fail(`${type} alpn id '${id.slice(0, 20)}...' is longer than 255 bytes`)
      return Buffer.concat([Buffer.from([id.length]), Buffer.from(id, 'latin1')])
    }))
    case 2:
      if (value !== null && value !== '') fail(`${type} no-default-alpn takes no value`)
      return Buffer.alloc(0)
    case 3: {
      const v = need()
      if (!/^[0-9]+$/.test(v) || Number(v) > 65535) fail(`${type} port '${v}' is not a number from 0 to 65535`)
      const b = Buffer.alloc(2); b.writeUInt16BE(Number(v)); return b
    }
    case 4: return ips(false)
    case 5: {
      const v = need()
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v)) fail(`${type} ech '${v.slice(0, 20)}' is not base64`)
      return Buffer.from(v, 'base64')
    }
    case 6: return ips(true)
    default: return Buffer.from(value ?? '', 'latin1')
  }
}

/** LOC (RFC 1876 3): latitude, longitude, altitude, then size and precisions, in its packed forms. */
function loc(out: Bytes, f: readonly string[], fail: Fail): void {
  const usage = 'd [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]'
  let i = 0
  const angle = (hemis: string, max: number): number => {
    const parts: number[] = []
    while (i < f.length && /^[0-9.]+$/.test(f[i] as string) && parts.length < 3) parts.push(Number(f[i++]))
    const h = (f[i++] ?? '').toUpperCase()
    if (parts.length === 0 || !hemis.includes(h) || h === '') fail(`LOC takes ${usage}`)
    const [d = 0, m = 0, s = 0] = parts
    if (d > max || m >= 60 || s >= 60) fail(`LOC angle ${parts.join(' ')} ${h} is out of range`)
    const ms = Math.round(((d * 60 + m) * 60 + s) * 1000)
    return h === hemis[0] ? 2 ** 31 + ms : 2 ** 31 - ms
  }
  const meters = (text: string | undefined, what: string): number => {
    const m = /^(-?[0-9]+(?:\.[0-9]{1,2})?)m?$/.exec(text ?? '')
    if (m === null) fail(`LOC ${what} '${text ?? ''}' is not a number of meters`)
    return Number((m as RegExpExecArray)[1])
  }
  /** Size and precisions: mantissa and exponent of centimeters, one nibble each. */
  const packed = (text: string | undefined, fallback: number, what: string): number => {
    let cm = Math.round((text === undefined ? fallback : meters(text, what)) * 100)
    let e = 0
    while (cm >= 10 && e < 9) { cm = Math.floor(cm / 10); e++ }
    if (cm > 9) fail(`LOC ${what} is too large`)
    return (cm << 4) | e
  }
  const lat = angle('NS', 90)
  const lon = angle('EW', 180)
  const alt = Math.round((meters(f[i++], 'altitude') + 100000) * 100)
  if (alt < 0 || alt > 0xffffffff) fail('LOC altitude is out of range (-100000 m to 42849672.95 m)')
  const size = packed(f[i++], 1, 'size')
  const hp = packed(f[i++], 10000, 'horizontal precision')
  const vp = packed(f[i++], 10, 'vertical precision')
  if (i < f.length) fail(`LOC takes ${usage}; '${f[i] ?? ''}' is extra`)
  out.u8(0); out.u8(size); out.u8(hp); out.u8(vp); out.u32(lat); out.u32(lon); out.u32(alt)
}
