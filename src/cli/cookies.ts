/**
 * @module cli/cookies
 * The DNS cookies' secret (dns/cookies.ts): INCUS_DNS_COOKIE_SECRET as given (rolled over by the operator,
 * 'new,old'), or a random one replaced every day, the one it replaces still taken until the next, kept in
 * `<INCUS_DNS_STATE_FILE>.cookie-secret` (mode 0600) so that a restart does not turn every client's cookie
 * away. Worker threads get each new pair.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { writeFileAtomicSync } from '../atomic-file.ts'
import type { Logger } from 'pino'
import type { Config } from '../config/settings.ts'
import { Cookies } from '../dns/cookies.ts'

/** How often a generated secret is replaced (a client's cookie lives an hour at most, RFC 9018 4.3). */
export const COOKIE_ROTATE_MS = 24 * 3600 * 1000

interface Kept { readonly current: string; readonly previous: string | null; readonly since: number }

export interface CookieKeeper {
  readonly cookies: Cookies
  /** Called with each new pair of secrets (the worker threads'). */
  onRotate: ((current: Buffer, previous: Buffer | null) => void) | null
  /** Replaces the current secret now (what the daily timer does). */
  rotate(): void
  stop(): void
}

export function cookieKeeper(config: Pick<Config, 'cookies' | 'cookieSecret' | 'stateFile'>, log: Logger): CookieKeeper | null {
  if (config.cookies === 'off') return null
  const given = config.cookieSecret
  if (given !== null) {
    const cookies = new Cookies(config.cookies, given[0] as Buffer, given[1] ?? null)
    log.info({ mode: config.cookies, secrets: given.length, from: 'INCUS_DNS_COOKIE_SECRET' }, 'DNS cookies')
    return { cookies, onRotate: null, rotate: () => {}, stop: () => {} }
  }
  const file = config.stateFile === null ? null : `${config.stateFile}.cookie-secret`
  let kept: Kept | null = null
  if (file !== null) {
    try {
      const k = JSON.parse(readFileSync(file, 'utf8')) as Kept
      // Anyone who reads the secret can make cookies that pass: say so when others may.
      const mode = statSync(file).mode & 0o777
      if ((mode & 0o077) !== 0) log.warn({ file, mode: mode.toString(8) }, `the cookie secret file can be read by others; make it private: chmod 600 ${file}`)
      if (/^[0-9a-f]{32}$/.test(k.current) && (k.previous === null || /^[0-9a-f]{32}$/.test(k.previous)) && typeof k.since === 'number') kept = k
      else log.warn({ file }, 'cookie secret file not usable; making a new secret')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: (err as Error).message }, 'cookie secret file not readable; making a new secret')
    }
  }
  const cookies = new Cookies(config.cookies, kept === null ? randomBytes(16) : Buffer.from(kept.current, 'hex'), kept?.previous == null ? null : Buffer.from(kept.previous, 'hex'))
  let since = kept?.since ?? Date.now()
  const save = (): void => {
    if (file === null) return
    const { current, previous } = cookies.secrets
    try {
      // Written exclusively to a new temporary file, never through a link planted at a known name.
      writeFileAtomicSync(file, JSON.stringify({ current: current.toString('hex'), previous: previous?.toString('hex') ?? null, since } satisfies Kept) + '\n', 0o600)
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, 'could not keep the cookie secret; a restart will make a new one')
    }
  }
  const keeper: CookieKeeper = {
    cookies, onRotate: null,
    rotate: () => {
      cookies.rotate()
      since = Date.now()
      save()
      const { current, previous } = cookies.secrets
      keeper.onRotate?.(current, previous)
      log.info('cookie secret replaced; the previous one is still taken until the next')
    },
    stop: () => { clearTimeout(timer) },
  }
  if (kept === null) save()
  // The first replacement comes when the kept secret turns a day old, then every day.
  const first = Math.max(0, since + COOKIE_ROTATE_MS - Date.now())
  let timer = setTimeout(function tick() { keeper.rotate(); timer = setTimeout(tick, COOKIE_ROTATE_MS); timer.unref() }, first)
  timer.unref()
  log.info({ mode: config.cookies, kept: file ?? 'in memory only (no INCUS_DNS_STATE_FILE)' }, 'DNS cookies')
  return keeper
}
