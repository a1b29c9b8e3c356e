#!/usr/bin/env node
/**
 * @module cli/demo
 * `npm run demo`: incus-dns on the built-in simulated Incus (a unix socket in a temp folder) with a few
 * instances, then a new instance launched every 20 s so the live updates can be watched with dig. Any
 * INCUS_DNS_* setting or flag still applies; the Incus connection and suffix default to the simulator's.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../config/load.ts'
import { formatAddress } from '../address.ts'
import { ConfigErrors, IncusDnsError } from '../errors.ts'
import { createLogger } from '../log.ts'
import { SimIncus } from '../sim/server.ts'
import { start } from './main.ts'

const sim = new SimIncus()
const socket = join(mkdtempSync(join(tmpdir(), 'incus-dns-demo-')), 'unix.socket')
await sim.listenUnix(socket)
sim.launch({ name: 'web', ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15', config: { 'user.dns.aliases': 'www' } })
sim.launch({ name: 'app', ipv4: '10.42.0.23', config: { 'user.dnsweaver.hostname': 'shop' } })
sim.launch({ name: 'api', project: 'staging', ipv4: '10.42.0.77' })
sim.launch({ name: 'vm-docker', type: 'virtual-machine', ipv4: '10.42.0.50', docker: true })
sim.launch({ name: 'noagent', type: 'virtual-machine', agent: false, ipv4: '10.42.0.61' })
sim.create({ name: 'db', ipv4: '10.42.0.30' })
// A compose stack as incus-compose labels it, with ic-healthd's verdicts: shop-2 is unhealthy, so the
// service name leaves it out; SRV for each replica's port.
for (const [i, health] of [[1, 'healthy'], [2, 'unhealthy'], [3, 'healthy']] as const) {
  sim.launch({
    name: `shop-web-${i}`, ipv4: `10.42.0.${110 + i}`, ipv6: `fd42:4c81:5770:1eaf::${110 + i}`,
    config: { 'user.label.incus-compose.project': 'shop', 'user.label.incus-compose.service': 'shop-web', 'user.healthcheck.status': health, 'user.dns.srv.http': 'tcp/8080' },
  })
}

const env: NodeJS.ProcessEnv = { INCUS_DNS_SUFFIX: 'incus.example.org', ...process.env, INCUS_DNS_INCUS_SOCKET: socket }
delete env.INCUS_DNS_INCUS_URL
let loaded
try {
  loaded = loadConfig(process.argv.slice(2), env)
} catch (err) {
  if (!(err instanceof ConfigErrors)) throw err
  for (const p of err.problems) process.stderr.write(`incus-dns demo: ${p.message}\n`)
  await sim.close()
  process.exit(2)
}
const { config } = loaded
const log = createLogger(config.logLevel)
let running
try {
  running = await start(config, log)
} catch (err) {
  // One line, as the command prints it (a port already taken, a broken zone file), not a stack trace.
  if (!(err instanceof IncusDnsError)) throw err
  process.stderr.write(`incus-dns demo: ${err.message}\n`)
  await sim.close()
  process.exit(1)
}
// Say "try" once the first sync is in, so that the answers are there (it takes milliseconds here).
for (let i = 0; i < 50 && running.incus !== null && !running.incus.ready; i++) await running.incus.nextSync()
const at = running.server.addresses[0]
const server = at === undefined ? '127.0.0.1' : at.host
const port = at?.port ?? 5300
const suffix = config.suffix ?? 'incus.example.org'
const d = `dig @${server} -p ${port}`
process.stderr.write(`
incus-dns demo: answering on ${running.server.addresses.map(formatAddress).join(', ')}
from the simulated Incus at ${socket} and the zone files in ${config.zonesDir}/. Try:

  ${d} web.${suffix} +short              # a running container (A)
  ${d} web.${suffix} AAAA +short         # its IPv6 address
  ${d} www.${suffix} +short              # user.dns.aliases=www: CNAME to web
  ${d} shop.${suffix} +short             # user.dnsweaver.hostname=shop
  ${d} api.staging.${suffix} +short      # project staging
  ${d} vm-docker.${suffix} +short        # a VM: its NIC wins over docker0
  ${d} db.${suffix}                      # stopped: NXDOMAIN
  ${d} shop-web.${suffix} +short         # a compose service: its healthy replicas (shop-web-2 is unhealthy)
  ${d} _http._tcp.shop-web.${suffix} SRV # SRV per served replica, their addresses in additional
  ${d} -x 10.42.0.15 +short              # PTR from the bridge's subnet
  ${d} www.example.org +short            # from zones/example.org.zone

A new instance is launched every 20 s (its address arrives 1 s after the start, with no event), and
shop-web-2's health flips between unhealthy and healthy each time. The status page's Services table shows it.
Ctrl-C stops. With a real Incus: INCUS_DNS_SUFFIX=${suffix} npm start (it reads /var/lib/incus/unix.socket).

`)
let n = 0
const launcher = setInterval(() => {
  n++
  const name = `demo-${n}`
  sim.launch({ name, ipv4: `10.42.0.${200 + (n % 50)}`, addressAfterMs: 1000 })
  process.stderr.write(`incus-dns demo: launched ${name}; try: ${d} ${name}.${suffix} +short\n`)
  const health = n % 2 === 1 ? 'healthy' : 'unhealthy'
  sim.setConfig('default', 'shop-web-2', 'user.healthcheck.status', health)
  process.stderr.write(`incus-dns demo: shop-web-2 is now ${health}; try: ${d} shop-web.${suffix} +short\n`)
}, 20_000)

const stop = async (): Promise<void> => {
  clearInterval(launcher)
  await running.stop()
  await sim.close()
  log.flush()
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
