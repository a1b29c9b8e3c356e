/**
 * deploy/prometheus/incus-dns.rules.yml with Debian's promtool: `promtool check rules` takes it, and `promtool
 * test rules` runs test/fixtures/prometheus/incus-dns.tests.yml (each alert with series that fire and series
 * that do not, and not before its `for`). Every metric the rules name is one incus-dns exports.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { METRICS } from '../../src/http/metrics.ts'
import { havePeer, which } from '../helpers/binaries.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const run = promisify(execFile)
const RULES = new URL('../../deploy/prometheus/incus-dns.rules.yml', import.meta.url).pathname
const TESTS = new URL('../fixtures/prometheus/incus-dns.tests.yml', import.meta.url).pathname

describe.skipIf(!havePeer('promtool', 'prometheus'))('the Prometheus alert rules', () => {
  it('promtool check rules takes them', async () => {
    const { stdout } = await run(which('promtool') as string, ['check', 'rules', RULES])
    expect(stdout).toContain('SUCCESS: 8 rules found')
  })

  it('promtool test rules: each alert fires on its series, and not on the others or too soon', async () => {
    const { stdout } = await run(which('promtool') as string, ['test', 'rules', TESTS])
    expect(stdout).toContain('SUCCESS')
  })

  it.each(['zone files only', 'with Incus'])('a healthy server %s fires none of them: its own /metrics, held for 30 minutes (issue 26, 10)', async (mode) => {
    const zones = new URL('../../zones/', import.meta.url).pathname
    let server: TestServer
    let close = async (): Promise<void> => {}
    if (mode === 'with Incus') {
      const { sim, socket } = await simSocket()
      sim.launch({ name: 'web', ipv4: '10.42.0.15' })
      server = (await startWithIncus(zones, ['--incus-socket', socket, '--suffix', 'incus.example.org'])).server
      await waitFor(() => server.incus?.ready === true && server.incus.eventsConnected, 5000)
      close = async () => { await server.stop(); await sim.close() }
    } else {
      server = await startServer(zones)
      close = async () => { await server.stop() }
    }
    let text: string
    try {
      text = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
    } finally {
      await close()
    }
    // Each of our samples as a promtool input series, constant for 40 minutes (counters then have rate 0).
    const series = text.split('\n').filter((l) => l.startsWith('incus_dns_')).map((l) => {
      const at = l.lastIndexOf(' ')
      const [name, labels] = l.slice(0, at).includes('{') ? [l.slice(0, l.indexOf('{')), l.slice(l.indexOf('{') + 1, at - 1)] : [l.slice(0, at), '']
      const all = [labels, 'instance="dns:9153"', 'job="incus-dns"'].filter((x) => x !== '').join(',')
      const value = l.slice(at + 1)
      return `      - series: '${name}{${all}}'\n        values: '${value === 'NaN' ? 'NaN' : value}x40'`
    })
    const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string)
    const dir = mkdtempSync(join(tmpdir(), 'idns-alerts-'))
    const file = join(dir, 'healthy.tests.yml')
    writeFileSync(file, ['rule_files:', `  - ${RULES}`, 'evaluation_interval: 1m', 'tests:', '  - interval: 1m', '    input_series:', ...series,
      '    alert_rule_test:', ...alerts.flatMap((a) => ['      - eval_time: 30m', `        alertname: ${a}`, '        exp_alerts: []']), ''].join('\n'))
    const out = await run(which('promtool') as string, ['test', 'rules', file]).then((r) => r.stdout, (e: { stdout: string; stderr: string }) => e.stdout + e.stderr)
    expect(out).toContain('SUCCESS')
  }, 30_000)

  it('every metric they name is one incus-dns exports', () => {
    const names = new Set(METRICS.map((m) => m[0] as string))
    const used = [...readFileSync(RULES, 'utf8').matchAll(/\bincus_dns_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))
    expect(used.length).toBeGreaterThan(8)
    expect(used.filter((n) => !names.has(n))).toEqual([])
  })
})
