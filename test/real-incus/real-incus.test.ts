/**
 * incus-dns against a real incusd (6.0.4 LTS from bookworm-backports) with real busybox containers on real
 * bridges: launches answered within 1 s of each address appearing in Incus's own state, changes to a running
 * instance within 500 ms, two projects on two bridges, a tenant's hostile keys through a restricted certificate, incusd restarts, warm restarts, mTLS, the bridge
 * dnsmasq forwarding recipe, compose services with health and SRV, split horizon across two bridges, the catalog zone following a bridge made and deleted, two standalone daemons as remotes, and the deploy script. The poll interval is 120 s, so no poll hides a slow path.
 * One daemon serves every part (they run in order, in this one file); parts live in ./parts/.
 */
import { afterAll, afterEach, beforeAll, describe } from 'vitest'
import { haveRealIncus, startRealIncus } from '../helpers/real-incus.ts'
import type { RealIncus } from '../helpers/real-incus.ts'
import { catalogTests } from './parts/catalog.ts'
import { containerfileTests } from './parts/containerfile.ts'
import { deployTests } from './parts/deploy.ts'
import { lifecycleTests } from './parts/lifecycle.ts'
import { projectTests } from './parts/projects.ts'
import { remoteTests } from './parts/remotes.ts'
import { restartTests } from './parts/restarts.ts'
import { serviceTests } from './parts/services.ts'
import { resolverTests } from './parts/resolver.ts'
import { tenantTests } from './parts/tenants.ts'
import { tlsTests } from './parts/tls.ts'
import { viewTests } from './parts/views.ts'

export interface RealEnv { real: RealIncus }

describe.skipIf(!haveRealIncus())('a real incusd', () => {
  const env = {} as RealEnv
  let ran = 0
  beforeAll(async () => { env.real = await startRealIncus() }, 180_000)
  afterEach(() => { ran++ })
  afterAll(async () => {
    await env.real?.stop()
    // CI's log says how many real-Incus tests ran (rather than skipped).
    console.log(`real-Incus tests: ${ran} ran against incusd ${process.env.INCUS_VERSION ?? ''}`.trim())
  }, 180_000)

  lifecycleTests(env)
  projectTests(env)
  tenantTests(env)
  resolverTests(env)
  serviceTests(env)
  viewTests(env)
  catalogTests(env)
  tlsTests(env)
  remoteTests(env)
  restartTests(env)
  deployTests(env)
  containerfileTests(env)
})
