/**
 * incusd going away and coming back: the names keep answering while it is down, incus-dns restarted meanwhile
 * answers from its state file, and once incusd is back the stream reconnects and a new launch answers within 1 s.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogLine } from '../../helpers/incus.ts'
import { IMAGE } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

async function readyz(dns: TestServer): Promise<number> {
  const at = dns.http?.address
  if (at === undefined) throw new Error('no HTTP port')
  return (await fetch(`http://127.0.0.1:${at.port}/readyz`)).status
}

export function restartTests(env: RealEnv): void {
  describe('incusd stopped and started again', () => {
    let dns: TestServer
    let lines: LogLine[]
    let stateFile: string
    let kept: string | null = null
    beforeAll(async () => {
      ({ dns, lines, stateFile } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
    }, 30_000)
    afterAll(async () => { await dns?.stop() })

    it('while incusd is down the names keep answering', async () => {
      kept = (await launchAndCheck(env.real, dns.port, 'keeper', { image: IMAGE })).ipv4.address
      await msUntil(async () => existsSync(stateFile), 5000, 'state file written')
      await env.real.stopDaemon()
      await msUntil(async () => dns.incus?.eventsConnected === false, 5000, 'event stream noticed the daemon gone')
      expect(await rdata(dns.port, `keeper.${S}`)).toEqual([kept])
      expect(lines.some((l) => l.msg === 'event stream down; reconnecting')).toBe(true)
    }, 60_000)

    it('incus-dns restarted while incusd is down answers from its state file', async () => {
      await dns.stop()
      ;({ dns, lines } = await startDns(env.real, ['--state-file', stateFile]))
      await msUntil(async () => (await rdata(dns.port, `keeper.${S}`)).join() === kept, 5000, 'keeper from the state file')
      expect(await readyz(dns)).toBe(503)
      expect(lines.some((l) => l.msg === 'answering from the state file until Incus answers')).toBe(true)
    }, 30_000)

    it('incusd back: the stream reconnects, and a launch afterwards answers within 1 s of each address', async () => {
      await env.real.startDaemon()
      // The reconnect backoff is capped at 30 s; the stream must be back within it.
      await msUntil(async () => dns.incus?.eventsConnected === true && dns.incus.ready, 40_000, 'event stream back and synced')
      expect(await readyz(dns)).toBe(200)
      expect(await rdata(dns.port, `keeper.${S}`)).toEqual([kept])
      await launchAndCheck(env.real, dns.port, 'after', { image: IMAGE })
      await env.real.incus(['delete', '--force', 'keeper', 'after'])
    }, 90_000)
  })
}
