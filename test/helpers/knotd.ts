/**
 * Starts knotd on a free loopback port serving the given zone files, waits until it answers, stops it
 * by pid. Used as the reference server in differential tests.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { which } from './binaries.ts'
import { freePort, waitFor } from './net.ts'
import { dig } from './dig.ts'

export interface Knotd {
  readonly port: number
  stop(): Promise<void>
}

export async function startKnotd(zonesDir: string, zones: readonly { domain: string; file: string }[]): Promise<Knotd> {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-knot-'))
  const port = await freePort()
  const conf = [
    'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${dir}`,
    '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1',
    'database:', `    storage: ${dir}`,
    'template:', '  - id: default', `    storage: ${zonesDir}`, '    semantic-checks: off',
    '    journal-content: none', '    zonefile-sync: -1',
    'zone:', ...zones.flatMap((z) => [`  - domain: ${z.domain}`, `    file: ${z.file}`]),
  ].join('\n')
  writeFileSync(join(dir, 'knot.conf'), conf + '\n')
  const child: ChildProcess = spawn(which('knotd') ?? 'knotd', ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const firstZone = zones[0]?.domain ?? '.'
  await waitFor(async () => (await dig('127.0.0.1', port, firstZone, 'SOA')).rcode === 'NOERROR', 10_000, () => `knotd did not answer: ${stderr}`)
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
