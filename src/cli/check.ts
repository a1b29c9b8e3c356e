/**
 * @module cli/check
 * `incus-dns check`: the settings and the zones folder checked without serving, as named-checkzone and
 * kzonecheck check zones. Each zone file is parsed on its own, so every broken file is named and not only
 * the first; the good ones are then loaded together into a store, as start-up would load them (one zone
 * defined twice, a CNAME beside other data...). The Incus settings are resolved, their files read, and
 * nothing is asked of Incus. One line per zone when all is good; one line per problem, with its file:line
 * and the fix, when not.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { incusConnection } from '../config/incus.ts'
import { incusRemotes } from '../config/remotes.ts'
import type { Config } from '../config/settings.ts'
import { ConfigErrors, IncusDnsError } from '../errors.ts'
import { ZoneFileSource } from '../zone/file/source.ts'
import { parseZoneFile } from '../zone/file/parse.ts'
import type { ParsedZone } from '../zone/file/parse.ts'
import { canonicalName } from '../zone/name.ts'
import { ZoneStore } from '../zone/store.ts'
import type { Name } from '../zone/types.ts'

export interface CheckResult {
  /** One line per zone (apex, serial, records, file), when it loaded. */
  readonly zones: string[]
  /** One line per problem. */
  readonly problems: string[]
}

export async function check(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const problems: string[] = []
  // The Incus side as start-up resolves it: certificate files, the incus client's configuration.
  try {
    if (config.incusRemotes.length > 0) incusRemotes(config, env)
    else incusConnection(config)
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    problems.push(...err.problems.map((p) => p.message))
  }
  let files: string[]
  try {
    files = (await readdir(config.zonesDir)).filter((f) => f.endsWith('.zone')).sort()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    problems.push(`INCUS_DNS_ZONES_DIR (--zones-dir): '${config.zonesDir}' is not a folder (${code}); create it or point the setting at your zone files`)
    return { zones: [], problems }
  }
  const parsed: ParsedZone[] = []
  const apexes = new Map<Name, string>()
  for (const f of files) {
    const path = join(config.zonesDir, f)
    try {
      const zone = parseZoneFile(path, await readFile(path, 'utf8'), canonicalName(basename(f, '.zone')))
      const other = apexes.get(zone.apex)
      if (other !== undefined) { problems.push(`${path}:1: zone ${zone.apex} is also defined in ${other}; keep one file per zone`); continue }
      apexes.set(zone.apex, path)
      parsed.push(zone)
    } catch (err) {
      if (!(err instanceof IncusDnsError)) throw err
      problems.push(err.message)
    }
  }
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
