/**
 * Settings: parsers, precedence, and docs/configuration.md's table kept in step with the settings table.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import { helpText, loadConfig } from '../../../src/config/load.ts'
import { parseDuration, parseListen } from '../../../src/config/parse.ts'
import { SETTINGS } from '../../../src/config/settings.ts'
import { ConfigErrors } from '../../../src/errors.ts'

describe('parseDuration', () => {
  it.each([['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['1h', 3_600_000], ['1m30s', 90_000], ['1.5s', 1500]])('%s → %d ms', (t, v) => {
    expect(parseDuration(t)).toBe(v)
  })
  it.each(['', '10', 's', '5 s', '1d', '-1s', '3sx'])('rejects %j, asking for a unit', (t) => {
    expect(() => parseDuration(t)).toThrow(/is not a duration; write it with a unit, e\.g\. 500ms, 30s, 2m/)
  })
})

describe('parseListen', () => {
  it('takes a comma list of host:port and [v6]:port', () => {
    expect(parseListen('127.0.0.1:53, [::1]:5300,0.0.0.0:0')).toEqual([
      { host: '127.0.0.1', port: 53 }, { host: '::1', port: 5300 }, { host: '0.0.0.0', port: 0 },
    ])
  })
  it.each(['', 'localhost:53', '127.0.0.1', '::1:53', '[127.0.0.1]:53', '127.0.0.1:65536', '[::1]:x'])('rejects %j', (t) => {
    expect(() => parseListen(t)).toThrow()
  })
})

describe('loadConfig', () => {
  it('uses defaults that work with no settings at all', () => {
    const { config } = loadConfig([], {})
    expect(config.listen).toEqual([{ host: '127.0.0.1', port: 5300 }, { host: '::1', port: 5300 }])
    expect(config.zonesDir).toBe('zones')
    expect(config.tcpIdleTimeout).toBe(10_000)
  })
  it('takes a flag over its variable over the default', () => {
    expect(loadConfig(['--log-level', 'warn'], { INCUS_DNS_LOG_LEVEL: 'debug' }).config.logLevel).toBe('warn')
    expect(loadConfig([], { INCUS_DNS_LOG_LEVEL: 'debug' }).config.logLevel).toBe('debug')
  })
  it('collects every problem before failing', () => {
    try {
      loadConfig(['--listen', 'nope'], { INCUS_DNS_TCP_MAX_CONNECTIONS: '0', INCUS_DNS_ZONES_DIR: '' })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigErrors)
      expect((err as ConfigErrors).problems.map((p) => p.setting)).toEqual(['INCUS_DNS_LISTEN', 'INCUS_DNS_ZONES_DIR', 'INCUS_DNS_TCP_MAX_CONNECTIONS'])
    }
  })
  it('warns about unknown INCUS_DNS_ variables, suggesting the nearest', () => {
    expect(loadConfig([], { INCUS_DNS_LOGLEVEL: 'x', INCUS_DNS_SOMETHING_ELSE_ENTIRELY: 'y' }).warnings).toEqual([
      'INCUS_DNS_LOGLEVEL is not a setting of incus-dns and is ignored; did you mean INCUS_DNS_LOG_LEVEL?',
      'INCUS_DNS_SOMETHING_ELSE_ENTIRELY is not a setting of incus-dns and is ignored',
    ])
  })
})

describe('Incus settings', () => {
  const problems = (argv: string[], env: Record<string, string> = {}): string[] => {
    try { loadConfig(argv, env); return [] } catch (err) { return (err as ConfigErrors).problems.map((p) => p.message) }
  }
  it('defaults to the standard Incus socket, all projects, running instances, 30 s TTL and polls', () => {
    const { config } = loadConfig([], {})
    expect(config.incusSocket).toBe('/var/lib/incus/unix.socket')
    expect(config.incusUrl).toEqual([])
    expect(config.project).toBe('')
    expect([...config.stateFilter]).toEqual(['running'])
    expect([config.ttl, config.pollInterval]).toEqual([30, 30_000])
    expect(config.reverseZones).toBe('auto')
  })
  it('refuses both a socket and a URL, naming both', () => {
    expect(problems(['--incus-socket', '/run/incus/unix.socket', '--incus-url', 'https://192.0.2.10:8443', '--incus-tls-cert', 'c', '--incus-tls-key', 'k'])).toEqual([
      'INCUS_DNS_INCUS_SOCKET and INCUS_DNS_INCUS_URL are both set; set one: the socket for a local Incus, the URL for a remote one',
    ])
  })
  it('needs a client certificate and key with a URL', () => {
    expect(problems([], { INCUS_DNS_INCUS_URL: 'https://192.0.2.10:8443' })).toEqual([
      'INCUS_DNS_INCUS_TLS_CERT is not set; INCUS_DNS_INCUS_URL needs a client certificate and key (make them with: incus remote generate-certificate, or openssl)',
      'INCUS_DNS_INCUS_TLS_KEY is not set; INCUS_DNS_INCUS_URL needs a client certificate and key (make them with: incus remote generate-certificate, or openssl)',
    ])
  })
  it('refuses TLS settings without a URL', () => {
    expect(problems(['--incus-tls-skip-verify', 'true'])).toEqual(['INCUS_DNS_INCUS_TLS_SKIP_VERIFY is set but INCUS_DNS_INCUS_URL is not; TLS settings apply only to a remote Incus over HTTPS'])
  })
  it('refuses an http:// URL and a bad TLS version', () => {
    expect(problems(['--incus-url', 'http://192.0.2.10:8443'])).toEqual(["INCUS_DNS_INCUS_URL (--incus-url): 'http://192.0.2.10:8443' is not https://host[:port], e.g. https://192.0.2.10:8443"])
    expect(problems(['--incus-tls-min-version', '1.1'])[0]).toBe("INCUS_DNS_INCUS_TLS_MIN_VERSION (--incus-tls-min-version): '1.1' is not one of 1.2, 1.3")
  })
  it('identity: the host name by default, any printable text, none, or a line saying what is wrong', () => {
    expect(loadConfig([], {}).config.identity).toBe(hostname())
    expect(loadConfig(['--identity', 'ns1.lab.example'], {}).config.identity).toBe('ns1.lab.example')
    expect(loadConfig([], { INCUS_DNS_IDENTITY: 'none' }).config.identity).toBeNull()
    expect(problems(['--identity', 'caf\u00e9'])).toEqual(["INCUS_DNS_IDENTITY (--identity): 'caf\u00e9' is not 1 to 255 printable ASCII characters; give a name like ns1.example.org, or 'hostname' or 'none'"])
    expect(problems(['--identity', 'x'.repeat(256)])[0]).toMatch(/^INCUS_DNS_IDENTITY \(--identity\): 'x+' is not 1 to 255 printable ASCII/)
  })
  it('needs a target in cname mode', () => {
    expect(problems(['--target-mode', 'cname'])).toEqual(['INCUS_DNS_TARGET_MODE is cname but INCUS_DNS_CNAME_TARGET is not set; give the name every instance should point at'])
    expect(loadConfig(['--target-mode', 'cname', '--cname-target', 'Proxy.Example.org.'], {}).config.cnameTarget).toBe('proxy.example.org')
  })
  it('checks statuses, suffix, reverse zones and TTL', () => {
    expect(problems(['--state-filter', 'running,sleeping'])[0]).toMatch(/'sleeping' is not an Incus status/)
    expect(problems(['--suffix', 'bad_name!.example'])[0]).toMatch(/^INCUS_DNS_SUFFIX \(--suffix\): 'bad_name!\.example' is not a domain name/)
    expect(problems(['--reverse-zones', '10.42.0.0/33'])[0]).toMatch(/'10\.42\.0\.0\/33' is not a CIDR/)
    expect(problems(['--ttl', '1500ms'])[0]).toMatch(/is not whole seconds/)
    expect(loadConfig(['--reverse-zones', '10.42.0.0/24, fd42::/64'], {}).config.reverseZones).toEqual(['10.42.0.0/24', 'fd42::/64'])
  })
  it('reads split-horizon views: auto, named ranges and networks, what they see, unnamed networks', () => {
    const { config } = loadConfig(['--views', ' auto ; lan=192.168.1.7/24, 2001:DB8:1::/64 ; vpn=10.8.0.0/24>192.168.1.0/24,incusbr0 ; incusbr1; one=192.0.2.9'], {})
    expect(config.views).toEqual([
      { kind: 'auto' },
      { kind: 'view', name: 'lan', clients: { cidrs: ['192.168.1.0/24', '2001:db8:1::/64'], networks: [] }, sees: { cidrs: ['192.168.1.0/24', '2001:db8:1::/64'], networks: [] } },
      { kind: 'view', name: 'vpn', clients: { cidrs: ['10.8.0.0/24'], networks: [] }, sees: { cidrs: ['192.168.1.0/24'], networks: ['incusbr0'] } },
      { kind: 'view', name: 'incusbr1', clients: { cidrs: [], networks: ['incusbr1'] }, sees: { cidrs: [], networks: ['incusbr1'] } },
      { kind: 'view', name: 'one', clients: { cidrs: ['192.0.2.9/32'], networks: [] }, sees: { cidrs: ['192.0.2.9/32'], networks: [] } },
    ])
    expect(loadConfig([], {}).config.views).toEqual([])
  })
  it('refuses views it cannot read, naming the view and how to write it', () => {
    const first = (v: string, more: string[] = []): string | undefined => problems(['--views', v, ...more])[0]
    expect(first('10.8.0.0/24')).toBe("INCUS_DNS_VIEWS (--views): view '10.8.0.0/24' needs a name: write name=10.8.0.0/24 (e.g. 'auto', 'lan=192.168.1.0/24' or 'vpn=10.8.0.0/24>192.168.1.0/24')")
    expect(first('lan=10.8.0.0/33')).toMatch(/^INCUS_DNS_VIEWS \(--views\): '10\.8\.0\.0\/33' in view 'lan=10\.8\.0\.0\/33' is not a CIDR/)
    expect(first('lan=10.0.0.0/8;lan=10.1.0.0/16')).toMatch(/view 'lan' is given twice/)
    expect(first('default=10.0.0.0/8')).toMatch(/'default' names the view of every other client/)
    expect(first('lan=>10.0.0.0/8')).toMatch(/has an empty side/)
    expect(first('la n=10.0.0.0/8')).toMatch(/view name 'la n' is not letters/)
    expect(first(' ; ')).toMatch(/lists no view/)
    expect(first('auto', ['--incus-socket', 'none'])).toMatch(/^INCUS_DNS_VIEWS is set but the Incus source is off/)
    expect(first('auto', ['--target-mode', 'cname', '--cname-target', 'proxy.example.org'])).toMatch(/^INCUS_DNS_VIEWS is set but INCUS_DNS_TARGET_MODE is cname/)
  })
  it('INCUS_DNS_VIEWS_ECS: addresses or CIDRs of resolvers, only with views', () => {
    expect(loadConfig(['--views', 'auto', '--views-ecs', '127.0.0.1, 10.0.0.0/8,::1'], {}).config.viewsEcs).toEqual(['127.0.0.1/32', '10.0.0.0/8', '::1/128'])
    expect(problems(['--views', 'auto', '--views-ecs', '10.0.0.300'])).toEqual(["INCUS_DNS_VIEWS_ECS (--views-ecs): '10.0.0.300' is not an address or a CIDR such as 127.0.0.1 or 10.42.0.0/24"])
    expect(problems(['--views-ecs', '127.0.0.1'])).toEqual(['INCUS_DNS_VIEWS_ECS is set but INCUS_DNS_VIEWS is not; a client subnet only picks among views, so set INCUS_DNS_VIEWS too or unset INCUS_DNS_VIEWS_ECS'])
  })
})

describe('flags and INCUS_DIR (issue 26, 14)', () => {
  it('a yes/no flag alone means yes, before another flag or at the end; with a value it takes the value', () => {
    expect(loadConfig(['--rrl-log-only'], {}).config.rrlLogOnly).toBe(true)
    expect(loadConfig(['--rrl-log-only', '--listen', '127.0.0.1:53'], {}).config.rrlLogOnly).toBe(true)
    expect(loadConfig(['--rrl-log-only', 'false'], {}).config.rrlLogOnly).toBe(false)
  })

  it('the Incus socket follows INCUS_DIR as the incus command does, unless named; --help says so', () => {
    expect(loadConfig([], { INCUS_DIR: '/srv/incus/' }).config.incusSocket).toBe('/srv/incus/unix.socket')
    expect(loadConfig(['--incus-socket', '/run/x.socket'], { INCUS_DIR: '/srv/incus' }).config.incusSocket).toBe('/run/x.socket')
    expect(loadConfig([], {}).config.incusSocket).toBe('/var/lib/incus/unix.socket')
    expect(helpText()).toContain('INCUS_DIR')
  })
})

describe('docs/configuration.md settings table', () => {
  const readme = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')
  const rows = readme.split('\n').filter((l) => l.startsWith('| `INCUS_DNS_') && !l.startsWith('| `INCUS_DNS_ERR_'))
  it('has one row per setting with its flag and default, and no others', () => {
    const expected = Object.values(SETTINGS).map((s) => `| \`${s.env}\` | \`--${s.flag}\` | \`${s.default}\` |`)
    expect(rows.map((r) => r.split('|').slice(0, 4).join('|') + '|')).toEqual(expected)
  })

  it("says what --help says of each (issue 26, 14: the docs stay true)", () => {
    expect(rows).toEqual(Object.values(SETTINGS).map((s) => `| \`${s.env}\` | \`--${s.flag}\` | \`${s.default}\` | ${s.help} |`))
  })
})

describe('docs/operations.md metrics table', () => {
  it('lists every exported metric with its type and labels, and no others', async () => {
    const { METRICS } = await import('../../../src/http/metrics.ts')
    const readme = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8')
    const rows = readme.split('\n').filter((l) => l.startsWith('| `incus_dns_'))
    expect(rows.map((r) => r.split('|').slice(1, 4).map((c) => c.trim()).join(' '))).toEqual(
      METRICS.map(([name, type, labels]) => `\`${name}\` ${type} ${labels === '' ? '–' : labels}`))
  })
  it('names metrics as Prometheus asks: incus_dns_ prefix, counters end _total, durations _seconds', async () => {
    const { METRICS } = await import('../../../src/http/metrics.ts')
    for (const [name, type] of METRICS) {
      expect(name).toMatch(/^incus_dns_[a-z0-9_]+$/)
      if (type === 'counter') expect(name).toMatch(/_total$/)
      if (name.includes('duration')) expect(name).toMatch(/_seconds$/)
    }
  })
})

describe('docs/troubleshooting.md table', () => {
  it('documents every error code the code can raise, and no other', () => {
    const src = readFileSync(new URL('../../../src/errors.ts', import.meta.url), 'utf8')
    const codes = [...new Set([...src.matchAll(/'(INCUS_DNS_ERR_[A-Z_]+)'/g)].map((m) => m[1]))].sort()
    const readme = readFileSync(new URL('../../../docs/troubleshooting.md', import.meta.url), 'utf8')
    const documented = [...readme.matchAll(/^\| `(INCUS_DNS_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort()
    expect(documented).toEqual(codes)
    expect(codes.length).toBeGreaterThanOrEqual(8)
  })
})

describe('settings named in the code', () => {
  it('every INCUS_DNS_* name in src/ is a setting of the table (or an error code, INCUS_DNS_ERR_*)', () => {
    const src = new URL('../../../src/', import.meta.url).pathname
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
    const envs = new Set(Object.values(SETTINGS).map((s) => s.env))
    const unknown = new Set<string>()
    for (const file of walk(src)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/INCUS_DNS_[A-Z0-9_]+/g)) if (!envs.has(m[0]) && !m[0].startsWith('INCUS_DNS_ERR_')) unknown.add(`${file.replace(src, 'src/')}: ${m[0]}`)
    }
    expect([...unknown]).toEqual([])
  })
})
