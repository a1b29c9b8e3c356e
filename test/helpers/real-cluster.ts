/**
 * A real Incus cluster of three incusd 6.0.4 members on this machine, for the tests: each member in mount and
 * network namespaces of its own (a holder process made by `unshare -m -n`, with /sys and /proc mounted anew and
 * the cgroup mounts moved back under /sys), joined by a veth pair to a host bridge with no route out. node1 is
 * bootstrapped with `incus admin init --preseed`, the others join with `incus cluster add` tokens, a `dir`
 * pool, and a managed bridge made with `--target` on each member and then once for the cluster: one subnet,
 * each member its own dnsmasq (shared/incus-api §6.1). incus-dns reaches the members over HTTPS from the host
 * with a client certificate the cluster trusts. `stop()` brings back a killed member, deletes every instance,
 * stops the daemons, ends the namespaces and removes the bridge, the veths and the data, after a failure too.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selfSigned } from './certs.ts'
import type { CertFiles } from './certs.ts'
import { buildBusyboxImage, IMAGE, INCUSD, RUN, run, unixGet } from './real-incus.ts'

/**
 * The host bridge joining the members, named for this run (RUN), and their addresses on it: a subnet nothing
 * else on these machines uses (checked at start: one in use stops this run and is left alone).
 */
export const CLUSTER_NET = { bridge: `idnsc${RUN}`, host: '10.251.90.1', prefix: '10.251.90.', cidr: '10.251.90.0/24' } as const
/** The veth pair of member n (1-based): the host's end, and the end moved into the member's namespace. */
const veth = (n: number): [string, string] => [`vic${RUN}${n}`, `vic${RUN}${n}c`]
/** The cluster's managed bridge, inside each member's namespace (every member has it, with the same subnet). */
export const CLUSTER_BRIDGE = { name: 'idnsclbr', ipv4: '10.251.91.1/24', ipv6: 'fd42:251:91::1/64', prefix4: '10.251.91.' } as const

export interface Member {
  readonly name: string
  /** Its address on the host bridge, and its HTTPS API there. */
  readonly address: string
  readonly url: string
  readonly dataDir: string
  readonly socket: string
}

export interface RealCluster {
  readonly dir: string
  readonly members: readonly Member[]
  /** Our client certificate (trusted by the cluster), the cluster certificate as CA, and the name it holds. */
  readonly tls: { readonly client: CertFiles; readonly ca: string; readonly serverName: string }
  /** The incus CLI against member i (0-based), through its unix socket. */
  incus(i: number, args: readonly string[], opts?: { timeoutMs?: number }): Promise<string>
  /** GET over member i's unix socket (observe() polls instance state through it). */
  get<T>(i: number, path: string): Promise<T>
  /** Kills member i's incusd with SIGKILL (its containers keep running, as when a host's daemon dies). */
  killDaemon(i: number): Promise<void>
  /** Starts member i's incusd again and waits until it serves the cluster. */
  startDaemon(i: number): Promise<void>
  log(i: number): string
  stop(): Promise<void>
}

/** What this test machine must have, as real-incus.ts checks it, plus util-linux's unshare and nsenter. */
const NEEDS = ['/usr/bin/unshare', '/usr/bin/nsenter']

export function clusterToolsMissing(): string[] {
  return NEEDS.filter((p) => !existsSync(p))
}

/** The tests name their instances cl<run>-*: a container a failed delete left is found by its cgroup and ended, this run's only. */
export const INSTANCE_PREFIX = `cl${RUN}-`

function leftoverContainerPids(): number[] {
  const pids: number[] = []
  const roots = ['/sys/fs/cgroup', ...(existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c)) : [])]
  for (const root of roots) {
    let entries: string[] = []
    try { entries = readdirSync(root) } catch { continue }
    for (const e of entries.filter((x) => x.startsWith(`lxc.payload.${INSTANCE_PREFIX}`))) {
      try { pids.push(...readFileSync(join(root, e, 'cgroup.procs'), 'utf8').split('\n').filter((x) => x !== '').map(Number)) } catch { /* gone */ }
    }
  }
  return [...new Set(pids)]
}

/** The holder of a member's namespaces: an `unshare -m -n` shell that mounts /sys and /proc anew, then sleeps. */
function holderScript(pidFile: string): string {
  return [
    'set -e',
    'mount --move /sys /mnt',
    'mount -t sysfs sysfs /sys',
    'mount --move /mnt/fs/cgroup /sys/fs/cgroup',
    'umount -l /mnt',
    'umount -l /proc',
    'mount -t proc proc /proc',
    `echo $$ > ${pidFile}`,
    'exec sleep 100000',
  ].join('\n')
}

