/**
 * @module incus/naming/name-rules
 * Which names an instance may claim through its keys (hostname, aliases, service, SRV, and any key added
 * later): instance keys are tenant input (shared/incus-api §6.3: a restricted certificate sets any `user.*`
 * key on its own project's instances), so a name belongs to a project before an instance may publish it, as
 * ExternalDNS holds tenants to their domain filters. Never, for any project: a zone's apex, a name in a
 * reverse zone (PTRs come from addresses only), a wildcard (`user.dns.wildcard=true` on the instance's own
 * name is the one way), or a name a zone file has. Within that, INCUS_DNS_PROJECT_NAMES says which names
 * each project may claim; without an entry, `default` may claim names in any zone served, every other
 * project only at or below `<project>.<suffix>`. An instance's own `<name>[.<project>].<suffix>` is always its
 * own. Pure but for the zone it is given to read; docs/names.md says why each rule is what it is.
 */
import { canonicalName, flatString, isAtOrBelow, isReverseName } from '../../zone/name.ts'
import type { Name, Rec, SourceId } from '../../zone/types.ts'
import { remoteOf } from './keys.ts'
import { CADDY_HOST_KEY, SRV_PREFIX, srvOwner } from './labels.ts'
import { ownName } from './instance-names.ts'
import type { Mapped } from './map.ts'

/** Why a name was refused; the label of incus_dns_names_refused. */
export const REFUSAL_REASONS = ['apex', 'reverse', 'wildcard', 'zone-file', 'catalog', 'no-zone', 'project'] as const
export type RefusalReason = typeof REFUSAL_REASONS[number]

export interface Refusal {
  /** The instance key (`[<remote>:]<project>/<name>`). */
  readonly instance: string
  /** The config key that asked for the name. */
  readonly key: string
  readonly name: Name
  readonly reason: RefusalReason
  /** The rule, in words. */
  readonly rule: string
  /** What to set instead. */
  readonly fix: string
}

/** How an instance left with no name by the rules says why it publishes nothing (`Mapped.skipped`). */
export const REFUSED_SKIP = 'refused: '

/** One pattern of INCUS_DNS_PROJECT_NAMES: a name, every name strictly below one (`*.x`), or any name (`*`). */
export type NamePattern = { readonly exact: Name } | { readonly below: Name } | 'any'

/** Project → the names its instances may claim. */
export type ProjectNames = ReadonlyMap<string, readonly NamePattern[]>

/** What the rules read of the zone: which zone holds a name, and what a zone file has there. */
export interface ZoneReader {
  zoneOf(name: Name): Name | null
  recordsOf(source: SourceId, name: Name): readonly Rec[] | null
}

/**
 * Parses `<project>=<pattern>[|<pattern>...][,...]`, e.g. `tenant=*.tenant.example.org|shop.example.org,ops=*`.
 * Throws with the fix on a bad entry.
 */
export function parseProjectNames(raw: string): ProjectNames {
  const out = new Map<string, NamePattern[]>()
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const eq = entry.indexOf('=')
    const project = eq < 0 ? '' : entry.slice(0, eq).trim()
    if (project === '' || /\s/.test(project)) throw new Error(`'${entry}' is not <project>=<pattern>[|<pattern>...], e.g. tenant=*.tenant.example.org`)
    if (out.has(project)) throw new Error(`names project '${project}' twice; join its patterns with '|' in one entry`)
    const patterns = entry.slice(eq + 1).split('|').map((p) => p.trim())
    if (patterns.some((p) => p === '')) throw new Error(`'${entry}' has an empty pattern; write names such as shop.example.org, *.tenant.example.org or *`)
    out.set(project, patterns.map((p) => parsePattern(p, entry)))
  }
  return out
}

