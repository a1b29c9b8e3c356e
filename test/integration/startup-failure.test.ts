/**
 * A start that fails part-way stops what it had started, in the order a stop signal would (cli/teardown.ts):
 * with DNS answering and Incus being read, an HTTP port already taken ends the start with its one line, and
 * leaves the DNS port free and Incus no longer asked anything.
 */
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { start } from '../../src/cli/main.ts'
import { loadConfig } from '../../src/config/load.ts'
import { IncusDnsError } from '../../src/errors.ts'
import type { SimIncus } from '../../src/sim/server.ts'
import { FAST, simSocket } from '../helpers/incus.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname

async function listening(port = 0): Promise<Server> {
  const s = createServer()
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', resolve) })
  return s
}

async function udpBinds(port: number): Promise<boolean> {
  const u = createSocket('udp4')
  return new Promise((resolve) => {
    u.once('error', () => { u.close(); resolve(false) })
    u.bind(port, '127.0.0.1', () => { u.close(); resolve(true) })
  })
}

describe('a start that fails part-way', () => {
  let sim: SimIncus | null = null
  const held: Server[] = []
  afterAll(async () => {
    for (const s of held) await new Promise((r) => s.close(r))
    await sim?.close()
  })

  it('an HTTP port taken after DNS and Incus are up: one error, the DNS port freed, Incus left alone', async () => {
    const made = await simSocket()
    sim = made.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.5' })
    const taken = await listening()
    held.push(taken)
    const httpPort = (taken.address() as AddressInfo).port
    // A DNS port known beforehand, to see it freed: taken by a probe, then let go for the server.
    const probe = await listening()
    const dnsPort = (probe.address() as AddressInfo).port
    await new Promise((r) => probe.close(r))
    const { config } = loadConfig(['--listen', `127.0.0.1:${dnsPort}`, '--zones-dir', ZONES, '--incus-socket', made.socket, '--suffix', 'incus.example.org',
      '--http-listen', `127.0.0.1:${httpPort}`, '--poll-interval', '1s'], {})
    const failed = await start(config, pino({ level: 'silent' }), FAST).then(() => null, (err: unknown) => err)
    expect(failed).toBeInstanceOf(IncusDnsError)
    expect((failed as Error).message).toMatch(new RegExp(`^cannot listen on HTTP 127\\.0\\.0\\.1:${httpPort}: EADDRINUSE`))
    // The DNS listeners are closed: UDP and TCP bind on that port again.
    expect(await udpBinds(dnsPort)).toBe(true)
    const tcp = await listening(dnsPort)
    await new Promise((r) => tcp.close(r))
    // Incus is asked nothing more (a request already on its way aside): no poll at the 1 s interval, no event stream.
    await new Promise((r) => setTimeout(r, 200))
    const asked = sim.requests.length
    await new Promise((r) => setTimeout(r, 1500))
    expect(sim.requests.slice(asked)).toEqual([])
  })
})
