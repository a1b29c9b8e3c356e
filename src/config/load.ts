/**
 * @module config/load
 * Flags beat environment variables beat defaults. Every setting is parsed and every problem collected,
 * then start-up fails with one line per problem naming the setting, the value and what is accepted.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, ConfigErrors } from '../errors.ts'
import { isAtOrBelow, isReverseName } from '../zone/name.ts'
import { parseBoolean } from './parse.ts'
import { SETTINGS } from './settings.ts'
import type { Config, Setting } from './settings.ts'

export interface Loaded {
  readonly config: Config
  /** Settings given by flag or environment rather than defaulted (cross-field rules need to know). */
  readonly explicit: ReadonlySet<keyof Config>
  /** Things worth a warning that do not stop start-up (unknown INCUS_DNS_* variables). */
  readonly warnings: readonly string[]
  readonly help: boolean
  readonly version: boolean
}

/**
 * `--env-file FILE`: INCUS_DNS_* lines as systemd's EnvironmentFile= reads them (KEY=value, `#` and `;`
 * comments, quotes around a value), over the environment, as the unit applies /etc/default/incus-dns. So
 * `incus-dns check --env-file /etc/default/incus-dns` checks what the service will run with.
 */
function withEnvFile(argv: readonly string[], env: NodeJS.ProcessEnv): { argv: string[]; env: NodeJS.ProcessEnv } {
  const rest: string[] = []
  let file: string | null = null
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--env-file') { file = argv[++i] ?? ''; continue }
    if (a.startsWith('--env-file=')) { file = a.slice('--env-file='.length); continue }
    rest.push(a)
  }
  if (file === null) return { argv: rest, env }
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (err) {
    throw new ConfigErrors([new ConfigError('argv', `--env-file: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the file of INCUS_DNS_*=value lines the service reads`)])
  }
  const vars: Record<string, string> = {}
  const problems: ConfigError[] = []
  text.split('\n').forEach((line, i) => {
    const l = line.trim()
    if (l === '' || l.startsWith('#') || l.startsWith(';')) return
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l)
    if (m === null) { problems.push(new ConfigError('argv', `--env-file: ${file}:${i + 1}: not NAME=value`)); return }
    const v = (m[2] as string).trim()
    vars[m[1] as string] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v
  })
  if (problems.length > 0) throw new ConfigErrors(problems)
  return { argv: rest, env: { ...env, ...vars } }
}

export function loadConfig(givenArgv: readonly string[], givenEnv: NodeJS.ProcessEnv): Loaded {
  const { argv, env } = withEnvFile(givenArgv, givenEnv)
  const entries = Object.entries(SETTINGS) as [keyof Config, Setting<unknown>][]
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  }
  for (const [, s] of entries) options[s.flag] = { type: 'string' }
  // A yes/no flag given alone means yes (`--rrl-log-only`), as its help implies; a value after it still counts.
  const booleans = new Set(entries.filter(([, s]) => s.parse === parseBoolean).map(([, s]) => `--${s.flag}`))
  const args = argv.flatMap((a, i) => (booleans.has(a) && (argv[i + 1] === undefined || (argv[i + 1] as string).startsWith('--')) ? [a, 'true'] : [a]))
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new ConfigErrors([new ConfigError('argv', `${(err as Error).message}; see --help`)])
  }

  const problems: ConfigError[] = []
  const config: Record<string, unknown> = {}
  const explicit = new Set<keyof Config>()
  for (const [key, s] of entries) {
    const fromFlag = values[s.flag]
    const given = typeof fromFlag === 'string' ? fromFlag : env[s.env]
    if (given !== undefined) explicit.add(key)
    // The socket follows INCUS_DIR as the incus command does, when nothing names it.
    const raw = given ?? (key === 'incusSocket' && env.INCUS_DIR !== undefined && env.INCUS_DIR !== '' ? `${env.INCUS_DIR.replace(/\/$/, '')}/unix.socket` : s.default)
    try {
      config[key] = s.parse(raw)
    } catch (err) {
      problems.push(new ConfigError(s.env, `${s.env} (--${s.flag}): ${(err as Error).message}`))
    }
  }
  if (problems.length > 0) throw new ConfigErrors(problems)
  problems.push(...crossChecks(config as Config, explicit))
  if (problems.length > 0) throw new ConfigErrors(problems)

  const known = new Set(entries.map(([, s]) => s.env))
  const warnings = Object.keys(env)
    .filter((k) => k.startsWith('INCUS_DNS_') && !known.has(k))
    .map((k) => `${k} is not a setting of incus-dns and is ignored${suggest(k, [...known])}`)
  if ((config as Config).cnameTarget !== null && (config as Config).targetMode !== 'cname') {
    warnings.push('INCUS_DNS_CNAME_TARGET is set but INCUS_DNS_TARGET_MODE is guest-ip, so it is not used')
  }
  return { config: config as Config, explicit, warnings, help: values.help === true, version: values.version === true }
}

