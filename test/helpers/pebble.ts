/**
 * pebble, the ACME test CA (Debian's `pebble`), on loopback ports of its own, its DNS-01 checks asking the
 * server under test. The package ships no certificate: one for localhost and 127.0.0.1 is made here, and it is
 * the CA file each client trusts (LEGO_CA_CERTIFICATES, REQUESTS_CA_BUNDLE). `PEBBLE_VA_NOSLEEP` drops its
 * random sleeps; authorizations are never reused and nonces never rejected at random, so runs repeat.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selfSigned } from './certs.ts'
import { freePort, waitFor } from './net.ts'

export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string
  /** The CA file a client must trust to reach it. */
  readonly caFile: string
  readonly dir: string
  log(): string
  stop(): Promise<void>
}

/** Starts pebble checking DNS-01 against `dnsServer` (host:port); `wrap` runs it inside something (nsenter). */
export async function startPebble(dnsServer: string, o: { ports?: { listen: number; management: number }; wrap?: readonly string[] } = {}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'idns-pebble-'))
  const cert = selfSigned('localhost', 'DNS:localhost,IP:127.0.0.1')
  const listen = o.ports?.listen ?? await freePort()
  const management = o.ports?.management ?? await freePort()
  const config = join(dir, 'pebble.json')
  writeFileSync(config, JSON.stringify({ pebble: {
    listenAddress: `127.0.0.1:${listen}`, managementListenAddress: `127.0.0.1:${management}`, certificate: cert.certFile, privateKey: cert.keyFile,
    httpPort: await freePort(), tlsPort: await freePort(), ocspResponderURL: '', externalAccountBindingRequired: false,
  } }))
  const argv = [...(o.wrap ?? []), 'pebble', '-config', config, '-dnsserver', dnsServer]
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  await waitFor(() => out.includes('Listening on') || child.exitCode !== null, 10_000, () => out)
  if (child.exitCode !== null) throw new Error(`pebble exited: ${out}`)
  return {
    directory: `https://127.0.0.1:${listen}/dir`, caFile: cert.certFile, dir, log: () => out,
    async stop() {
      if (child.exitCode === null) { const gone = new Promise((r) => child.once('exit', r)); child.kill('SIGTERM'); await gone }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
