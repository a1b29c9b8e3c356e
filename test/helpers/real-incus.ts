/**
 * A private, real incusd for the tests (Debian bookworm-backports' incus-base, installed by .ci/run): its own
 * INCUS_DIR in a temp dir, a `dir` pool, test bridges on fixed private subnets with no NAT and a dnsmasq that
 * forwards nothing (`no-resolv`), the default profile's root and eth0, and a busybox image whose init runs
 * udhcpc (DHCPv4) while the kernel does SLAAC. `stop()` removes the instances, the bridges, the daemon and
 * the data dir, and is safe to call after a failure. Outside CI, missing packages skip the tests loudly.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const INCUSD = '/usr/libexec/incus/incusd'
export const BUSYBOX = '/usr/bin/busybox'

/**
 * This run's id: what it makes on the shared host (its bridges) carries it, so that it removes only what it
 * made, by name, and never what another run on the machine has (issue 26, 15).
 */
export const RUN = randomBytes(2).toString('hex')

export interface Bridge { readonly name: string; readonly ipv4: string; readonly cidr4: string; readonly ipv6: string; readonly cidr6: string }

/** The test bridges, named for this run: subnets nothing on these machines uses (checked at start, never taken over). */
export const BRIDGES: readonly [Bridge, Bridge] = [
  { name: `idns${RUN}b0`, ipv4: '10.251.71.1', cidr4: '10.251.71.1/24', ipv6: 'fd42:251:71::1', cidr6: 'fd42:251:71::1/64' },
  { name: `idns${RUN}b1`, ipv4: '10.251.72.1', cidr4: '10.251.72.1/24', ipv6: 'fd42:251:72::1', cidr6: 'fd42:251:72::1/64' },
]

/** A second standalone daemon's bridge (the remotes tests): its own subnets. */
export const SECOND_BRIDGES: readonly [Bridge] = [
  { name: `idns${RUN}b2`, ipv4: '10.251.73.1', cidr4: '10.251.73.1/24', ipv6: 'fd42:251:73::1', cidr6: 'fd42:251:73::1/64' },
]

export const IMAGE = 'idns-busybox'

/** True when incusd, the CLI, dnsmasq and busybox are here. Under CI a missing one fails; else a loud skip. */
export function haveRealIncus(): boolean {
  const missing = [[INCUSD, 'incus-base (from bookworm-backports)'], ['/usr/bin/incus', 'incus-base (from bookworm-backports)'],
    ['/usr/sbin/dnsmasq', 'dnsmasq-base'], [BUSYBOX, 'busybox-static']].filter(([p]) => !existsSync(p as string))
  if (missing.length === 0) return true
  const msg = `real-Incus tests need ${missing.map(([p, pkg]) => `${p} (Debian package ${pkg})`).join(', ')}; .ci/run installs them`
  if (process.env.CI === 'true') throw new Error(`${msg}; CI must not skip these tests`)
  console.warn(`\n!!! SKIPPING the real-Incus tests: ${msg}\n`)
  return false
}

export function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout)
    })
    // create and launch read YAML from a stdin that is not a terminal: give them none (or the input).
    child.stdin?.on('error', () => { /* the command did not read it */ })
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })
}

export interface RealIncus {
  readonly dir: string
  readonly socket: string
  /** The incus CLI against this daemon. */
  incus(args: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<string>
  /** GET over the unix socket; the envelope's metadata. */
  get<T>(path: string): Promise<T>
  /** incusd's own log, for failure messages. */
  log(): string
  /** Kills incusd (SIGTERM; instances keep running, as on a real host), and starts it again. */
  stopDaemon(): Promise<void>
  startDaemon(): Promise<void>
  stop(): Promise<void>
}

/**
 * What this run made and may have left after a failure, by its own ids only: processes started with its own
 * INCUS_DIR (incusd's dnsmasq, forkproxy, monitors), then its own bridges by name. Nothing by a pattern.
 */
async function removeOwn(data: string, bridges: readonly Bridge[]): Promise<void> {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`INCUS_DIR=${data}`)) process.kill(Number(pid), 'SIGKILL')
    } catch { /* gone, or not ours to read */ }
  }
  for (const b of bridges) {
    // Its dnsmasq, by the pid incusd wrote in this run's data dir.
    try { process.kill(Number(readFileSync(join(data, 'networks', b.name, 'dnsmasq.pid'), 'utf8').trim()), 'SIGKILL') } catch { /* none */ }
    await run('/sbin/ip', ['link', 'del', b.name], process.env, 5000).catch(() => '')
  }
}

