/**
 * @module cli/check
 * `incus-dns check`: the settings and the zones folder checked without serving, as named-checkzone and
 * kzonecheck check zones. Each zone file is parsed on its own, so every broken file is named and not only
 * the first; the good ones are then loaded together into a store, as start-up would load them (one zone
 * defined twice, a CNAME beside other data...). The Incus settings are resolved, their files read, and
 * nothing is asked of Incus. One line per zone when all is good; one line per problem, with its file:line
 * and the fix, when not.
 */
import { incusConnection } from '../config/incus.ts'
import { incusRemotes } from '../config/remotes.ts'
import type { Config } from '../config/settings.ts'
import { ConfigErrors, IncusDnsError } from '../errors.ts'
import { readZoneFiles, ZoneFileSource } from '../zone/file/source.ts'
import type { ParsedZone } from '../zone/file/parse.ts'
import { ZoneStore } from '../zone/store.ts'
import { keyDirProblems } from './dnssec.ts'

export interface CheckResult {
  /** One line per zone (apex, serial, records, file), when it loaded. */
  readonly zones: string[]
  /** One line per problem. */
  readonly problems: string[]
}

/**
 * With Incus on and no suffix, instances get no `<name>.<suffix>`: only a dotted `user.dns.hostname` names one.
 * Nearly always a setting forgotten, so start-up warns and `check` calls it a problem, naming the setting.
 */
export function suffixProblem(incusOn: boolean, suffixes: readonly { readonly remote: string | null; readonly suffix: string | null }[]): string | null {
  if (!incusOn) return null
  const missing = suffixes.filter((s) => s.suffix === null)
  if (missing.length === 0) return null
  const which = missing.some((m) => m.remote !== null) ? ` (remotes ${missing.map((m) => m.remote).join(', ')} have none: give each as name=suffix in INCUS_DNS_INCUS_REMOTES, or set INCUS_DNS_SUFFIX)` : ''
  return `INCUS_DNS_SUFFIX (--suffix) is empty, so no instance gets a name <name>.<suffix>; only one with a dotted user.dns.hostname is published${which}. Set it to a domain of yours, e.g. INCUS_DNS_SUFFIX=incus.example.org`
}

/** The zones folder cannot be read: which setting, what the system said, and the fix. */
export function zonesDirProblem(dir: string, code: string | undefined): string {
  const shown = dir.length > 200 ? `${dir.slice(0, 100)}...(${dir.length} characters)` : dir
  const fix = code === 'EACCES' ? 'let the user incus-dns runs as read it' : 'create it or point the setting at your zone files'
  return `INCUS_DNS_ZONES_DIR (--zones-dir): '${shown}' is not a folder (${code ?? 'unreadable'}); ${fix}`
}

/** A zone file for the catalog zone's name (INCUS_DNS_CATALOG): incus-dns makes that zone, so the file is refused. */
export function catalogFileProblem(zones: readonly ParsedZone[], catalog: string | null): string | null {
  const clash = zones.find((z) => z.apex === catalog)
  return clash === undefined ? null : `${clash.file} defines ${clash.apex}, the catalog zone (INCUS_DNS_CATALOG), which incus-dns makes from the zones it serves; give the catalog another name, or remove the file`
}

export async function check(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const problems: string[] = []
  // The Incus side as start-up resolves it: certificate files, the incus client's configuration.
  try {
    if (config.incusRemotes.length > 0) {
      const remotes = incusRemotes(config, env)
      const p = suffixProblem(true, remotes.map((r) => ({ remote: r.name, suffix: r.suffix })))
      if (p !== null) problems.push(p)
    } else if (incusConnection(config) !== null) {
      const p = suffixProblem(true, [{ remote: null, suffix: config.suffix }])
      if (p !== null) problems.push(p)
    }
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    problems.push(...err.problems.map((p) => p.message))
  }
  let parsed: ParsedZone[]
  try {
    const read = await readZoneFiles(config.zonesDir)
    parsed = read.zones
    problems.push(...read.problems.map((p) => p.message))
  } catch (err) {
    // The folder itself (a file in it that cannot be read is not this, and is thrown as before).
    if ((err as NodeJS.ErrnoException).path !== config.zonesDir) throw err
    problems.push(zonesDirProblem(config.zonesDir, (err as NodeJS.ErrnoException).code))
    return { zones: [], problems }
  }
  const clash = catalogFileProblem(parsed, config.catalog)
  if (clash !== null) problems.push(clash)
  // The DNSSEC key folder as start-up reads it (nothing is made here).
  problems.push(...keyDirProblems(config))
  // Together, as start-up loads them: what only shows across records (data beside a CNAME, say).
  const store = new ZoneStore({ journalSize: 0 })
  try {
    new ZoneFileSource().apply(store, parsed)
  } catch (err) {
    if (!(err instanceof IncusDnsError)) throw err
    problems.push(err.message)
  }
  const zones = parsed.map((z) => {
    const soa = z.records.find((r) => r.data.type === 'SOA')
    const serial = soa !== undefined && soa.data.type === 'SOA' ? soa.data.serial : 0
    return `zone ${z.apex}: serial ${serial}, ${z.records.length} records (${z.file})`
  })
  return { zones, problems }
}
