/**
 * @module zone/file/generate
 * BIND's `$GENERATE range owner [ttl] [class] type rdata`: one record per number in the range, with `$` in the
 * owner and the rdata replaced by the number. The substitution follows BIND's (lib/dns/master.c, checked
 * against named-compilezone in test/conformance/generate.test.ts):
 * - `$` is the number; `$$` is a `$`; a backslash keeps the next character as it is (so `\$` stays a `$`);
 * - `${offset}`, `${offset,width}` and `${offset,width,base}`: the number plus offset, zero-padded to width,
 *   in base d, o, x or X, or n/N for nibbles (hex digits least significant first, dot-separated, as in
 *   ip6.arpa names; the width counts the dots too).
 * The expanded text is then read as the rest of a record line, so a quoted rdata with spaces (`"10 mail$"`)
 * becomes several fields.
 */
import { ZoneFileError } from '../../errors.ts'
import { entries, isTtlOrClass } from './lexer.ts'
import type { Entry, Token } from './lexer.ts'

/** The most records one `$GENERATE` line may make: a typo in a range must not exhaust memory at start-up. */
export const MAX_GENERATED = 65_536

export interface GenerateRange {
  readonly start: number
  readonly stop: number
  readonly step: number
}

/** `start-stop` or `start-stop/step`, or the reason it is not one. */
export function parseRange(text: string): GenerateRange | string {
  const m = /^([0-9]+)-([0-9]+)(?:\/([0-9]+))?$/.exec(text)
  const example = 'e.g. 1-254, or 0-100/10 for every tenth'
  if (m === null) return `'${text}' is not a range (start-stop or start-stop/step, ${example})`
  const [start, stop, step] = [Number(m[1]), Number(m[2]), m[3] === undefined ? 1 : Number(m[3])]
  if (stop > 0x7fffffff) return `the range ${text} ends past 2147483647`
  if (start > stop) return `the range ${text} starts after it ends`
  if (step < 1) return `the step of ${text} must be at least 1`
  const count = Math.floor((stop - start) / step) + 1
  if (count > MAX_GENERATED) return `the range ${text} makes ${count} records; at most ${MAX_GENERATED} per line: split it over several $GENERATE lines`
  return { start, stop, step }
}

/** The numbers of a range, in order. */
export function* rangeValues(r: GenerateRange): Generator<number> {
  for (let v = r.start; v <= r.stop; v += r.step) yield v
}

/** `template` with every `$` form replaced for `value`; throws an Error naming a malformed `${...}`. */
export function substitute(template: string, value: number): string {
  let out = ''
  for (let i = 0; i < template.length;) {
    const c = template[i] as string
    if (c === '\\') { out += template.slice(i, i + 2); i += 2; continue }
    if (c !== '$') { out += c; i++; continue }
    if (template[i + 1] === '$') { out += '$'; i += 2; continue }
    if (template[i + 1] !== '{') { out += format(value, 0, 'd'); i++; continue }
    const m = /^\{([+-]?[0-9]+)(?:,([0-9]+)(?:,([doxXnN]))?)?\}/.exec(template.slice(i + 1))
    if (m === null) {
      throw new Error(`'${template.slice(i, template.indexOf('}', i) + 1 || undefined)}' is not \${offset}, \${offset,width} or \${offset,width,base} (base d, o, x, X, n or N)`)
    }
    out += format(value + Number(m[1]), m[2] === undefined ? 0 : Number(m[2]), (m[3] ?? 'd') as Base)
    i += 1 + m[0].length
  }
  return out
}

type Base = 'd' | 'o' | 'x' | 'X' | 'n' | 'N'

/** What C's printf("%0<width><base>") writes (an int, unsigned for o/x/X), or BIND's nibbles for n/N. */
function format(value: number, width: number, base: Base): string {
  if (base === 'n' || base === 'N') return nibbles(value >>> 0, width, base === 'N')
  if (base === 'd') {
    const digits = String(Math.abs(value))
    return value < 0 ? '-' + digits.padStart(width - 1, '0') : digits.padStart(width, '0')
  }
  const text = (value >>> 0).toString(base === 'o' ? 8 : 16)
  return (base === 'X' ? text.toUpperCase() : text).padStart(width, '0')
}

/** Hex digits least significant first, each followed by a dot while digits or width remain. */
function nibbles(value: number, width: number, upper: boolean): string {
  const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef'
  let out = ''
  let left = width
  let v = value
  do {
    out += digits[v & 0xf]
    v >>>= 4
    if (left > 0) left--
    if (left > 0 || v !== 0) {
      out += '.'
      if (left > 0) left--
    }
  } while (v !== 0 || left > 0)
  return out
}

/**
 * The record lines one `$GENERATE range owner [ttl] [class] type rdata` line stands for (read as parse.ts reads one), each
 * with a `fail` that names the number that made it, all at the $GENERATE line's number.
 */
export function* generated(file: string, entry: Entry, fail: (problem: string) => never): Generator<{ entry: Entry; fail: (problem: string) => never }> {
  const toks = entry.tokens
  if (toks.length < 5) fail('$GENERATE takes a range, an owner, an optional TTL and class, a type and one rdata field, e.g. $GENERATE 1-254 host-$ A 192.0.2.$')
  const range = parseRange((toks[1] as Token).text)
  if (typeof range === 'string') return fail(`$GENERATE: ${range}`)
  let t = 3
  while (t < toks.length - 1 && isTtlOrClass((toks[t] as Token).text)) t++
  if (toks.length - t - 1 !== 1) fail(`$GENERATE takes one rdata field after the type ${(toks[t] as Token).text}; quote it when it has spaces, e.g. "10 mail$"`)
  const written = (tok: Token): string => tok.raw ?? tok.text
  const owner = written(toks[2] as Token)
  const middle = toks.slice(3, t + 1).map((tok) => tok.text).join(' ')
  const rdata = written(toks[t + 1] as Token)
  for (const value of rangeValues(range)) {
    let line = ''
    try {
      line = `${substitute(owner, value)} ${middle} ${substitute(rdata, value)}`
    } catch (err) {
      fail(`$GENERATE: ${(err as Error).message}`)
    }
    const here = (problem: string): never => fail(`$GENERATE, for ${value} (${line}): ${problem}`)
    let made: Entry[] = []
    try {
      made = [...entries(file, line)]
    } catch (err) {
      if (err instanceof ZoneFileError) here(err.problem)
      throw err
    }
    if (made.length !== 1 || (made[0] as Entry).inheritsOwner) here('the substituted text is not one record line')
    yield { entry: { ...(made[0] as Entry), line: entry.line }, fail: here }
  }
}

