/**
 * deploy/Containerfile, built with Debian's podman (buildah underneath) and run. No registry but npm's can be
 * reached here, so the `node:24-bookworm-slim` base is a local stand-in made with buildah from the host: the
 * project's Node 24, its shared libraries, the machine's npm and CA bundle, busybox. The build runs with
 * `--isolation chroot`: crun refuses this machine's hybrid cgroups. `podman run` cannot start any container
 * here (crun and runc both fail on setrlimit), so the image that podman built is run as an Incus container
 * instead: its rootfs, its Env, WorkingDir and Entrypoint, with the Incus socket and the DNS port through
 * proxy devices, as a user of the image would wire them.
 */
import { execFile } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../../helpers/binaries.ts'
import { freePort } from '../../helpers/net.ts'
import { BUSYBOX, IMAGE } from '../../helpers/real-incus.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { rdata } from '../../helpers/answers.ts'
import { msUntil, S } from './common.ts'

const ROOT = new URL('../../../', import.meta.url).pathname
const NODE = join(ROOT, 'node_modules/node/bin/node')
const NPM = '/usr/lib/node_modules/npm'
const TAG = 'localhost/incus-dns-test:latest'
const BASE = 'docker.io/library/node:24-bookworm-slim'

function sh(file: string, args: readonly string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err !== null ? reject(new Error(`${file} ${args.join(' ')}: ${stderr.slice(-2000) || err.message}`)) : resolve(stdout)).stdin?.end()
  })
}

/** The stand-in for node:24-bookworm-slim: what the Containerfile uses of it (node, npm, sh, a `node` user). */
async function localBase(dir: string): Promise<void> {
  const r = join(dir, 'rootfs')
  for (const d of ['bin', 'usr/local/bin', 'usr/local/lib', 'etc/ssl/certs', 'tmp', 'root', 'home/node']) mkdirSync(join(r, d), { recursive: true })
  copyFileSync(BUSYBOX, join(r, 'bin/busybox'))
  for (const t of ['sh', 'ls', 'cat', 'mkdir', 'rm', 'cp', 'env', 'sleep']) symlinkSync('busybox', join(r, 'bin', t))
  copyFileSync(NODE, join(r, 'usr/local/bin/node'))
  const ldd = await sh('ldd', [NODE])
  for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) {
    const p = m[1] as string
    mkdirSync(join(r, dirname(p)), { recursive: true })
    copyFileSync(realpathSync(p), join(r, p))
  }
  cpSync(NPM, join(r, 'usr/local/lib/npm'), { recursive: true })
  writeFileSync(join(r, 'usr/local/bin/npm'), '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/npm/bin/npm-cli.js "$@"\n', { mode: 0o755 })
  copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(r, 'etc/ssl/certs/ca-certificates.crt'))
  writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n')
  writeFileSync(join(r, 'etc/group'), 'root:x:0:\nnode:x:1000:\n')
  const c = (await sh('buildah', ['from', 'scratch'])).trim()
  try {
    await sh('buildah', ['copy', c, `${r}/`, '/'])
    // The machine's CA bundle, so that npm inside the build trusts the registry as the host does.
    await sh('buildah', ['config', '--env', 'PATH=/usr/local/bin:/bin', '--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', c])
    await sh('buildah', ['commit', '-q', c, BASE])
  } finally {
    await sh('buildah', ['rm', c]).catch(() => '')
  }
}

interface ImageConfig { Env: string[]; Entrypoint: string[]; WorkingDir: string; User: string }

