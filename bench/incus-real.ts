/**
 * Event-to-answer on a real incusd (test/helpers/real-incus.ts: a private daemon, busybox containers on a
 * no-NAT bridge): BENCH_REAL_LAUNCHES launches (default 24), one at a time, each watched until both address
 * families are in Incus's state and in DNS. Prints, per family, p50/p95/max of
 *   - Incus's own time to the address (launch returned → address in state.network),
 *   - incus-dns's lag behind it (address in state → answered over UDP),
 *   - the total a client sees (launch returned → answered).
 * The poll interval is 120 s, so every answer comes from events and the address watcher. Needs root and
 * Debian's incus-base (bookworm-backports), busybox-static and dnsmasq-base; says so and exits 0 without them.
 */
import { existsSync } from 'node:fs'
import pino from 'pino'
import { start } from '../src/cli/main.ts'
import { loadConfig } from '../src/config/load.ts'
import { BUSYBOX, IMAGE, INCUSD, startRealIncus } from '../test/helpers/real-incus.ts'
import { lag, observe } from '../test/helpers/timeline.ts'
import type { Timeline } from '../test/helpers/timeline.ts'

const LAUNCHES = Number(process.env.BENCH_REAL_LAUNCHES ?? 24)
const SUFFIX = 'incus.example.org'

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length - 1) * p))] as number
}

function row(label: string, values: number[]): string {
  const finite = values.filter(Number.isFinite)
  const missed = values.length - finite.length
  const cell = (v: number): string => `${Math.round(v)}`.padStart(6)
  return `${label.padEnd(44)}${cell(pct(finite, 0.5))}${cell(pct(finite, 0.95))}${cell(Math.max(...finite))}${missed > 0 ? `   (${missed} never answered)` : ''}`
}

if (!existsSync(INCUSD) || !existsSync(BUSYBOX)) {
  console.log(`incus-real: skipped (needs ${INCUSD} from incus-base in bookworm-backports, and ${BUSYBOX})`)
  process.exit(0)
}

const real = await startRealIncus()
try {
  const { config } = loadConfig(['--listen', '127.0.0.1:0', '--zones-dir', new URL('../zones/', import.meta.url).pathname,
    '--incus-socket', real.socket, '--suffix', SUFFIX, '--poll-interval', '120s', '--http-listen', ''], {})
  const running = await start(config, pino({ level: 'silent' }))
  const port = running.server.addresses[0]?.port as number
  while (running.incus?.eventsConnected !== true || running.incus.ready !== true) await new Promise((r) => setTimeout(r, 10))
  const info = await real.get<{ environment: { server_version: string } }>('/1.0')

  const runs: Timeline[] = []
  for (let i = 0; i < LAUNCHES; i++) {
    const name = `bench${i}`
    await real.incus(['launch', IMAGE, name, '--quiet'])
    const t0 = Date.now()
    runs.push(await observe(real, { instance: name, dnsName: `${name}.${SUFFIX}`, port, t0, boundMs: 20_000 }))
    await real.incus(['delete', '--force', name])
  }
  await running.stop()

  console.log(`\nincus-real: ${LAUNCHES} launches on incusd ${info.environment.server_version}, busybox containers (udhcpc, kernel SLAAC), ms`)
  console.log(`${''.padEnd(44)}${'p50'.padStart(6)}${'p95'.padStart(6)}${'max'.padStart(6)}`)
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const state = runs.map((r) => r[fam].state ?? Number.POSITIVE_INFINITY)
    console.log(row(`${fam}: Incus, launch returned -> in state`, state))
    console.log(row(`${fam}: incus-dns, in state -> answered`, runs.map((r) => lag(r[fam]))))
    console.log(row(`${fam}: client, launch returned -> answered`, runs.map((r) => r[fam].dns ?? Number.POSITIVE_INFINITY)))
  }
} finally {
  await real.stop()
}
