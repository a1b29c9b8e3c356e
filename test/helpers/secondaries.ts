/**
 * knotd and nsd as secondaries of incus-dns on loopback, for the zone-transfer tests.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { which } from './binaries.ts'

/** A daemon started by a test: its port, what it printed, and a stop that waits for it and removes `dir`. */
export interface Secondary {
  readonly port: number
  readonly log: () => string
  stop(): Promise<void>
}

export function spawnDaemon(bin: string, args: string[], dir: string, port: number): Secondary {
  const child: ChildProcess = spawn(which(bin) ?? bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  return {
    port,
    log: () => out,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface Key { readonly name: string; readonly secret: string }

/** knotd pulling `zone` from 127.0.0.1@primaryPort, accepting NOTIFY from 127.0.0.1 (IXFR by default). */
export function knotSecondary(port: number, primaryPort: number, zone: string, key: Key | null = null): Secondary {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-knot2-'))
  const keyRef = key === null ? [] : [`    key: ${key.name}`]
  writeFileSync(join(dir, 'knot.conf'), [
    'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${dir}`, '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1',
    ...(key === null ? [] : ['key:', `  - id: ${key.name}`, '    algorithm: hmac-sha256', `    secret: ${key.secret}`]),
    'database:', `    storage: ${dir}`,
    'remote:', '  - id: primary', `    address: 127.0.0.1@${primaryPort}`, ...keyRef,
    'acl:', '  - id: notify', '    address: 127.0.0.1', '    action: notify', ...keyRef,
    'template:', '  - id: default', `    storage: ${dir}`, '    zonefile-sync: -1', '    zonefile-load: none', '    journal-content: changes',
    'zone:', `  - domain: ${zone}`, '    master: primary', '    acl: notify',
    '',
  ].join('\n'))
  return spawnDaemon('knotd', ['-c', join(dir, 'knot.conf')], dir, port)
}

/** nsd pulling `zone` with AXFR from 127.0.0.1@primaryPort. */
export function nsdSecondary(port: number, primaryPort: number, zone: string): Secondary {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-nsd-'))
  writeFileSync(join(dir, 'nsd.conf'), [
    'server:', `  ip-address: 127.0.0.1@${port}`, '  do-ip6: no', `  zonesdir: "${dir}"`, `  database: ""`,
    `  pidfile: "${dir}/nsd.pid"`, `  xfrdfile: "${dir}/xfrd.state"`, `  zonelistfile: "${dir}/zone.list"`,
    '  username: ""', `  logfile: "${dir}/nsd.log"`, '  verbosity: 2', '  server-count: 1', '  xfrd-reload-timeout: 0',
    'remote-control:', '  control-enable: no',
    'zone:', `  name: ${zone}`, `  zonefile: "${zone}.zone"`, `  request-xfr: AXFR 127.0.0.1@${primaryPort} NOKEY`, '  allow-notify: 127.0.0.1 NOKEY',
    '',
  ].join('\n'))
  return spawnDaemon('nsd', ['-d', '-c', join(dir, 'nsd.conf')], dir, port)
}

/**
 * knotd as a catalog consumer (RFC 9432): its configuration names only the catalog `catalog` of the primary at
 * 127.0.0.1@primaryPort, signed with `key`; each member zone gets the template of its group (`groups`, the
 * first for a member without one), which writes the zone file to `<dir>/<group>/` at once: what shows which
 * template a member got. Refresh timers are long, so only NOTIFY moves it (../shared/real-clients.md).
 */
export function knotCatalogConsumer(port: number, primaryPort: number, catalog: string, key: Key, groups: readonly string[]): Secondary & { readonly dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-knotcat-'))
  const pulled = (storage: string, sync: number): string[] => ['    master: primary', '    acl: notify', `    storage: ${storage}`, `    zonefile-sync: ${sync}`, '    zonefile-load: none',
    '    journal-content: all', '    refresh-min-interval: 1d', '    refresh-max-interval: 1d', '    retry-min-interval: 1d']
  for (const g of groups) mkdirSync(join(dir, g))
  writeFileSync(join(dir, 'knot.conf'), [
    'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${dir}`, '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1',
    'log:', '  - target: stderr', '    any: info',
    'key:', `  - id: ${key.name}`, '    algorithm: hmac-sha256', `    secret: ${key.secret}`,
    'database:', `    storage: ${dir}`,
    'remote:', '  - id: primary', `    address: 127.0.0.1@${primaryPort}`, `    key: ${key.name}`,
    'acl:', '  - id: notify', '    address: 127.0.0.1', '    action: notify', `    key: ${key.name}`,
    'template:', '  - id: default', `    storage: ${dir}`,
    ...groups.flatMap((g) => [`  - id: ${g}`, ...pulled(join(dir, g), 0)]),
    'zone:', `  - domain: ${catalog}`, ...pulled(dir, -1), '    catalog-role: interpret', `    catalog-template: [ ${groups.join(', ')} ]`,
    '',
  ].join('\n'))
  return { ...spawnDaemon('knotd', ['-c', join(dir, 'knot.conf')], dir, port), dir }
}