export function containerfileTests(env: RealEnv): void {
  const ok = havePeer('podman', 'podman') && havePeer('buildah', 'buildah') && existsSync(NPM)
  describe.skipIf(!ok)('deploy/Containerfile built with podman, run as an Incus container', () => {
    let port: number
    let config: ImageConfig
    beforeAll(async () => {
      const dir = join(env.real.dir, 'containerfile')
      mkdirSync(dir)
      await localBase(dir)
      await sh('podman', ['build', '--pull=never', '--isolation', 'chroot', '--network', 'host', '-q', '-t', TAG, '-f', join(ROOT, 'deploy/Containerfile'), ROOT])
      config = JSON.parse(await sh('podman', ['image', 'inspect', TAG, '--format', '{{json .Config}}'])) as ImageConfig
      // Its rootfs as an Incus image, with an init that does what a container engine does with the config.
      const mounted = (await sh('podman', ['image', 'mount', TAG])).trim()
      const image = join(dir, 'image')
      mkdirSync(join(image, 'rootfs'), { recursive: true })
      await sh('tar', ['-C', mounted, '-cf', join(dir, 'rootfs.tar'), '.'])
      await sh('podman', ['image', 'unmount', TAG]).catch(() => '')
      await sh('tar', ['-C', join(image, 'rootfs'), '-xf', join(dir, 'rootfs.tar')])
      for (const d of ['sbin', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(image, 'rootfs', d), { recursive: true })
      const exports = config.Env.map((e) => `export ${e.replace(/=(.*)$/, "='$1'")}`).join('\n')
      writeFileSync(join(image, 'rootfs/sbin/init'), `#!/bin/sh
${exports}
export INCUS_DNS_LISTEN=127.0.0.1:5300 INCUS_DNS_INCUS_SOCKET=/run/incus.socket INCUS_DNS_SUFFIX=${S}
cd ${config.WorkingDir}
trap 'exit 0' PWR TERM
${config.Entrypoint.join(' ')} > /tmp/incus-dns.log 2>&1 &
while :; do sleep 3600 & wait $!; done
`, { mode: 0o755 })
      writeFileSync(join(image, 'metadata.yaml'), `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: incus-dns built from deploy/Containerfile\n`)
      await sh('tar', ['-C', image, '-czf', join(dir, 'image.tar.gz'), 'metadata.yaml', 'rootfs'])
      await env.real.incus(['image', 'import', join(dir, 'image.tar.gz'), '--alias', 'idns-containerfile'], { timeoutMs: 180_000 })
      port = await freePort()
      await env.real.incus(['init', 'idns-containerfile', 'from-containerfile', '--quiet'])
      await env.real.incus(['config', 'device', 'add', 'from-containerfile', 'incus-socket', 'proxy', 'bind=instance',
        'listen=unix:/run/incus.socket', `connect=unix:${env.real.socket}`, 'uid=0', 'gid=0', 'mode=0600'])
      await env.real.incus(['config', 'device', 'add', 'from-containerfile', 'dns', 'proxy', `listen=udp:127.0.0.1:${port}`, 'connect=udp:127.0.0.1:5300'])
      // The image's /app/zones is empty: the user's zone files are mounted there (the example ones, here).
      await env.real.incus(['config', 'device', 'add', 'from-containerfile', 'zones', 'disk', `source=${join(ROOT, 'zones')}`, 'path=/app/zones', 'readonly=true'])
      await env.real.incus(['start', 'from-containerfile'])
    }, 400_000)
    afterAll(async () => {
      await env.real.incus(['delete', '--force', 'from-containerfile']).catch(() => '')
      await sh('podman', ['rmi', '-f', TAG, BASE]).catch(() => '')
    })

    it('the image has what the Containerfile says: production dependencies only, the entrypoint, non-root', async () => {
      expect(config.Entrypoint).toEqual(['node', 'dist/cli/bin.js'])
      expect(config.User).toBe('node')
      const mounted = (await sh('podman', ['image', 'mount', TAG])).trim()
      try {
        expect(existsSync(join(mounted, 'app/node_modules/undici'))).toBe(true)
        expect(existsSync(join(mounted, 'app/node_modules/vitest'))).toBe(false)
      } finally {
        await sh('podman', ['image', 'unmount', TAG]).catch(() => '')
      }
    })

    it('run, it answers its zone files and the Incus instances from the host', async () => {
      await msUntil(async () => (await rdata(port, 'www.example.org')).length > 0, 20_000, 'the Containerfile image answering')
      await env.real.incus(['launch', IMAGE, 'cf-probe', '--quiet'])
      await msUntil(async () => (await rdata(port, `cf-probe.${S}`)).length === 1, 10_000, 'an instance launched afterwards')
      await env.real.incus(['delete', '--force', 'cf-probe'])
    }, 40_000)
  })
}
