/**
 * The npm package as a user gets it: `npm pack` (prepack compiles dist/), `npm install` of the tarball into an
 * empty folder, then the installed `incus-dns` command: --help, and serving the packaged example zones, which
 * dig asks. The tarball holds what users need and none of the tests, benchmarks or CI.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { freePort, waitFor } from '../helpers/net.ts'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('the npm package, installed from its tarball', () => {
  let tarball: string
  let files: string[]
  let installed: string
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'incus-dns-pack-'))
    // The machine's npm (the `node` package brings no npm); its scripts find the project's Node first on the PATH.
    const npm = async (args: string[], cwd: string): Promise<string> => (await run('npm', args, { cwd, maxBuffer: 16 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } })).stdout
    const json = JSON.parse(await npm(['pack', '--json', '--pack-destination', out], ROOT)) as { filename: string; files: { path: string }[] }[]
    tarball = join(out, json[0]?.filename ?? '')
    files = (json[0]?.files ?? []).map((f) => f.path)
    installed = mkdtempSync(join(tmpdir(), 'incus-dns-install-'))
    // Dependencies come from npm's cache where it has them (npm ci filled it), else the registry.
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], installed)
  }, 240_000)

  it("holds as many files as the README says (issue 26, 14: the docs' numbers are held by a test)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(Number(/the tarball holds (\d+) files/.exec(readme)?.[1])).toBe(files.length)
  })

  it('holds dist/, the docs, deploy/ and the example zones, and no tests, benchmarks or CI', () => {
    expect(files).toContain('dist/cli/bin.js')
    expect(files).toContain('dist/incus/sync-worker.js')
    expect(files).toContain('dist/dns/worker.js')
    expect(files).toContain('docs/configuration.md')
    expect(files).toContain('deploy/incus-dns.service')
    expect(files).toContain('zones/example.org.zone')
    expect(files.filter((f) => /^(test|bench|\.ci|src)\//.test(f))).toEqual([])
    expect(files.some((f) => f.endsWith('.ts'))).toBe(false)
  })

  it('the installed command prints its help', async () => {
    const bin = join(installed, 'node_modules', '.bin', 'incus-dns')
    const { stdout } = await run(process.execPath, [bin, '--help'])
    expect(stdout).toContain('INCUS_DNS_LISTEN')
    expect(readdirSync(join(installed, 'node_modules', 'incus-dns'))).not.toContain('src')
  })

  it("on this machine's own Node, when older than what undici needs: one line naming the version, at start and in check", async (ctx) => {
    // The machine's Node, not the project's (node_modules/.bin comes first on the PATH of npm scripts).
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => { try { return execFileSync(p, ['--version']).toString().trim() !== '' } catch { return false } })
    const version = system === undefined ? '' : execFileSync(system, ['--version']).toString().trim().replace(/^v/, '')
    const [major = 0, minor = 0] = version.split('.').map(Number)
    if (system === undefined || major > 22 || (major === 22 && minor >= 19)) {
      if (process.env.CI === 'true' && system === undefined) throw new Error('no system Node to check the version message with')
      console.warn(`!!! SKIPPING the old-Node check: the system Node is ${version || 'missing'}`)
      ctx.skip()
      return
    }
    const bin = join(installed, 'node_modules', '.bin', 'incus-dns')
    for (const args of [['--incus-socket', '/nonexistent.socket'], ['check', '--incus-socket', 'none']]) {
      const r = await run(system as string, [bin, ...args]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e)
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`incus-dns: needs Node.js 22.19 or newer (its Incus client, undici 8, does); this is Node.js ${version} (${system}). Run it with a newer Node: the one \`npm ci\` puts in node_modules/.bin/node, or Node.js 22 or 24 from nodejs.org or NodeSource\n`)
    }
  })

  it('the installed command checks the packaged zones', async () => {
    const zones = join(installed, 'node_modules', 'incus-dns', 'zones')
    const { stdout } = await run(process.execPath, [join(installed, 'node_modules', '.bin', 'incus-dns'), 'check', '--zones-dir', zones, '--incus-socket', 'none'])
    expect(stdout).toMatch(/^zone example\.org: serial \d+, \d+ records/m)
  })

  it('the installed command serves the packaged zones, and dig gets answers', async () => {
    const port = await freePort()
    const zones = join(installed, 'node_modules', 'incus-dns', 'zones')
    const child = spawn(process.execPath, [join(installed, 'node_modules', '.bin', 'incus-dns'), '--incus-socket', 'none', '--zones-dir', zones,
      '--listen', `127.0.0.1:${port}`, '--http-listen', ''], { stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    child.stdout.on('data', (d: Buffer) => { log += d.toString() })
    child.stderr.on('data', (d: Buffer) => { log += d.toString() })
    try {
      await waitFor(() => log.includes('answering DNS'), 15_000, () => log)
      const r = await dig('127.0.0.1', port, 'www.example.org', 'A')
      expect(r.rcode).toBe('NOERROR')
      expect(r.answer.length).toBeGreaterThan(0)
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 30_000)

  afterAll(() => { /* the temp folders are left to the OS's tmp cleaning, as the other tests' are */ })
})