async function until<T>(what: string, ms: number, f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try { return await f() } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms: ${(last as Error)?.message ?? String(last)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** This run's host side, by its own names (its dnsmasq and daemons go by their INCUS_DIR, in stop()). */
async function removeOwnLinks(size: number): Promise<void> {
  for (let n = 1; n <= size; n++) await run('/sbin/ip', ['link', 'del', veth(n)[0]], process.env, 5000).catch(() => '')
  await run('/sbin/ip', ['link', 'del', CLUSTER_NET.bridge], process.env, 5000).catch(() => '')
}

export async function startRealCluster(size = 3): Promise<RealCluster> {
  const routes = await run('/sbin/ip', ['-4', 'route'], process.env, 5000)
  if (routes.includes(CLUSTER_NET.prefix)) throw new Error(`test subnet ${CLUSTER_NET.cidr} is in use on this machine (ip route); the cluster tests need it free`)
  const dir = mkdtempSync(join(tmpdir(), 'incus-cluster-'))
  chmodSync(dir, 0o711)
  const members: Member[] = Array.from({ length: size }, (_, k) => {
    const n = k + 1
    const dataDir = join(dir, `node${n}`)
    mkdirSync(dataDir, { mode: 0o711 })
    return { name: `node${n}`, address: `${CLUSTER_NET.prefix}${10 + n}`, url: `https://${CLUSTER_NET.prefix}${10 + n}:8443`, dataDir, socket: join(dataDir, 'unix.socket') }
  })
  const holders: (ChildProcess | null)[] = members.map(() => null)
  const holderPids: number[] = members.map(() => 0)
  const daemons: (ChildProcess | null)[] = members.map(() => null)
  const incus = (i: number, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<string> =>
    run('/usr/bin/incus', args, { ...process.env, INCUS_DIR: (members[i] as Member).dataDir }, opts.timeoutMs ?? 120_000)

  const startDaemon = async (i: number): Promise<void> => {
    const m = members[i] as Member
    const out = openSync(join(dir, `${m.name}.log`), 'a')
    // incusd's own outbound HTTP goes to a closed port in its namespace, but member-to-member traffic does not.
    const env = { ...process.env, INCUS_DIR: m.dataDir, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: CLUSTER_NET.cidr }
    // nsenter enters the holder's namespaces and execs incusd, so the child's pid is incusd's own.
    daemons[i] = spawn('/usr/bin/nsenter', ['-n', '-m', '-t', String(holderPids[i]), INCUSD, '--group', 'root'], { env, stdio: ['ignore', out, out] })
    await incus(i, ['admin', 'waitready', '--timeout', '60'], { timeoutMs: 65_000 })
  }
  const killDaemon = async (i: number): Promise<void> => {
    const d = daemons[i]
    if (d === null || d === undefined || d.exitCode !== null || d.signalCode !== null) return
    const exited = new Promise<void>((r) => d.once('exit', () => r()))
    d.kill('SIGKILL')
    await exited
    daemons[i] = null
  }

  const cluster: RealCluster = {
    dir, members, incus, killDaemon,
    tls: { client: selfSigned('incus-dns-cluster-client'), ca: join(members[0]?.dataDir ?? dir, 'cluster.crt'), serverName: '' },
    get: <T>(i: number, path: string) => unixGet<T>((members[i] as Member).socket, path),
    startDaemon: async (i) => {
      await startDaemon(i)
      // Back in the cluster: it answers for it (a restarted member says "Server isn't ready yet" for a while).
      await until(`${members[i]?.name} back in the cluster`, 60_000, () => incus(i, ['cluster', 'list', '--format', 'csv'], { timeoutMs: 10_000 }))
    },
    log: (i) => { try { return readFileSync(join(dir, `${members[i]?.name}.log`), 'utf8') } catch { return '' } },
    stop: async () => {
      try {
        // Every member up, so that every instance can be deleted through the cluster.
        for (let i = 0; i < members.length; i++) {
          if (holderPids[i] !== 0 && (daemons[i] === null || daemons[i]?.exitCode !== null)) await startDaemon(i).catch(() => {})
        }
        const up = daemons.findIndex((d) => d !== null && d.exitCode === null)
        if (up >= 0) {
          await until('instances deleted', 90_000, async () => {
            const list = JSON.parse(await incus(up, ['list', '--format', 'json'], { timeoutMs: 20_000 })) as { name: string }[]
            if (list.length === 0) return
            await incus(up, ['delete', '--force', ...list.map((x) => x.name)], { timeoutMs: 60_000 })
            throw new Error(`${list.length} instances were still there`)
          }).catch(() => {})
          for (let i = members.length - 1; i >= 0; i--) await incus(i, ['admin', 'shutdown'], { timeoutMs: 30_000 }).catch(() => '')
        }
      } finally {
        for (let i = 0; i < members.length; i++) await killDaemon(i).catch(() => {})
        // What a failed delete left: container processes and monitors of our data dirs, our dnsmasq.
        for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            const env = readFileSync(`/proc/${pid}/environ`, 'utf8')
            if (env.includes(`INCUS_DIR=${dir}/`)) process.kill(Number(pid), 'SIGKILL')
          } catch { /* gone, or not ours to read */ }
        }
        for (const pid of leftoverContainerPids()) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
        for (const h of holders) h?.kill('SIGKILL')
        await removeOwnLinks(members.length)
        const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir)).reverse()
        for (const m of mounts) await run('/bin/umount', ['-l', m], process.env, 10_000).catch(() => '')
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }

  try {
    // The host side: a bridge with an address and no route out, a veth per member into it.
    await run('/sbin/ip', ['link', 'add', CLUSTER_NET.bridge, 'type', 'bridge'], process.env, 5000)
    await run('/sbin/ip', ['addr', 'add', `${CLUSTER_NET.host}/24`, 'dev', CLUSTER_NET.bridge], process.env, 5000)
    await run('/sbin/ip', ['link', 'set', CLUSTER_NET.bridge, 'up'], process.env, 5000)
    for (let i = 0; i < members.length; i++) {
      const m = members[i] as Member
      const pidFile = join(dir, `${m.name}.holder`)
      holders[i] = spawn('/usr/bin/unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', holderScript(pidFile)], { stdio: 'ignore' })
      holderPids[i] = await until(`${m.name}'s namespaces`, 10_000, async () => {
        const pid = Number(readFileSync(pidFile, 'utf8').trim())
        if (!(pid > 0)) throw new Error('no pid yet')
        return pid
      })
      const [host, inner] = veth(i + 1)
      await run('/sbin/ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', inner], process.env, 5000)
      await run('/sbin/ip', ['link', 'set', inner, 'netns', String(holderPids[i])], process.env, 5000)
      await run('/sbin/ip', ['link', 'set', host, 'master', CLUSTER_NET.bridge, 'up'], process.env, 5000)
      await run('/usr/bin/nsenter', ['-n', '-t', String(holderPids[i]), '/bin/sh', '-c',
        `ip link set lo up && ip link set ${inner} name eth0 && ip link set eth0 up && ip addr add ${m.address}/24 dev eth0`], process.env, 5000)
      await startDaemon(i)
    }
    // node1: the API on the cluster network (retried: the first PUT right after start can race the daemon),
    // then clustering with a dir pool. cluster.offline_threshold only once clustered: incusd 6.0.4 panics
    // setting it before (a nil heartbeat task in doApi10UpdateTriggers).
    await until('core.https_address on node1', 20_000, () => incus(0, ['config', 'set', 'core.https_address', `${members[0]?.address}:8443`]))
    const preseed = join(dir, 'node1.yaml')
    writeFileSync(preseed, 'storage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root:\n      path: /\n      pool: default\n      type: disk\ncluster:\n  server_name: node1\n  enabled: true\n')
    await run('/bin/sh', ['-c', `incus admin init --preseed < ${preseed}`], { ...process.env, INCUS_DIR: members[0]?.dataDir }, 60_000)
    await incus(0, ['config', 'set', 'cluster.offline_threshold', '11'])
    const clusterCert = readFileSync(join(members[0]?.dataDir ?? '', 'cluster.crt'), 'utf8')
    for (let i = 1; i < members.length; i++) {
      const m = members[i] as Member
      const token = (await incus(0, ['cluster', 'add', m.name, '--quiet'])).trim()
      const yaml = join(dir, `${m.name}.yaml`)
      writeFileSync(yaml, [
        'cluster:', '  enabled: true', `  server_name: ${m.name}`, `  server_address: ${m.address}:8443`, `  cluster_address: ${members[0]?.address}:8443`,
        '  cluster_certificate: |', ...clusterCert.trim().split('\n').map((l) => `    ${l}`), `  cluster_token: ${token}`,
        '  member_config:', '  - entity: storage-pool', '    name: default', '    key: source', '    value: ""', '',
      ].join('\n'))
      await run('/bin/sh', ['-c', `incus admin init --preseed < ${yaml}`], { ...process.env, INCUS_DIR: m.dataDir }, 120_000)
    }
    // The managed bridge: pending on every member, then created for the cluster (no NAT, nothing forwarded).
    for (const m of members) await incus(0, ['network', 'create', CLUSTER_BRIDGE.name, '--target', m.name])
    await incus(0, ['network', 'create', CLUSTER_BRIDGE.name, `ipv4.address=${CLUSTER_BRIDGE.ipv4}`, `ipv6.address=${CLUSTER_BRIDGE.ipv6}`,
      'ipv4.nat=false', 'ipv6.nat=false', 'raw.dnsmasq=no-resolv'])
    await incus(0, ['profile', 'device', 'add', 'default', 'eth0', 'nic', `network=${CLUSTER_BRIDGE.name}`, 'name=eth0'])
    await incus(0, ['image', 'import', buildBusyboxImage(join(dir, 'image')), '--alias', IMAGE])
    await incus(0, ['config', 'trust', 'add-certificate', cluster.tls.client.certFile])
    // Incus puts the host's name in the cluster certificate: that is the name to check it by.
    const san = new X509Certificate(clusterCert).subjectAltName ?? ''
    ;(cluster.tls as { serverName: string }).serverName = /DNS:([^,\s]+)/.exec(san)?.[1] ?? 'localhost'
    return cluster
  } catch (err) {
    const log = cluster.log(0).split('\n').slice(-8).join('\n')
    await cluster.stop()
    throw new Error(`${(err as Error).message}\nnode1's incusd log:\n${log}`)
  }
}