function parsePattern(p: string, entry: string): NamePattern {
  if (p === '*') return 'any'
  const below = p.startsWith('*.')
  const rest = below ? p.slice(2) : p
  let name: Name
  try { name = canonicalName(rest) } catch (err) { throw new Error(`'${entry}': '${p}' is not a name: ${(err as Error).message}; write shop.example.org, *.tenant.example.org or *`) }
  if (name === '' || name.includes('*')) throw new Error(`'${entry}': '${p}' is not a name, *.<name> or *`)
  return below ? { below: flatString(name) } : { exact: flatString(name) }
}

/** The patterns as written, for the log and the status page. */
export function formatPatterns(patterns: readonly NamePattern[]): string {
  return patterns.map((p) => (p === 'any' ? '*' : 'exact' in p ? p.exact : `*.${p.below}`)).join('|')
}

function matches(p: NamePattern, name: Name): boolean {
  if (p === 'any') return true
  return 'exact' in p ? name === p.exact : name !== p.below && isAtOrBelow(name, p.below)
}

/** What an instance may publish after the rules, and what it asked for that they refused. */
export interface Settled {
  /** The instance with the refused names taken out (the same object when nothing was refused). */
  readonly allowed: Mapped
  readonly refused: readonly Refusal[]
}

export class NameRules {
  readonly #projects: ProjectNames
  /** Remote ('' for one server) → its suffix: the instance's own names and the other projects' homes are below it. */
  readonly #suffixes: ReadonlyMap<string, Name | null>

  constructor(projects: ProjectNames, suffixes: ReadonlyMap<string, Name | null>) {
    this.#projects = projects
    this.#suffixes = suffixes
  }

  #suffixOf(m: Mapped): Name | null { return this.#suffixes.get(remoteOf(m.key)) ?? null }