/** Rules that involve more than one setting; each message names every setting involved. */
function crossChecks(c: Config, explicit: ReadonlySet<keyof Config>): ConfigError[] {
  const out: ConfigError[] = []
  if (c.incusUrl.length > 0 && explicit.has('incusSocket')) {
    out.push(new ConfigError('INCUS_DNS_INCUS_SOCKET', 'INCUS_DNS_INCUS_SOCKET and INCUS_DNS_INCUS_URL are both set; set one: the socket for a local Incus, the URL for a remote one'))
  }
  if (c.incusUrl.length > 0) {
    for (const [key, env] of [['incusTlsCert', 'INCUS_DNS_INCUS_TLS_CERT'], ['incusTlsKey', 'INCUS_DNS_INCUS_TLS_KEY']] as const) {
      if (c[key] === '') out.push(new ConfigError(env, `${env} is not set; INCUS_DNS_INCUS_URL needs a client certificate and key (make them with: incus remote generate-certificate, or openssl)`))
    }
  } else {
    for (const [key, env] of [['incusTlsCert', 'INCUS_DNS_INCUS_TLS_CERT'], ['incusTlsKey', 'INCUS_DNS_INCUS_TLS_KEY'], ['incusTlsCa', 'INCUS_DNS_INCUS_TLS_CA'], ['incusTlsServerName', 'INCUS_DNS_INCUS_TLS_SERVER_NAME'], ['incusTlsMinVersion', 'INCUS_DNS_INCUS_TLS_MIN_VERSION'], ['incusTlsSkipVerify', 'INCUS_DNS_INCUS_TLS_SKIP_VERIFY']] as const) {
      if (explicit.has(key)) out.push(new ConfigError(env, `${env} is set but INCUS_DNS_INCUS_URL is not; TLS settings apply only to a remote Incus over HTTPS`))
    }
  }
  if (c.incusRemotes.length > 0) {
    if (c.incusUrl.length > 0) out.push(new ConfigError('INCUS_DNS_INCUS_REMOTES', 'INCUS_DNS_INCUS_REMOTES and INCUS_DNS_INCUS_URL are both set; set one: the remotes of your incus client configuration, or one server (cluster) by URL'))
    if (explicit.has('incusSocket')) out.push(new ConfigError('INCUS_DNS_INCUS_REMOTES', "INCUS_DNS_INCUS_REMOTES and INCUS_DNS_INCUS_SOCKET are both set; a local server is a remote too (incus remote list shows it as 'local', unix://): name it in INCUS_DNS_INCUS_REMOTES"))
    if (c.incusRemotes.length > 1 && c.views.length > 0) out.push(new ConfigError('INCUS_DNS_VIEWS', 'INCUS_DNS_VIEWS is set with several INCUS_DNS_INCUS_REMOTES; views across several servers are not supported yet: name one remote, or unset INCUS_DNS_VIEWS'))
  } else if (explicit.has('incusConf')) {
    out.push(new ConfigError('INCUS_DNS_INCUS_CONF', 'INCUS_DNS_INCUS_CONF is set but INCUS_DNS_INCUS_REMOTES is not; the configuration folder is read only for remotes'))
  }
  if (c.targetMode === 'cname' && c.cnameTarget === null) {
    out.push(new ConfigError('INCUS_DNS_CNAME_TARGET', 'INCUS_DNS_TARGET_MODE is cname but INCUS_DNS_CNAME_TARGET is not set; give the name every instance should point at'))
  }
  if (c.views.length > 0 && c.incusSocket === 'none' && c.incusUrl.length === 0 && c.incusRemotes.length === 0) {
    out.push(new ConfigError('INCUS_DNS_VIEWS', 'INCUS_DNS_VIEWS is set but the Incus source is off (INCUS_DNS_INCUS_SOCKET=none); views choose among instance addresses, so unset INCUS_DNS_VIEWS or turn the Incus source on'))
  }
  if (c.viewsEcs.length > 0 && c.views.length === 0) {
    out.push(new ConfigError('INCUS_DNS_VIEWS_ECS', 'INCUS_DNS_VIEWS_ECS is set but INCUS_DNS_VIEWS is not; a client subnet only picks among views, so set INCUS_DNS_VIEWS too or unset INCUS_DNS_VIEWS_ECS'))
  }
  const updateKeys = new Set(c.updateKeys.map((k) => k.name))
  for (const g of c.updateGrants) {
    if (!updateKeys.has(g.key)) out.push(new ConfigError('INCUS_DNS_UPDATE_GRANTS', `INCUS_DNS_UPDATE_GRANTS grants key '${g.key}', which is not in INCUS_DNS_UPDATE_KEYS; add the key, or fix the grant's key name`))
  }
  if (c.tsigKey !== null && updateKeys.has(c.tsigKey.name)) {
    out.push(new ConfigError('INCUS_DNS_UPDATE_KEYS', `INCUS_DNS_UPDATE_KEYS names '${c.tsigKey.name}', the key of INCUS_DNS_TSIG_KEY too; give updates a key of their own (keymgr -t <name>)`))
  }
  if (c.catalog !== null) {
    const catalog = c.catalog
    const clash = [c.suffix, ...c.incusRemotes.map((r) => r.suffix)].find((s): s is string => s !== null && s !== undefined && (isAtOrBelow(catalog, s) || isAtOrBelow(s, catalog)))
    if (clash !== undefined) out.push(new ConfigError('INCUS_DNS_CATALOG', `INCUS_DNS_CATALOG ${catalog} ${catalog === clash ? 'is' : isAtOrBelow(catalog, clash) ? 'is inside' : 'holds'} the Incus suffix zone ${clash}; give the catalog a name of its own, e.g. catalog.incus-dns.invalid`))
    if (isReverseName(catalog)) out.push(new ConfigError('INCUS_DNS_CATALOG', `INCUS_DNS_CATALOG ${catalog} is a reverse name; give the catalog a name of its own, e.g. catalog.incus-dns.invalid`))
  }
  if (c.views.length > 0 && c.targetMode === 'cname') {
    out.push(new ConfigError('INCUS_DNS_VIEWS', 'INCUS_DNS_VIEWS is set but INCUS_DNS_TARGET_MODE is cname, where no instance address is published; unset one of them'))
  }
  if (c.dnssecRefresh > c.dnssecValidity - 3600) {
    out.push(new ConfigError('INCUS_DNS_DNSSEC_REFRESH', `INCUS_DNS_DNSSEC_REFRESH (${c.dnssecRefresh / 3600}h) leaves less than an hour of INCUS_DNS_DNSSEC_VALIDITY (${c.dnssecValidity / 3600}h) when signatures are made again; make it at most half the validity, e.g. ${Math.floor(c.dnssecValidity / 7200)}h`))
  }
  if (c.dnssec && c.dnssecKeyDir === null && c.stateFile === null) {
    out.push(new ConfigError('INCUS_DNS_DNSSEC_KEY_DIR', 'INCUS_DNS_DNSSEC is on but neither INCUS_DNS_DNSSEC_KEY_DIR nor INCUS_DNS_STATE_FILE is set; the signing keys must outlive a restart (the parent holds their DS): set INCUS_DNS_DNSSEC_KEY_DIR=/var/lib/incus-dns/keys'))
  }
  return out
}

