/**
 * @module zone/file/parse
 * An RFC 1035 section 5 master-file parser: $ORIGIN, $TTL (RFC 2308), '@', relative names, owner
 * inherited from the line before, TTL and class in either order, parenthesised multi-line records,
 * quoted strings with \" and \DDD escapes, ';' comments. Record types: those the zone model holds as fields,
 * the ones rdata.ts encodes, and any other as `TYPEnnn \# len hex` (RFC 3597); a directive we do not implement
 * is an error naming file and line, never a silent skip.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { IncusDnsError, ZoneFileError } from '../../errors.ts'
import { canonicalAddress } from '../../address.ts'
import { canonicalName, isAtOrBelow } from '../name.ts'
import { TYPE_NAMES, typeName } from '../types.ts'
import type { Name, OpaqueType, Rdata, Rec, TypeName } from '../types.ts'
import { generated } from './generate.ts'
import { entries, OTHER_CLASS } from './lexer.ts'
import type { Entry, Token } from './lexer.ts'
import { opaqueRdata } from './rdata.ts'

export interface ParsedZone {
  readonly file: string
  /** The zone's apex: the owner of its SOA. */
  readonly apex: Name
  readonly records: readonly Rec[]
}

export interface ParseOptions {
  /** Reads an $INCLUDE'd file (tests hand in their own); the default reads the disk. */
  readonly readFile?: (path: string) => string
  /**
   * Where to collect every problem of the file, one per bad line, reading on past each (`incus-dns check`
   * names them all in one run); without it the first problem is thrown. Either way the parse throws when
   * there was one.
   */
  readonly problems?: ZoneFileError[]
}

/** Where records came from: a file and the $INCLUDE chain to it, shared by all of that file's records. */
interface Source { readonly file: string; readonly includedFrom: readonly { readonly file: string; readonly line: number }[] }

/**
 * Parses one zone file. `defaultOrigin` (from the file name) applies until a $ORIGIN line. `$INCLUDE file
 * [origin]` (RFC 1035 5.1) reads a file relative to the including one, with the given origin or the current
 * one; the origin and $TTL go back to the includer's afterwards. Throws ZoneFileError for the first problem
 * found, naming the file, the line and the chain of $INCLUDE lines that led there.
 */
export function parseZoneFile(file: string, text: string, defaultOrigin: Name, options: ParseOptions = {}): ParsedZone {
  const reader = new ZoneFileReader(options)
  reader.file({ file, includedFrom: [] }, text, defaultOrigin, null, [resolve(file)])
  if (options.problems !== undefined && options.problems.length > 0) throw options.problems[0] as ZoneFileError
  return { file, apex: reader.apex(file), records: reader.records }
}

/** One file being read: where it came from, its place in `sources`, the files open above it, and the $ORIGIN and $TTL in force. */
interface Reading {
  readonly src: Source
  readonly here: number
  readonly open: readonly string[]
  origin: Name
  defaultTtl: number | null
}

type Fail = (problem: string) => never

/** The types a zone file may write in their own syntax: DNSSEC's are made by the signer, and take only the generic form. */
const WRITTEN_TYPES = TYPE_NAMES.filter((t) => !['RRSIG', 'NSEC', 'DNSKEY', 'CDS', 'CDNSKEY'].includes(t))

/** The records of a zone file and what it includes, read entry by entry, and the checks of the whole zone. */
class ZoneFileReader {
  readonly records: Rec[] = []
  readonly #lines: number[] = []
  // Per record, its Source by index: a number each rather than an object (zones hold 100k+ records).
  readonly #sources: Source[] = []
  readonly #sourceOf: number[] = []
  #lastTtl: number | null = null
  #lastOwner: Name | null = null
  readonly #read: (path: string) => string
  readonly #problems: ZoneFileError[] | undefined

  constructor(options: ParseOptions) {
    this.#read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
    this.#problems = options.problems
  }

