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
