/**
 * @module zone/file/lexer
 * A master file's text as entries (RFC 1035 5.1): one per record or directive, parentheses joining lines,
 * ';' comments dropped, quoted strings and backslash escapes (\DDD, \X) read into tokens, and text beyond
 * ASCII kept as its UTF-8 octets. What the tokens mean is parse.ts's business.
 */
import { ZoneFileError } from '../../errors.ts'

export interface Token {
  readonly text: string
  /** True when the token was quoted: it is a TXT string, never a name or a number. */
  readonly quoted: boolean
  /** True when it held a backslash escape, which names may not use (`host\.master` would be one label). */
  readonly escaped: boolean
  /** The text as written, escapes kept (inside the quotes, when quoted); set only when `escaped`. */
  readonly raw?: string
}

export interface Entry {
  readonly line: number
  /** The line started with blank space: the owner is the previous record's. */
  readonly inheritsOwner: boolean
  readonly tokens: readonly Token[]
}

/** The classes a record may name besides IN (RFC 1035 3.2.4, RFC 3597 5), all refused: we serve IN only. */
export const OTHER_CLASS = /^(CH|HS|CS|CLASS[0-9]+)$/i

/** A TTL or a class: what may stand between a record's owner and its type. */
export function isTtlOrClass(text: string): boolean {
  return /^[0-9]/.test(text) || text.toUpperCase() === 'IN' || OTHER_CLASS.test(text)
}

/** Splits the text into entries: one per record or directive, parentheses joining lines (RFC 1035 5.1). */
export function* entries(file: string, text: string): Generator<Entry> {
  let line = 1
  let i = 0
  const n = text.length
  while (i < n) {
    const startLine = line
    const inheritsOwner = text[i] === ' ' || text[i] === '\t'
    const tokens: Token[] = []
    let depth = 0
    let parenLine = 0
    for (;;) {
      const c = text[i]
      if (c === undefined) {
        if (depth > 0) throw new ZoneFileError(file, parenLine, "'(' is never closed")
        break
      }
      if (c === '\n') {
        line++
        i++
        if (depth === 0) break
        continue
      }
      if (c === ' ' || c === '\t' || c === '\r') { i++; continue }
      if (c === ';') { while (i < n && text[i] !== '\n') i++; continue }
      if (c === '(') { if (depth === 0) parenLine = line; depth++; i++; continue }
      if (c === ')') {
        if (depth === 0) throw new ZoneFileError(file, line, "')' without a matching '('")
        depth--; i++; continue
      }
      const quoted = c === '"'
      const tokenLine = line
      let escaped = false
      if (quoted) i++
      const start = i
      let value = ''
      for (;;) {
        const d = text[i]
        if (d === undefined) {
          if (quoted) throw new ZoneFileError(file, tokenLine, 'a quoted string is never closed')
          break
        }
        if (quoted ? d === '"' : ' \t\r\n;()"'.includes(d)) break
        if (d === '\n') line++
        if (d === '\\') {
          escaped = true
          const digits = text.slice(i + 1, i + 4)
          if (/^[0-9]{3}$/.test(digits)) {
            const code = Number(digits)
            if (code > 255) throw new ZoneFileError(file, line, `bad escape \\${digits}`)
            value += String.fromCharCode(code)
            i += 4
            continue
          }
          const next = text[i + 1]
          if (next === undefined || next === '\n') throw new ZoneFileError(file, line, 'a backslash at the end of a line')
          value += next
          i += 2
          continue
        }
        // Text is octets (RFC 1035 5.1): a character beyond ASCII stands for its UTF-8 octets, each kept as one
        // character (latin1), as \DDD keeps its one octet; every writer then writes one octet per character.
        const code = text.codePointAt(i) as number
        if (code < 0x80) { value += d; i++; continue }
        const ch = String.fromCodePoint(code)
        value += Buffer.from(ch, 'utf8').toString('latin1')
        i += ch.length
      }
      tokens.push(escaped ? { text: value, quoted, escaped, raw: text.slice(start, i) } : { text: value, quoted, escaped })
      if (quoted) i++ // the closing quote
    }
    if (tokens.length > 0) yield { line: startLine, inheritsOwner, tokens }
  }
}
