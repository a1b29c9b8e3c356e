/**
 * deploy/prometheus/incus-dns.rules.yml with Debian's promtool: `promtool check rules` takes it, and `promtool
 * test rules` runs test/fixtures/prometheus/incus-dns.tests.yml (each alert with series that fire and series
 * that do not, and not before its `for`). Every metric the rules name is one incus-dns exports.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { METRICS } from '../../src/http/metrics.ts'
import { havePeer, which } from '../helpers/binaries.ts'

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

  it('every metric they name is one incus-dns exports', () => {
    const names = new Set(METRICS.map((m) => m[0] as string))
    const used = [...readFileSync(RULES, 'utf8').matchAll(/\bincus_dns_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))
    expect(used.length).toBeGreaterThan(8)
    expect(used.filter((n) => !names.has(n))).toEqual([])
  })
})
