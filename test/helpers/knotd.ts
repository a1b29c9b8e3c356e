/**
 * Starts knotd on a free loopback port serving the given zone files, waits until it answers, stops it
 * by pid. Used as the reference server in differential tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dig } from './dig.ts'
import { freePort, waitFor } from './net.ts'
import { spawnDaemon } from './secondaries.ts'

export interface Knotd {
  readonly port: number
  stop(): Promise<void>
}

/**
 * `server` adds lines to knotd's server section, e.g. ['identity: ns1', 'nsid: ns1']; `more` adds sections
 * (a module's, say) and lines to the default template (its `global-module`).
 */
export async function startKnotd(zonesDir: string, zones: readonly { domain: string; file: string }[], server: readonly string[] = [],
  more: { readonly sections?: readonly string[]; readonly template?: readonly string[] } = {}): Promise<Knotd> {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-knot-'))
  const port = await freePort()
  const conf = [
    'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${dir}`,
    '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1', ...server.map((l) => `    ${l}`),
    'database:', `    storage: ${dir}`, ...(more.sections ?? []),
    'template:', '  - id: default', `    storage: ${zonesDir}`, '    semantic-checks: off',
    '    journal-content: none', '    zonefile-sync: -1', ...(more.template ?? []).map((l) => `    ${l}`),
    'zone:', ...zones.flatMap((z) => [`  - domain: ${z.domain}`, `    file: ${z.file}`]),
  ].join('\n')
  writeFileSync(join(dir, 'knot.conf'), conf + '\n')
  const daemon = spawnDaemon('knotd', ['-c', join(dir, 'knot.conf')], dir, port)
  const firstZone = zones[0]?.domain ?? '.'
  await waitFor(async () => (await dig('127.0.0.1', port, firstZone, 'SOA')).rcode === 'NOERROR', 10_000, () => `knotd did not answer: ${daemon.log()}`)
  return { port, stop: () => daemon.stop() }
}
