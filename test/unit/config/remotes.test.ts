/**
 * INCUS_DNS_INCUS_REMOTES: the list's syntax, the rules it has with other settings, and each remote resolved
 * from an incus client configuration folder, or refused with one line naming the remote, the file and the fix.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load.ts'
import { incusConfDir, incusRemotes } from '../../../src/config/remotes.ts'
import { ConfigErrors } from '../../../src/errors.ts'

const problems = (argv: string[], env: NodeJS.ProcessEnv = {}): string[] => {
  try { loadConfig(argv, env); return [] } catch (err) { if (err instanceof ConfigErrors) return err.problems.map((p) => p.message); throw err }
}
const resolved = (argv: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof incusRemotes> | string[] => {
  try { return incusRemotes(loadConfig(argv, env).config, env) } catch (err) { if (err instanceof ConfigErrors) return err.problems.map((p) => p.message); throw err }
}

function confDir(yml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'incus-conf-unit-'))
  writeFileSync(join(dir, 'config.yml'), yml)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const YML = 'remotes:\n  local:\n    addr: unix://\n  lab-a:\n    addr: https://192.0.2.10:8443\n    protocol: incus\n  images:\n    addr: https://images.linuxcontainers.org\n    protocol: simplestreams\n'

describe('INCUS_DNS_INCUS_REMOTES', () => {
  it('is a list of remote names, each with an optional suffix of its own', () => {
    const { config } = loadConfig(['--incus-remotes', 'lab-a, local=lab.example.org.'], {})
    expect(config.incusRemotes).toEqual([{ name: 'lab-a', suffix: null }, { name: 'local', suffix: 'lab.example.org' }])
    expect(problems(['--incus-remotes', 'a,a'])).toEqual(["INCUS_DNS_INCUS_REMOTES (--incus-remotes): remote 'a' is named twice"])
    expect(problems(['--incus-remotes', 'bad name'])).toEqual(["INCUS_DNS_INCUS_REMOTES (--incus-remotes): 'bad name' is not a remote name (as in: incus remote add <name> <url>)"])
  })

  it('refuses a URL or a socket beside it, views across several servers, and a conf folder without it', () => {
    expect(problems(['--incus-remotes', 'a', '--incus-url', 'https://192.0.2.1:8443', '--incus-tls-cert', 'c', '--incus-tls-key', 'k'])[0])
      .toBe('INCUS_DNS_INCUS_REMOTES and INCUS_DNS_INCUS_URL are both set; set one: the remotes of your incus client configuration, or one server (cluster) by URL')
    expect(problems(['--incus-remotes', 'a', '--incus-socket', '/run/incus/unix.socket'])).toEqual(["INCUS_DNS_INCUS_REMOTES and INCUS_DNS_INCUS_SOCKET are both set; a local server is a remote too (incus remote list shows it as 'local', unix://): name it in INCUS_DNS_INCUS_REMOTES"])
    expect(problems(['--incus-remotes', 'a,b', '--views', 'auto'])).toEqual(['INCUS_DNS_VIEWS is set with several INCUS_DNS_INCUS_REMOTES; views across several servers are not supported yet: name one remote, or unset INCUS_DNS_VIEWS'])
    expect(problems(['--incus-conf', '/tmp/x'])).toEqual(['INCUS_DNS_INCUS_CONF is set but INCUS_DNS_INCUS_REMOTES is not; the configuration folder is read only for remotes'])
  })

  it('the configuration folder: INCUS_DNS_INCUS_CONF, else $INCUS_CONF, else ~/.config/incus', () => {
    expect(incusConfDir({ incusConf: '/etc/x' }, { INCUS_CONF: '/y' })).toBe('/etc/x')
    expect(incusConfDir({ incusConf: '' }, { INCUS_CONF: '/y' })).toBe('/y')
    expect(incusConfDir({ incusConf: '' }, {})).toMatch(/\/\.config\/incus$/)
  })

  it('resolves unix:// (the local daemon, INCUS_DIR first) and https remotes (the pinned server certificate, the client pair)', () => {
    const dir = confDir(YML, { 'client.crt': PEM, 'client.key': PEM.replace(/CERTIFICATE/g, 'PRIVATE KEY'), 'servercerts/lab-a.crt': PEM })
    const r = resolved(['--incus-remotes', 'local,lab-a=lab-a.example.org', '--incus-conf', dir, '--suffix', 'incus.example.org'], { INCUS_DIR: '/srv/incus' })
    expect(Array.isArray(r) && typeof r[0] === 'object').toBe(true)
    const [local, lab] = r as ReturnType<typeof incusRemotes>
    expect(local).toEqual({ name: 'local', suffix: 'incus.example.org', connection: { kind: 'unix', socketPath: '/srv/incus/unix.socket' } })
    expect(lab?.suffix).toBe('lab-a.example.org')
    expect(lab?.connection).toMatchObject({ kind: 'https', url: 'https://192.0.2.10:8443', urls: ['https://192.0.2.10:8443'], pinned: true, ca: PEM, caFile: join(dir, 'servercerts', 'lab-a.crt') })
  })

  it('refuses, one line each, a remote not in config.yml, an image server, a missing client certificate, a missing config.yml', () => {
    const dir = confDir(YML)
    expect(resolved(['--incus-remotes', 'nope,images,lab-a', '--incus-conf', dir])).toEqual([
      `INCUS_DNS_INCUS_REMOTES: remote 'nope' is not in ${dir}/config.yml (it has: local, lab-a, images); add it with: incus remote add nope https://<address>:8443`,
      "INCUS_DNS_INCUS_REMOTES: remote 'images' speaks simplestreams (an image server), not the incus API; name an Incus server",
      `INCUS_DNS_INCUS_REMOTES: remote 'lab-a' needs the client certificate ${dir}/client.crt: ENOENT; the incus client makes it on its first remote add (or: incus remote generate-certificate)`,
      `INCUS_DNS_INCUS_REMOTES: remote 'lab-a' needs the client key ${dir}/client.key: ENOENT; the incus client makes it on its first remote add (or: incus remote generate-certificate)`,
    ])
    expect(resolved(['--incus-remotes', 'a', '--incus-conf', '/nonexistent/incus'])).toEqual([
      'INCUS_DNS_INCUS_REMOTES: cannot read /nonexistent/incus/config.yml: ENOENT; add the remotes with incus remote add, or point INCUS_DNS_INCUS_CONF (or INCUS_CONF) at the folder that has config.yml',
    ])
  })
})
