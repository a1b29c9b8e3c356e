/**
 * Starts unbound on a free loopback port as the resolver in front of incus-dns: docs/resolvers.md's recipe
 * (a stub-zone for the suffix, and the two settings a loopback, unsigned zone needs: do-not-query-localhost:
 * no, domain-insecure), plus any server lines a test adds. Stops it with SIGTERM.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { which } from './binaries.ts'
import { freePort, waitFor } from './net.ts'

export interface Unbound {
  readonly port: number
  /** What unbound printed so far, for failure messages. */
  readonly stderr: () => string
  stop(): Promise<void>
}

/**
 * `ready` is polled until true (10 s at most) before this returns. `reverse`: reverse zones (e.g.
 * 10.in-addr.arpa) also sent to incus-dns, as docs/resolvers.md's recipe does for PTRs: unbound answers the
 * private ranges' reverse zones itself unless told `nodefault`.
 */
export async function startUnbound(o: { suffix: string; stubPort: number; server?: readonly string[]; modules?: string; reverse?: readonly string[]; trustAnchors?: readonly string[]; extraStubs?: readonly { name: string; port: number }[]; ready: (port: number) => Promise<boolean> }): Promise<Unbound> {
  // Trust anchors given: the zones are signed, so they are validated from those anchors, not marked insecure.
  const insecure = (z: string): string[] => o.trustAnchors === undefined ? [`  domain-insecure: "${z}"`] : []
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-unbound-'))
  const port = await freePort()
  writeFileSync(join(dir, 'unbound.conf'), [
    'server:', `  interface: 127.0.0.1@${port}`, '  port: ' + port, '  do-ip6: no', '  username: ""', '  chroot: ""',
    `  directory: "${dir}"`, `  pidfile: "${dir}/unbound.pid"`, '  use-syslog: no', '  logfile: ""', '  verbosity: 1',
    '  access-control: 127.0.0.0/8 allow', `  module-config: "${o.modules ?? 'iterator'}"`, '  do-not-query-localhost: no',
    ...(o.server ?? []).map((l) => `  ${l}`),
    ...insecure(o.suffix), `  local-zone: "${o.suffix}." transparent`,
    ...(o.reverse ?? []).flatMap((z) => [...insecure(z), `  local-zone: "${z}." nodefault`]),
    ...(o.trustAnchors ?? []).map((a) => `  trust-anchor: "${a}"`),
    ...[o.suffix, ...(o.reverse ?? [])].flatMap((z) => ['stub-zone:', `  name: "${z}"`, `  stub-addr: 127.0.0.1@${o.stubPort}`]),
    ...(o.extraStubs ?? []).flatMap((z) => ['stub-zone:', `  name: "${z.name}"`, `  stub-addr: 127.0.0.1@${z.port}`]), '',
  ].join('\n'))
  const child = spawn(which('unbound') ?? 'unbound', ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await gone
  }
  try {
    await waitFor(() => o.ready(port), 10_000, () => stderr)
  } catch (err) {
    await stop()
    throw err
  }
  return { port, stderr: () => stderr, stop }
}
