/**
 * deploy/incus-container.sh against the private incusd: incus-dns in a container, the Incus socket through a
 * proxy device, DNS published on host loopback through proxy devices, queried from the host over UDP and TCP.
 * `images:` cannot be reached here, so the test makes the image: busybox plus the shared libraries the
 * project's Node binary links against (what any glibc image such as Debian's has); the script pushes Node in.
 */
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dig } from '../../helpers/dig.ts'
import { freePort } from '../../helpers/net.ts'
import { buildBusyboxImage, IMAGE } from '../../helpers/real-incus.ts'
import { lag, observe } from '../../helpers/timeline.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { ask, rdata } from '../../helpers/answers.ts'
import { msUntil, S } from './common.ts'

const ROOT = new URL('../../../', import.meta.url).pathname
const SCRIPT = join(ROOT, 'deploy/incus-container.sh')
const NODE = join(ROOT, 'node_modules/node/bin/node')

/** The libraries `ldd` lists for Node, at the same paths in the rootfs. */
function nodeLibraries(rootfs: string): void {
  const out = execFileSync('ldd', [NODE], { encoding: 'utf8' })
  for (const m of out.matchAll(/(\/\S+) \(0x/g)) {
    const path = m[1] as string
    mkdirSync(join(rootfs, dirname(path)), { recursive: true })
    copyFileSync(realpathSync(path), join(rootfs, path))
  }
}

export function deployTests(env: RealEnv): void {
  describe('deploy/incus-container.sh: incus-dns as a container on the Incus host', () => {
    let port: number
    let output = ''
    beforeAll(async () => {
      const image = buildBusyboxImage(join(env.real.dir, 'glibc-image'), nodeLibraries)
      await env.real.incus(['image', 'import', image, '--alias', 'idns-glibc'])
      port = await freePort()
      const httpPort = await freePort()
      output = await new Promise<string>((resolve, reject) => {
        execFile('sh', [SCRIPT, '--image', 'idns-glibc', '--suffix', S, '--dns-listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`],
          { env: { ...process.env, INCUS_DIR: join(env.real.dir, 'data') }, timeout: 150_000 },
          (err, stdout, stderr) => (err !== null ? reject(new Error(`deploy script failed: ${stderr || err.message}\n${stdout}`)) : resolve(stdout + stderr))).stdin?.end()
      })
    }, 180_000)
    afterAll(async () => { await env.real.incus(['delete', '--force', 'incus-dns']).catch(() => '') })

    it('the script says where it answers', () => {
      expect(output).toContain(`incus-dns is answering in incus-dns: dig @127.0.0.1 -p ${port} <instance>.${S}`)
    })

    it("serves only the user's zones: without --zones, not the checkout's example zones (issue 26, 2)", async () => {
      expect((await ask(port, 'www.example.org')).rcode).toBe(5) // REFUSED: no zone of ours
      expect((await ask(port, S, 'SOA')).rcode).toBe(0)
    })

    it('answers from the host, over UDP and TCP, for an instance launched afterwards, within 1 s of each address', async () => {
      await env.real.incus(['launch', IMAGE, 'probe', '--quiet'])
      const tl = await observe(env.real, { instance: 'probe', dnsName: `probe.${S}`, port, t0: Date.now(), boundMs: 15_000 })
      expect(lag(tl.ipv4)).toBeLessThanOrEqual(1000)
      expect(lag(tl.ipv6)).toBeLessThanOrEqual(1000)
      expect(await rdata(port, `probe.${S}`)).toEqual([tl.ipv4.address])
      const tcp = await dig('127.0.0.1', port, `probe.${S}`, 'AAAA', { tcp: true })
      expect(tcp.answer).toEqual([`probe.${S}. 30 IN AAAA ${tl.ipv6.address}`])
      // The container itself is an instance too, on the bridge.
      await msUntil(async () => (await rdata(port, `incus-dns.${S}`)).length === 1, 5000, 'the incus-dns container names itself')
      await env.real.incus(['delete', '--force', 'probe'])
    }, 60_000)
  })
}