async function checkSubnetsFree(bridges: readonly Bridge[]): Promise<void> {
  const routes = await run('/sbin/ip', ['-4', 'route'], process.env, 5000) + await run('/sbin/ip', ['-6', 'route'], process.env, 5000)
  for (const b of bridges) {
    for (const prefix of [b.cidr4.replace(/\.1\/24$/, '.'), b.cidr6.replace(/1\/64$/, '')]) {
      if (routes.includes(prefix)) throw new Error(`test subnet ${prefix} is in use on this machine (ip route); the real-Incus tests need it free`)
    }
  }
}

/** A daemon with `bridges` (default BRIDGES); the first is the default profile's eth0. */
export async function startRealIncus(bridges: readonly Bridge[] = BRIDGES): Promise<RealIncus> {
  // A subnet in use is another run's (or the machine's): this run stops, and leaves it alone.
  await checkSubnetsFree(bridges)
  const dir = mkdtempSync(join(tmpdir(), 'incus-real-'))
  chmodSync(dir, 0o711) // the containers' mapped root must reach its rootfs through it
  const data = join(dir, 'data')
  mkdirSync(data)
  const socket = join(data, 'unix.socket')
  // incusd's own outbound HTTP (it fetches instance types at start) goes to a closed loopback port, not out.
  const env = { ...process.env, INCUS_DIR: data }
  const daemonEnv = { ...env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' }
  const logFile = join(dir, 'incusd.log')
  let daemon: ChildProcess | null = null
  const incus = (args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> =>
    run('/usr/bin/incus', args, env, opts.timeoutMs ?? 60_000, opts.input)

  const startDaemon = async (): Promise<void> => {
    const out = openSync(logFile, 'a')
    daemon = spawn(INCUSD, ['--group', 'root'], { env: daemonEnv, stdio: ['ignore', out, out], detached: false })
    await incus(['admin', 'waitready', '--timeout', '60'], { timeoutMs: 65_000 })
  }
  const stopDaemon = async (): Promise<void> => {
    const d = daemon
    if (d === null || d.exitCode !== null) return
    const exited = new Promise<void>((r) => d.once('exit', () => r()))
    d.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
    if (d.exitCode === null && d.signalCode === null) { d.kill('SIGKILL'); await exited }
    daemon = null
  }

  const real: RealIncus = {
    dir, socket, incus, startDaemon, stopDaemon,
    get: <T>(path: string) => unixGet<T>(socket, path),
    log: () => { try { return readFileSync(logFile, 'utf8') } catch { return '' } },
    stop: async () => {
      // Everything that was made, even after a failure: instances in every project, bridges, the daemon, the dir.
      try {
        if (daemon !== null && daemon.exitCode === null) {
          const list = JSON.parse(await incus(['list', '--all-projects', '--format', 'json']).catch(() => '[]')) as { name: string; project: string }[]
          await Promise.all(list.map((i) => incus(['delete', '--force', '--project', i.project, i.name]).catch(() => '')))
          const projects = JSON.parse(await incus(['project', 'list', '--format', 'json']).catch(() => '[]')) as { name: string }[]
          for (const p of projects) if (p.name !== 'default') await incus(['project', 'delete', '--force', p.name]).catch(() => '')
          await incus(['profile', 'device', 'remove', 'default', 'eth0']).catch(() => '')
          for (const b of bridges) await incus(['network', 'delete', b.name]).catch(() => '')
          await incus(['admin', 'shutdown'], { timeoutMs: 30_000 }).catch(() => '')
        }
      } finally {
        await stopDaemon()
        await removeOwn(data, bridges)
        const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(data)).reverse()
        for (const m of mounts) await run('/bin/umount', ['-l', m], process.env, 10_000).catch(() => '')
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }

  try {
    await startDaemon()
    mkdirSync(join(dir, 'pool'))
    await incus(['storage', 'create', 'default', 'dir', `source=${join(dir, 'pool')}`])
    for (const b of bridges) {
      await incus(['network', 'create', b.name, `ipv4.address=${b.cidr4}`, `ipv6.address=${b.cidr6}`,
        'ipv4.nat=false', 'ipv6.nat=false', 'raw.dnsmasq=no-resolv'])
    }
    await incus(['profile', 'device', 'add', 'default', 'root', 'disk', 'path=/', 'pool=default'])
    await incus(['profile', 'device', 'add', 'default', 'eth0', 'nic', `network=${(bridges[0] as Bridge).name}`, 'name=eth0'])
    await incus(['image', 'import', buildBusyboxImage(join(dir, 'image')), '--alias', IMAGE])
    return real
  } catch (err) {
    const log = real.log().split('\n').slice(-10).join('\n')
    await real.stop()
    throw new Error(`${(err as Error).message}\nincusd log:\n${log}`)
  }
}

/**
 * A unified image tarball: busybox-static as every tool, an init that brings up lo and every NIC, runs udhcpc on each in
 * the background and exits on SIGPWR (what `incus stop` sends), and udhcpc's script writing the address, the
 * route and resolv.conf (the bridge's dnsmasq, and the search list of DHCP option 119 when the bridge sends one). `extra` adds files to the rootfs before it is packed.
 */
export function buildBusyboxImage(at: string, extra?: (rootfs: string) => void): string {
  const rootfs = join(at, 'rootfs')
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'var/log', 'usr/share/udhcpc']) mkdirSync(join(rootfs, d), { recursive: true })
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'))
  chmodSync(join(rootfs, 'bin/busybox'), 0o755)
  for (const tool of ['sh', 'ip', 'udhcpc', 'sleep', 'cat', 'nslookup', 'mount', 'ls', 'echo', 'mkdir', 'setsid', 'kill', 'ps', 'env', 'test', '[', 'tar', 'gzip', 'rm', 'grep', 'chmod', 'tail']) {
    symlinkSync('busybox', join(rootfs, 'bin', tool))
  }
  writeFileSync(join(rootfs, 'sbin/init'), `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc 2>/dev/null
/bin/busybox mount -t sysfs sys /sys 2>/dev/null
/bin/busybox ip link set lo up
[ -x /etc/rc.local ] && /etc/rc.local
for i in /sys/class/net/*; do
  n=\${i##*/}; [ "$n" = lo ] && continue
  /bin/busybox ip link set "$n" up 2>/dev/null
  /bin/busybox udhcpc -i "$n" -b -q -O search -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
done
trap 'exit 0' PWR TERM INT
while :; do /bin/busybox sleep 3600 & wait $!; done
`, { mode: 0o755 })
  writeFileSync(join(rootfs, 'usr/share/udhcpc/default.script'), `#!/bin/busybox sh
case "$1" in
  bound|renew)
    ip -4 addr flush dev "$interface" scope global # IPv4 only: SLAAC may already have given eth0 its IPv6
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ "$interface" = eth0 ] || exit 0 # a second NIC gets its address, not the default route or the resolver
    [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
    : > /etc/resolv.conf; for s in $dns; do echo "nameserver $s" >> /etc/resolv.conf; done
    [ -n "$search" ] && echo "search $search" >> /etc/resolv.conf ;; # DHCP option 119 (the bridge's dns.search)
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`, { mode: 0o755 })
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n')
  writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n')
  extra?.(rootfs)
  writeFileSync(join(at, 'metadata.yaml'), `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: incus-dns test image (busybox)\n  os: busybox\n  release: static\n`)
  const tarball = join(at, '..', `${at.split('/').pop() ?? 'image'}.tar.gz`)
  execFileSync('tar', ['-C', at, '-czf', tarball, 'metadata.yaml', 'rootfs'])
  return tarball
}

/** GET over an incusd's unix socket; the envelope's metadata. */
export function unixGet<T>(socket: string, path: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = http.get({ socketPath: socket, path, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => {
        try {
          const env = JSON.parse(body) as { type: string; error: string; metadata: T }
          if (env.type === 'error') reject(new Error(`GET ${path}: ${env.error}`))
          else resolve(env.metadata)
        } catch (err) { reject(err) }
      })
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)))
  })
}

/** One temp dir helper for tests that need scratch files next to the daemon's. */
export function scratch(real: RealIncus, name: string): string {
  const d = join(real.dir, name)
  mkdirSync(d, { recursive: true })
  return d
}
