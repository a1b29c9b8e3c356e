/**
 * Shared by the real-Incus parts: incus-dns started in-process against the private incusd with production
 * timings (only the poll interval is stretched to 120 s, so that a poll cannot hide a slow path), and
 * small measuring helpers.
 */
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { captureLog } from '../../helpers/incus.ts'
import type { LogLine } from '../../helpers/incus.ts'
import type { RealIncus } from '../../helpers/real-incus.ts'
import { startServer } from '../../helpers/server.ts'
import type { TestServer } from '../../helpers/server.ts'
import { lag, observe } from '../../helpers/timeline.ts'
import type { Timeline } from '../../helpers/timeline.ts'

export const ZONES = new URL('../../../zones/', import.meta.url).pathname
export const S = 'incus.example.org'

export async function startDns(real: RealIncus, extra: readonly string[] = []): Promise<{ dns: TestServer; lines: LogLine[]; stateFile: string }> {
  const { log, lines } = captureLog()
  const stateFile = extra.includes('--state-file') ? (extra[extra.indexOf('--state-file') + 1] as string) : join(mkdtempSync(join(real.dir, 'dns-')), 'state.json')
  const args = [...(extra.includes('--incus-url') || extra.includes('--incus-remotes') ? [] : ['--incus-socket', real.socket]), '--suffix', S, '--poll-interval', '120s',
    ...(extra.includes('--state-file') ? [] : ['--state-file', stateFile]), ...extra]
  const dns = await startServer(ZONES, args, {}, log)
  return { dns, lines, stateFile }
}

/** ms until `check` holds, polled every 5 ms; throws after `boundMs` with what was seen. */
export async function msUntil(check: () => Promise<boolean>, boundMs: number, what: string): Promise<number> {
  const t0 = Date.now()
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - t0
    if (Date.now() - t0 > boundMs) throw new Error(`${what}: not within ${boundMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Launches and checks that each family is answered within `boundMs` of appearing in Incus's state. */
export async function launchAndCheck(real: RealIncus, port: number, name: string, opts: { project?: string; dnsName?: string; image: string; boundMs?: number; config?: Record<string, string>; lines?: readonly LogLine[] }): Promise<Timeline> {
  const args = ['launch', opts.image, name, '--quiet', ...(opts.project !== undefined ? ['--project', opts.project] : []),
    ...Object.entries(opts.config ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
  await real.incus(args)
  const t0 = Date.now()
  const tl = await observe(real, { instance: name, project: opts.project, dnsName: opts.dnsName ?? `${name}.${S}`, port, t0, boundMs: 15_000 })
  const bound = opts.boundMs ?? 1000
  // On a failure, what incus-dns logged about this instance, in ms after the launch returned.
  const key = `${opts.project ?? 'default'}/${name}`
  const story = (): string => (opts.lines ?? []).filter((l) => l.instance === key && (l.time as number) >= t0 - 2000)
    .map((l) => `${(l.time as number) - t0} ms ${l.msg}${l.ipv4 !== undefined ? ` ${String(l.ipv4)} ${String(l.ipv6)}` : ''}`).join('; ')
  if (lag(tl.ipv4) > bound || lag(tl.ipv6) > bound) console.log(`${name}: ${JSON.stringify(tl)}; incus-dns: ${story()}`)
  expect(tl.ipv4.state, `${name}: Incus never reported an IPv4`).not.toBeNull()
  expect(tl.ipv6.state, `${name}: Incus never reported an IPv6`).not.toBeNull()
  expect(lag(tl.ipv4), `${name}: A answered ${JSON.stringify(tl.ipv4)} ms after launch`).toBeLessThanOrEqual(bound)
  expect(lag(tl.ipv6), `${name}: AAAA answered ${JSON.stringify(tl.ipv6)} ms after launch`).toBeLessThanOrEqual(bound)
  return tl
}
