/**
 * @module log
 * pino JSON logs on stdout: one line per meaningful event, nothing per query at info level.
 */
import pino from 'pino'
import type { Logger } from 'pino'

export type { Logger }

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'incus-dns' } }, destination ?? pino.destination({ fd: 1, sync: false }))
}

/**
 * A list for a log line: whole when short, else its first few and how many more. At fleet scale one line with
 * an instance's 10k aliases, on every change, was megabytes a second (issue 24); its length goes in the line too.
 */
export function few<T>(list: readonly T[], keep = 5): (T | string)[] {
  return list.length <= keep ? [...list] : [...list.slice(0, keep), `... ${list.length - keep} more`]
}