function suggest(name: string, known: readonly string[]): string {
  let best = ''
  let bestDist = Infinity
  for (const k of known) {
    const d = distance(name, k)
    if (d < bestDist) { best = k; bestDist = d }
  }
  return bestDist <= 3 ? `; did you mean ${best}?` : ''
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length] as number
}

/** --help text, generated from the settings table. */
export function helpText(): string {
  const lines = [
    'incus-dns: authoritative DNS for Incus instances',
    '',
    'Usage: incus-dns [--flag value ...]',
    '       incus-dns check [--flag value ...]   check the settings and the zone files, without serving:',
    '         exit 0 with one line per zone (serial, records), or 1 with one line per problem (file:line and the fix)',
    'Every flag can also be set with its environment variable; a flag wins over the variable.',
    '--env-file FILE reads INCUS_DNS_*=value lines as systemd\'s EnvironmentFile= does (the unit\'s /etc/default/incus-dns), over the environment.',
    '',
  ]
  for (const s of Object.values(SETTINGS) as Setting<unknown>[]) {
    lines.push(`  --${s.flag} <value>   (${s.env}, default: ${s.default === '' ? '(empty)' : s.default})`)
    lines.push(`      ${s.help}`)
  }
  lines.push('  --help, -h   Show this help.', '  --version    Print the version.')
  return lines.join('\n')
}
