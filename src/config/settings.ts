/**
 * @module config/settings
 * THE table of settings: environment variable, flag, default, parser and help. `--help`, validation and
 * the README's configuration table all come from here (a test checks the README against it).
 */
import type { ListenAddress } from '../dns/server.ts'
import { oneOf, parseDuration, parseListen, parsePositiveInt } from './parse.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export interface Setting<T> {
  readonly env: string
  readonly flag: string
  readonly default: string
  /** What it is, in one sentence, for --help and the README. */
  readonly help: string
  readonly parse: (raw: string) => T
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s
}

export const SETTINGS = {
  listen: setting<ListenAddress[]>({
    env: 'INCUS_DNS_LISTEN', flag: 'listen', default: '127.0.0.1:5300,[::1]:5300',
    help: 'Addresses to answer DNS on, UDP and TCP on each: comma list of host:port or [v6]:port (port 0 picks a free one).',
    parse: parseListen,
  }),
  zonesDir: setting<string>({
    env: 'INCUS_DNS_ZONES_DIR', flag: 'zones-dir', default: 'zones',
    help: 'Folder of RFC 1035 zone files (*.zone) served alongside the live records.',
    parse: (raw) => { if (raw === '') throw new Error('is empty; give a folder path'); return raw },
  }),
  logLevel: setting<typeof LOG_LEVELS[number]>({
    env: 'INCUS_DNS_LOG_LEVEL', flag: 'log-level', default: 'info',
    help: `Log level: ${LOG_LEVELS.join(', ')}. Nothing is logged per query at info.`,
    parse: oneOf(LOG_LEVELS),
  }),
  tcpIdleTimeout: setting<number>({
    env: 'INCUS_DNS_TCP_IDLE_TIMEOUT', flag: 'tcp-idle-timeout', default: '10s',
    help: 'Close a TCP connection that sends no complete query for this long (also ends clients stalled mid-message).',
    parse: parseDuration,
  }),
  tcpMaxConnections: setting<number>({
    env: 'INCUS_DNS_TCP_MAX_CONNECTIONS', flag: 'tcp-max-connections', default: '1000',
    help: 'Most TCP connections open at once, over all listen addresses; more are closed on arrival.',
    parse: parsePositiveInt,
  }),
} as const

export type Settings = typeof SETTINGS
export type Config = { readonly [K in keyof Settings]: ReturnType<Settings[K]['parse']> }