  /**
   * The instance as it may publish: a refused hostname falls back to the instance's own name (or to none
   * without a suffix), refused aliases, service, wildcard and SRV records are left out.
   */
  settle(m: Mapped, zone: ZoneReader): Settled {
    if (m.skipped !== null || m.hostname === null) return { allowed: m, refused: [] }
    const own = ownName(m.project, m.name, this.#suffixOf(m))
    // Only the instance's own name (and its wildcard), which is always its own: nothing to check. (`keys` is
    // absent in state files from before the rules; a hostname other than the own name came from a key then too.)
    if (m.hostname === own && m.keys === undefined && m.srv === undefined && m.service === undefined && m.caddy === undefined && m.aliases.length === 0) return { allowed: m, refused: [] }
    const refused: Refusal[] = []
    const check = (name: Name, key: string): boolean => {
      const r = this.#check(m, name, key, zone)
      if (r !== null) refused.push(r)
      return r === null
    }
    let hostname: Name | null = m.hostname
    if (hostname !== own && !check(hostname, m.keys?.[hostname] ?? 'user.dns.hostname')) hostname = own === null ? null : validName(own)
    const aliases = m.aliases.filter((a) => a !== hostname && check(a, m.keys?.[a] ?? 'user.dns.aliases'))
    const service = m.service === undefined || m.service === hostname ? undefined : check(m.service, m.keys?.[m.service] ?? 'user.dns.service') ? m.service : undefined
    const caddy = m.caddy === undefined || m.caddy === hostname ? undefined : check(m.caddy, m.keys?.[m.caddy] ?? CADDY_HOST_KEY) ? m.caddy : undefined
    // SRV owners sit below names just checked; of the rules, only the zone's own names can still stand in the way.
    const srv = hostname === null ? [] : (m.srv ?? []).filter((spec) => [hostname, ...(service !== undefined ? [service] : [])]
      .every((base) => this.#zoneOwned(m, srvOwner(spec, base), SRV_PREFIX + spec.service, zone, refused)))
    const wildcard = m.wildcard === true && hostname !== null && this.#zoneOwned(m, `*.${hostname}`, 'user.dns.wildcard', zone, refused)
    if (refused.length === 0) return { allowed: m, refused }
    const { service: _s, srv: _v, caddy: _c, ...rest } = m
    if (hostname === null) {
      const first = refused[0] as Refusal
      return { allowed: { ...rest, hostname: null, aliases: [], wildcard: false, ipv4: null, ipv6: null, skipped: `${REFUSED_SKIP}${first.key}=${first.name}: ${first.rule}`, awaitingAddress: false }, refused }
    }
    return {
      allowed: { ...rest, hostname, aliases, wildcard, ...(service !== undefined ? { service } : {}), ...(caddy !== undefined ? { caddy } : {}), ...(srv.length > 0 ? { srv } : {}) },
      refused,
    }
  }

  /** The rule a name claimed through `key` breaks, or null when the instance may have it. */
  #check(m: Mapped, name: Name, key: string, zone: ZoneReader): Refusal | null {
    const refuse = (reason: RefusalReason, rule: string, fix: string): Refusal => ({ instance: m.key, key, name, reason, rule, fix })
    const apex = zone.zoneOf(name)
    if (apex === name) return refuse('apex', `${name} is the apex of a zone incus-dns serves: its SOA and NS are never an instance's`, `claim a name below it; a zone file can give the apex the instance's addresses`)
    if (isReverseName(name)) return refuse('reverse', 'names in reverse zones are PTRs made from instance addresses only', `remove it from ${key}; the instance's PTR comes from its address`)
    if (name === '*' || name.startsWith('*.')) return refuse('wildcard', 'a wildcard comes only from user.dns.wildcard=true on the instance that owns the name below it', `set user.dns.wildcard=true on the instance named ${name.slice(2)}, or claim plain names`)
    if (zone.recordsOf('file', name) !== null) return refuse('zone-file', `${name} is in a zone file, which keeps it`, `remove it from ${key}, or from the zone file`)
    if (apex !== null && zone.recordsOf('catalog', apex) !== null) return refuse('catalog', `${name} is in the catalog zone, whose names list the zones incus-dns serves`, `claim a name in another zone`)
    const suffix = this.#suffixOf(m)
    if (apex === null) return refuse('no-zone', `${name} is in no zone incus-dns serves`, `add a zone file for its domain${suffix !== null ? `, or claim a name under ${suffix}` : ''}`)
    const patterns = this.#projects.get(m.project)
    if (patterns !== undefined) {
      if (patterns.some((p) => matches(p, name))) return null
      return refuse('project', `project '${m.project}' may claim only ${formatPatterns(patterns)} (INCUS_DNS_PROJECT_NAMES)`, `claim a name it matches, or add one: INCUS_DNS_PROJECT_NAMES=${m.project}=${formatPatterns(patterns)}|${name}`)
    }
    if (m.project === 'default') return null
    const home = suffix === null ? null : `${m.project}.${suffix}`
    if (home !== null && isAtOrBelow(name, home)) return null
    return refuse('project', home === null
      ? `project '${m.project}' may claim names only under ${m.project}.<INCUS_DNS_SUFFIX>, and no suffix is set`
      : `project '${m.project}' may claim names only at or below ${home}`,
    `claim a name under ${home ?? `${m.project}.<suffix>`}, or let the project have it: INCUS_DNS_PROJECT_NAMES=${m.project}=${name}`)
  }

  /** Whether a name below one already checked (an SRV owner, a wildcard) is clear of the zone's own names. */
  #zoneOwned(m: Mapped, name: Name, key: string, zone: ZoneReader, refused: Refusal[]): boolean {
    const refuse = (reason: RefusalReason, rule: string, fix: string): false => { refused.push({ instance: m.key, key, name, reason, rule, fix }); return false }
    if (zone.zoneOf(name) === name) return refuse('apex', `${name} is the apex of a zone incus-dns serves: its SOA and NS are never an instance's`, `remove ${key}`)
    if (zone.recordsOf('file', name) !== null) return refuse('zone-file', `${name} is in a zone file, which keeps it`, `remove ${key}, or the name from the zone file`)
    return true
  }
}

/** The own name, when it is a valid DNS name (an instance name Incus allows always makes one; tests may not). */
function validName(name: Name): Name | null {
  try { return flatString(canonicalName(name)) } catch { return null }
}