  /** Reads one file: the zone file, or one it includes, from the origin and $TTL the includer had. */
  file(src: Source, text: string, origin: Name, defaultTtl: number | null, open: readonly string[]): void {
    const reading: Reading = { src, here: this.#sources.push(src) - 1, open, origin, defaultTtl }
    try {
      for (const entry of entries(src.file, text)) {
        const fail: Fail = (problem) => { throw new ZoneFileError(src.file, entry.line, problem, src.includedFrom) }
        try {
          const first = entry.tokens[0] as Token
          if (!entry.inheritsOwner && !first.quoted && first.text.startsWith('$')) this.#directive(reading, entry, fail)
          else this.#record(reading, entry, fail)
        } catch (err) {
          // One bad line: noted, and the next one read, when every problem is wanted.
          if (this.#problems === undefined || !(err instanceof ZoneFileError)) throw err
          this.#problems.push(err)
        }
      }
    } catch (err) {
      // The tokenizer's own errors (an unclosed quote, say) know their file but not how it was reached.
      if (err instanceof ZoneFileError && err.file === src.file && err.includedFrom.length === 0 && src.includedFrom.length > 0) {
        throw new ZoneFileError(err.file, err.line, err.problem, src.includedFrom)
      }
      throw err
    }
  }

  /** $ORIGIN, $TTL, $INCLUDE or $GENERATE; any other directive is an error naming the ones there are. */
  #directive(reading: Reading, entry: Entry, fail: Fail): void {
    const toks = entry.tokens
    const file = reading.src.file
    const directive = (toks[0] as Token).text.toUpperCase()
    if (directive === '$ORIGIN') {
      if (toks.length !== 2) fail('$ORIGIN takes one absolute name, e.g. $ORIGIN example.org.')
      const arg = (toks[1] as Token).text
      if (!arg.endsWith('.')) fail(`$ORIGIN ${arg} must be absolute (end with a dot)`)
      reading.origin = nameOrFail(toks[1] as Token, reading.origin, fail)
    } else if (directive === '$TTL') {
      if (toks.length !== 2) fail('$TTL takes one TTL, e.g. $TTL 3600 or $TTL 1h')
      reading.defaultTtl = ttlOrFail((toks[1] as Token).text, fail)
    } else if (directive === '$INCLUDE') {
      if (toks.length !== 2 && toks.length !== 3) fail('$INCLUDE takes a file name and an optional origin, e.g. $INCLUDE hosts.inc example.org.')
      const path = resolve(dirname(file), (toks[1] as Token).text)
      const includeOrigin = toks.length === 3 ? nameOrFail(toks[2] as Token, reading.origin, fail) : reading.origin
      if (reading.open.includes(path) || resolve(path) === resolve(file)) fail(`$INCLUDE ${(toks[1] as Token).text} includes a file that is already being read: ${[...reading.open, path].join(' → ')}`)
      let inner: string
      try { inner = this.#read(path) } catch (err) { return fail(`$INCLUDE cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) }
      this.file({ file: path, includedFrom: [{ file, line: entry.line }, ...reading.src.includedFrom] }, inner, includeOrigin, reading.defaultTtl, [...reading.open, path])
    } else if (directive === '$GENERATE') {
      // The owner inherited by a blank-started line stays the one before, as in BIND.
      const owner = this.#lastOwner
      for (const made of generated(file, entry, fail)) this.#record(reading, made.entry, made.fail)
      this.#lastOwner = owner
    } else {
      fail(`unsupported directive ${(toks[0] as Token).text} (supported: $ORIGIN $TTL $INCLUDE $GENERATE)`)
    }
  }

  /** One record line (or one that $GENERATE made): owner, TTL and class in either order, type, rdata. */
  #record(reading: Reading, entry: Entry, fail: Fail): void {
    const toks = entry.tokens
    const first = toks[0] as Token
    let i = 0
    let owner: Name
    if (entry.inheritsOwner) {
      if (this.#lastOwner === null) fail('the first record has no owner name (the line starts with blank space)')
      owner = this.#lastOwner as Name
    } else {
      owner = nameOrFail(first, reading.origin, fail)
      if (owner === this.#lastOwner) owner = this.#lastOwner // one string per owner, however many lines repeat it
      i = 1
    }
    let ttl: number | null = null
    let type: TypeName | null = null
    // TTL and class come in either order before the type (RFC 1035 5.1).
    for (; i < toks.length && type === null; i++) {
      const t = (toks[i] as Token).text
      const upper = t.toUpperCase()
      // The shared constant, not `upper`: a string per record was ~20 B each at 100k names.
      const known = TYPE_NAMES.find((name) => name === upper)
      const numbered = /^TYPE([0-9]{1,5})$/.exec(upper)
      if (/^[0-9]/.test(t) && ttl === null) ttl = ttlOrFail(t, fail)
      else if (upper === 'IN') continue
      else if (OTHER_CLASS.test(upper)) fail(`class ${t} is not supported (only IN)`)
      else if (known !== undefined) type = known
      else if (numbered !== null && Number(numbered[1]) <= 65535) type = typeName(Number(numbered[1])) // RFC 3597 5: TYPE1 is A
      else if (/^[A-Z][A-Z0-9-]*$/.test(upper)) fail(`unsupported record type ${t} (supported: ${WRITTEN_TYPES.join(' ')}, and any type as TYPEnnn \\# <length> <hex>)`)
      else fail(`'${t}' is not a TTL, class or record type`)
    }
    if (type === null) fail('the record has no type')
    const rdata = toks.slice(i)
    ttl ??= reading.defaultTtl ?? this.#lastTtl
    if (ttl === null) fail('no TTL for this record: give one, or add a $TTL line at the top')
    const data = rdataOrFail(type as TypeName, rdata, reading.origin, fail)
    this.records.push({ name: owner, ttl: ttl as number, data })
    this.#lines.push(entry.line)
    this.#sourceOf.push(reading.here)
    this.#lastOwner = owner
    this.#lastTtl = ttl
  }

  /** The zone's apex, the owner of its one SOA, once every record is checked to be in the zone and no CNAME shares its name. */
  apex(file: string): Name {
    const records = this.records
    const soas = records.filter((r) => r.data.type === 'SOA')
    if (soas.length !== 1) {
      throw new ZoneFileError(file, 1, soas.length === 0 ? 'no SOA record: a zone file needs exactly one, at its apex' : 'more than one SOA record')
    }
    const apex = (soas[0] as Rec).name
    // Per owner: the first record's rdata as JSON when it is a CNAME, or '' for other data.
    const seen = new Map<Name, string>()
    records.forEach((r, k) => {
      const src = this.#sources[this.#sourceOf[k] as number] as Source
      const fail: Fail = (problem) => { throw new ZoneFileError(src.file, this.#lines[k] as number, problem, src.includedFrom) }
      if (!isAtOrBelow(r.name, apex)) fail(`${r.name} is outside the zone ${apex} (the owner of its SOA)`)
      const mine = r.data.type === 'CNAME' ? JSON.stringify(r.data) : ''
      const before = seen.get(r.name)
      if (before !== undefined && (before !== '' || mine !== '') && before !== mine) {
        fail(`${r.name} has a CNAME and other data; a CNAME must be alone at its name (RFC 1034 3.6.2)`)
      }
      seen.set(r.name, mine)
    })
    return apex
  }
}

function nameOrFail(token: Token, origin: Name, fail: (p: string) => never): Name {
  const text = token.text
  if (token.escaped || token.quoted) fail(`escapes and quotes in names are not supported: ${text}`)
  try {
    if (text === '@') return origin
    if (text.endsWith('.')) return canonicalName(text)
    return canonicalName(origin === '' ? text : `${text}.${origin}`)
  } catch (err) {
    if (err instanceof ZoneFileError) throw err
    return fail(`bad name '${text}': ${(err as Error).message}`)
  }
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** A TTL in seconds, or with BIND's units (1h30m, 2d, 1w). */
export function parseTtl(text: string): number | null {
  if (/^[0-9]+$/.test(text)) {
    const v = Number(text)
    return v <= 0x7fffffff ? v : null
  }
  const re = /([0-9]+)([smhdw])/gy
  let total = 0
  let m: RegExpExecArray | null
  let end = 0
  while ((m = re.exec(text.toLowerCase())) !== null) {
    total += Number(m[1]) * (UNIT[m[2] as string] as number)
    end = re.lastIndex
  }
  return end === text.length && end > 0 && total <= 0x7fffffff ? total : null
}

function ttlOrFail(text: string, fail: (p: string) => never): number {
  return parseTtl(text) ?? fail(`bad TTL '${text}' (seconds from 0 to 2147483647, or units like 1h30m)`)
}

const STRUCTURED = new Set<string>(['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'MX', 'TXT', 'SRV', 'SOA'])
function isOpaque(type: TypeName): type is OpaqueType { return !STRUCTURED.has(type) }

function rdataOrFail(type: TypeName, toks: readonly Token[], origin: Name, fail: (p: string) => never): Rdata {
  const want = (n: number, form: string): void => {
    if (toks.length !== n) fail(`${type} takes ${form}; got ${toks.length} field${toks.length === 1 ? '' : 's'}`)
  }
  const name = (k: number): Name => nameOrFail(toks[k] as Token, origin, fail)
  const u16 = (k: number, what: string): number => {
    const t = (toks[k] as Token).text
    if (!/^[0-9]+$/.test(t) || Number(t) > 0xffff) fail(`${type} ${what} '${t}' is not a number from 0 to 65535`)
    return Number(t)
  }
  const u32 = (k: number, what: string): number => {
    const t = (toks[k] as Token).text
    const v = /^[0-9]+$/.test(t) ? Number(t) : what === 'serial' ? null : parseTtl(t)
    if (v === null || v > 0xffffffff) fail(`SOA ${what} '${t}' is not a number from 0 to 4294967295`)
    return v as number
  }
  if (toks[0]?.text === '#' && toks[0].escaped && !isOpaque(type)) {
    fail(`${type} in the generic form (\\#) is not supported; write it in ${type}'s own syntax`)
  }
  try {
    switch (type) {
      case 'A': case 'AAAA':
        want(1, 'one address')
        return { type, address: canonicalAddress(type, (toks[0] as Token).text) }
      case 'NS': case 'CNAME': case 'PTR':
        want(1, 'one name')
        return { type, target: name(0) }
      case 'MX':
        want(2, 'a preference and an exchange name')
        return { type, preference: u16(0, 'preference'), exchange: name(1) }
      case 'SRV':
        want(4, 'priority, weight, port and target')
        return { type, priority: u16(0, 'priority'), weight: u16(1, 'weight'), port: u16(2, 'port'), target: name(3) }
      case 'TXT':
        if (toks.length === 0) fail('TXT takes at least one string')
        for (const t of toks) if (Buffer.byteLength(t.text, 'latin1') > 255) fail('a TXT string is longer than 255 bytes; split it into several quoted strings')
        return { type, strings: toks.map((t) => t.text) }
      case 'SOA':
        want(7, 'mname rname serial refresh retry expire minimum')
        return {
          type, mname: name(0), rname: name(1), serial: u32(2, 'serial'), refresh: u32(3, 'refresh'),
          retry: u32(4, 'retry'), expire: u32(5, 'expire'), minimum: u32(6, 'minimum'),
        }
      default:
        return { type, hex: opaqueRdata(type, toks, (t) => nameOrFail(t, origin, fail), fail) }
    }
  } catch (err) {
    if (err instanceof ZoneFileError || !(err instanceof IncusDnsError)) throw err
    return fail(err.message)
  }
}

