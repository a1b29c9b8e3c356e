/**
 * INCUS_DNS_PROJECT: one project only. Its instances are published (named <name>.<project>.<suffix>),
 * instances of other projects are not, and the requests and the event stream are scoped to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe('INCUS_DNS_PROJECT=staging', () => {
  let sim: SimIncus
  let server: TestServer
  const ask = async (name: string) => decode((await udpExchange(server.port, query(name, 'A'))) as Buffer)
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    sim.launch({ name: 'api', project: 'staging', ipv4: '10.42.0.77' })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--project', 'staging', '--poll-interval', '60s'])).server
    await waitFor(() => server.incus?.ready === true && server.incus.eventsConnected, 5000)
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('publishes only that project, and asks Incus for that project only', async () => {
    expect((await ask(`api.staging.${S}`)).answer).toEqual([`api.staging.${S}. 30 IN A 10.42.0.77`])
    expect((await ask(`web.${S}`)).rcode).toBe(3)
    expect(sim.requests.some((r) => r.startsWith('GET /1.0/instances?recursion=2&project=staging'))).toBe(true)
    expect(sim.requests.some((r) => r.includes('all-projects'))).toBe(false)
  })

  it('follows events of that project and ignores the others', async () => {
    sim.launch({ name: 'worker', project: 'staging', ipv4: '10.42.0.78' })
    sim.launch({ name: 'other', ipv4: '10.42.0.79' })
    await waitFor(async () => (await ask(`worker.staging.${S}`)).answer.length === 1, 5000)
    expect((await ask(`other.${S}`)).rcode).toBe(3)
  })
})
