/**
 * @module config/parse
 * Parsers for setting values. Each returns the value or throws a plain Error whose message says what is
 * accepted; the loader prefixes the setting's name.
 */
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { STATUSES } from '../incus/api/types.ts'
import { canonicalName } from '../zone/name.ts'
import { addressRange } from '../address.ts'
import type { ListenAddress } from '../address.ts'

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `500ms`, `30s`, `2m`, `1h`, or combinations such as `1m30s`; returns milliseconds. */
export function parseDuration(raw: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y
  let total = 0
  let end = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(raw)) !== null) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number)
    end = re.lastIndex
  }
  if (end === 0 || end !== raw.length) throw new Error(`'${raw}' is not a duration; write it with a unit, e.g. 500ms, 30s, 2m`)
  return Math.round(total)
}

/** The longest a Node timer waits (2^31 - 1 ms, about 24.8 days): a longer one fires at once, every time. */
export const MAX_TIMER_MS = 2_147_483_647

/** A duration a timer waits: at least `minMs`, at most what Node's timers can (MAX_TIMER_MS). */
export function parseTimer(raw: string, minMs: number, minText: string): number {
  const ms = parseDuration(raw)
  if (ms < minMs) throw new Error(`'${raw}' is shorter than ${minText}`)
  if (ms > MAX_TIMER_MS) throw new Error(`'${raw}' is longer than 24 days, the most a timer can wait (Node fires a longer one at once); give at most 24d, e.g. 24h`)
  return ms
}

export function parsePositiveInt(raw: string): number {
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`'${raw}' is not a whole number of at least 1`)
  }
  return Number(raw)
}

/** `host:port` or `[v6]:port`, comma-separated. */
export function parseListen(raw: string): ListenAddress[] {
  const example = 'e.g. 127.0.0.1:5300,[::1]:5300'
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new Error(`is empty; give at least one host:port, ${example}`)
  return items.map((item) => {
    const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(item) ?? /^([^:[\]]+):([0-9]+)$/.exec(item)
    const host = m?.[1]
    const port = Number(m?.[2])
    const family = host === undefined ? 0 : isIP(host)
    if (m === null || family === 0 || (family === 6) !== item.startsWith('[') || port > 65535) {
      throw new Error(`'${item}' is not host:port or [v6]:port with an IP address and port 0-65535, ${example}`)
    }
    return { host: host as string, port }
  })
}

export function oneOf<T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    const v = raw.toLowerCase()
    if (!(choices as readonly string[]).includes(v)) throw new Error(`'${raw}' is not one of ${choices.join(', ')}`)
    return v as T
  }
}

export function parseBoolean(raw: string): boolean {
  const v = raw.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  throw new Error(`'${raw}' is not true or false`)
}

/** A domain name such as incus.example.org (trailing dot optional). */
export function parseDomain(raw: string): string {
  try {
    const name = canonicalName(raw)
    if (name === '') throw new Error('the root')
    return name
  } catch (err) {
    throw new Error(`'${raw}' is not a domain name (${(err as Error).message}), e.g. incus.example.org`)
  }
}

export function parseCidrList(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new Error("is empty; give CIDRs such as 10.42.0.0/24, or 'auto' or 'off'")
  for (const c of items) if (!ipaddr.isValidCIDR(c)) throw new Error(`'${c}' is not a CIDR such as 10.42.0.0/24 or fd42::/64`)
  return items
}

/** CIDRs or single addresses (each a /32 or /128), comma-separated, normalised by `addressRange`. */
export function parseAddressList(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new Error('is empty; give addresses or CIDRs such as 127.0.0.1 or 10.42.0.0/24')
  return items.map((c) => {
    const range = addressRange(c)
    if (range === null) throw new Error(`'${c}' is not an address or a CIDR such as 127.0.0.1 or 10.42.0.0/24`)
    return range
  })
}

/** Incus statuses, comma-separated, lowercased. */
export function parseStates(raw: string): ReadonlySet<string> {
  const items = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  if (items.length === 0) throw new Error(`is empty; give statuses such as running (${STATUSES.join(', ')})`)
  for (const s of items) if (!(STATUSES as readonly string[]).includes(s)) throw new Error(`'${s}' is not an Incus status (${STATUSES.join(', ')})`)
  return new Set(items)
}

/** Upstream resolvers: `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address; port 53 when not given. */
export function parseUpstreams(raw: string): ListenAddress[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  return items.map((item) => {
    if (isIP(item) !== 0) return { host: item, port: 53 }
    const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(item) ?? /^([^:[\]]+):([0-9]+)$/.exec(item)
    const port = Number(m?.[2])
    if (m === null || isIP(m[1] as string) === 0 || port < 1 || port > 65535) {
      throw new Error(`'${item}' is not ip, ip:port or [v6]:port (an IP address, port 1-65535), e.g. 192.0.2.53,[2001:db8::53]:5353`)
    }
    return { host: m[1] as string, port }
  })
}

/** A remote of the incus client's configuration, and the suffix its names get (null: INCUS_DNS_SUFFIX). */
export interface RemoteSpec { readonly name: string; readonly suffix: string | null }

/** `lab-a,lab-b=lab-b.example.org`: remote names as `incus remote add` takes them, each once. */
export function parseRemotes(raw: string): RemoteSpec[] {
  const out: RemoteSpec[] = []
  for (const item of raw.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const eq = item.indexOf('=')
    const name = (eq < 0 ? item : item.slice(0, eq)).trim()
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`'${name}' is not a remote name (as in: incus remote add <name> <url>)`)
    if (out.some((r) => r.name === name)) throw new Error(`remote '${name}' is named twice`)
    out.push({ name, suffix: eq < 0 ? null : parseDomain(item.slice(eq + 1).trim()) })
  }
  return out
}
