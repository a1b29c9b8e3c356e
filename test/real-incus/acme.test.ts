/**
 * Incus's own certificate through incus-dns (issue 25, shared/incus-api §6.4): a real incusd (6.0.4) with
 * `acme.challenge=DNS-01` and `acme.provider=rfc2136` runs Debian's lego, which adds the challenge to
 * incus-dns by UPDATE, and pebble's check finds it there; incusd's server certificate is then pebble's.
 * incusd passes lego no `--dns.disable-cp`, so lego checks the zone's nameserver on port 53, by the name in the
 * NS record, through the system resolver. So everything runs in namespaces of this run's own (`unshare -m -n`,
 * nothing named, gone with its processes): a loopback where incus-dns answers on port 53, and an
 * /etc/resolv.conf, bind-mounted there only, that points at it. incusd gets its own INCUS_DIR, and its
 * environment trusts pebble's certificate (LEGO_CA_CERTIFICATES, inherited by lego).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { waitFor } from '../helpers/net.ts'
import { startPebble } from '../helpers/pebble.ts'
import type { Pebble } from '../helpers/pebble.ts'
import { haveRealIncus, INCUSD, run } from '../helpers/real-incus.ts'

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname
const ZONE = 'acme.example.org'
const DOMAIN = `incus.${ZONE}`
const KEY = { name: 'incusd', secret: Buffer.from('the key incusd signs updates with').toString('base64') }

/** The holder of the namespaces: /sys and /proc anew (as the cluster helper does), the resolver file, lo up. */
function holderScript(pidFile: string, resolvConf: string): string {
  return ['set -e', 'mount --move /sys /mnt', 'mount -t sysfs sysfs /sys', 'mount --move /mnt/fs/cgroup /sys/fs/cgroup', 'umount -l /mnt',
    'umount -l /proc', 'mount -t proc proc /proc', `mount --bind ${resolvConf} /etc/resolv.conf`, 'ip link set lo up', `echo $$ > ${pidFile}`, 'exec sleep 100000'].join('\n')
}

const have = haveRealIncus() && havePeer('pebble', 'pebble') && havePeer('lego', 'lego') && havePeer('unshare', 'util-linux') && havePeer('nsenter', 'util-linux')

describe.skipIf(!have)("Incus's own certificate through incus-dns (acme.challenge=DNS-01, acme.provider=rfc2136)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'idns-acme-incusd-'))
  const incusDir = join(dir, 'incus')
  let holder: ChildProcess | null = null
  let holderPid = 0
  let dns: ChildProcess | null = null
  let incusd: ChildProcess | null = null
  let pebble: Pebble | null = null
  let dnsOut = ''
  const incus = (args: string[], timeoutMs = 60_000): Promise<string> => run('/usr/bin/incus', args, { ...process.env, INCUS_DIR: incusDir }, timeoutMs)
  const inside = (): string[] => ['/usr/bin/nsenter', '-m', '-n', '-t', String(holderPid)]

  beforeAll(async () => {
    chmodSync(dir, 0o711)
    mkdirSync(incusDir, { mode: 0o711 })
    mkdirSync(join(dir, 'zones'))
    // The zone's nameserver is a name in it, at the loopback where incus-dns answers on port 53.
    writeFileSync(join(dir, 'zones', `${ZONE}.zone`), [`$ORIGIN ${ZONE}.`, '$TTL 300', '@ IN SOA ns hostmaster 1 7200 900 1209600 60', '@ IN NS ns', 'ns IN A 127.0.0.1', ''].join('\n'))
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n')
    const pidFile = join(dir, 'holder.pid')
    holder = spawn('/usr/bin/unshare', ['-m', '-n', '--propagation', 'private', '/bin/sh', '-c', holderScript(pidFile, join(dir, 'resolv.conf'))], { stdio: 'ignore' })
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000)
    holderPid = Number(readFileSync(pidFile, 'utf8').trim())
    const [nsenter, ...nsArgs] = inside()
    dns = spawn(nsenter as string, [...nsArgs, process.execPath, BIN, '--listen', '127.0.0.1:53', '--http-listen', '', '--incus-socket', 'none',
      '--zones-dir', join(dir, 'zones'), '--update-keys', `hmac-sha256:${KEY.name}:${KEY.secret}`, '--update-file', join(dir, 'updates.json')], { stdio: ['ignore', 'pipe', 'pipe'] })
    dns.stdout?.on('data', (d: Buffer) => { dnsOut += d.toString() })
    dns.stderr?.on('data', (d: Buffer) => { dnsOut += d.toString() })
    await waitFor(() => dnsOut.includes('answering DNS'), 15_000, () => dnsOut)
    pebble = await startPebble('127.0.0.1:53', { wrap: inside() })
    const out = openSync(join(dir, 'incusd.log'), 'a')
    incusd = spawn(nsenter as string, [...nsArgs, INCUSD, '--group', 'root'], { env: { ...process.env, INCUS_DIR: incusDir, LEGO_CA_CERTIFICATES: pebble.caFile }, stdio: ['ignore', out, out] })
    await incus(['admin', 'waitready', '--timeout', '60'], 65_000)
  }, 120_000)

  afterAll(async () => {
    // Everything this run made, by the processes it started: the daemon, pebble, incus-dns, the namespaces, the dir.
    if (incusd !== null && incusd.exitCode === null) {
      await incus(['admin', 'shutdown'], 30_000).catch(() => '')
      if (incusd.exitCode === null) { const gone = new Promise((r) => incusd?.once('exit', r)); incusd.kill('SIGKILL'); await gone }
    }
    await pebble?.stop()
    if (dns !== null && dns.exitCode === null) { const gone = new Promise((r) => dns?.once('exit', r)); dns.kill('SIGTERM'); await gone }
    holder?.kill('SIGKILL')
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(incusDir)).reverse()
    for (const m of mounts) await run('/bin/umount', ['-l', m], process.env, 10_000).catch(() => '')
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('incusd obtains its server certificate: lego adds the challenge by UPDATE, pebble finds it, the certificate is for acme.domain', async () => {
    const before = readFileSync(join(incusDir, 'server.crt'), 'utf8')
    const environment = [`RFC2136_NAMESERVER=127.0.0.1:53`, `RFC2136_TSIG_KEY=${KEY.name}`, `RFC2136_TSIG_SECRET=${KEY.secret}`, 'RFC2136_TSIG_ALGORITHM=hmac-sha256.',
      'RFC2136_PROPAGATION_TIMEOUT=30', 'RFC2136_POLLING_INTERVAL=1', 'RFC2136_SEQUENCE_INTERVAL=1'].join('\n')
    const t0 = Date.now()
    // One PUT: incusd renews at once when acme.* change (api_1.0.go), and `incus config set` waits for it.
    await incus(['config', 'set', `acme.domain=${DOMAIN}`, 'acme.email=admin@example.org', `acme.ca_url=${(pebble as Pebble).directory}`, 'acme.agree_tos=true',
      'acme.challenge=DNS-01', 'acme.provider=rfc2136', `acme.provider.environment=${environment}`, 'acme.provider.resolvers=127.0.0.1:53'], 150_000)
      .catch((err: Error) => { throw new Error(`${err.message}\nincus-dns: ${dnsOut.slice(-2000)}`) })
    console.log(`real incusd: its certificate for ${DOMAIN} through incus-dns in ${Date.now() - t0} ms`)
    const pem = readFileSync(join(incusDir, 'server.crt'), 'utf8')
    expect(pem).not.toBe(before)
    const cert = new X509Certificate(pem)
    expect(cert.subjectAltName).toBe(`DNS:${DOMAIN}`)
    expect(cert.issuer).toMatch(/Pebble Intermediate CA/)
    // What incus-dns saw: lego's add and delete, signed with the key, nothing left behind.
    const applied = dnsOut.split('\n').filter((l) => l.includes('"dynamic update applied"'))
    expect(applied.length).toBeGreaterThanOrEqual(2)
    expect(applied.every((l) => l.includes(`"key":"${KEY.name}"`))).toBe(true)
    // The updates file is written a second after a change: then it holds nothing either.
    await waitFor(() => (JSON.parse(readFileSync(join(dir, 'updates.json'), 'utf8')) as { records: unknown[] }).records.length === 0, 5000)
  }, 180_000)
})
