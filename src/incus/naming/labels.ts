/**
 * @module incus/naming/labels
 * The config keys that put an instance in a service, give its health and publish SRV records: incus-compose's
 * labels, ic-dns's keys (and their older CoreDNS-era names), ic-healthd's health and our own. Pure: an
 * instance's expanded config in, facts out; problems come back as words for the log and the status page.
 */

/** The service an instance is a replica of: the first key set wins (docs/services.md). */
export const SERVICE_KEYS = ['user.label.incus-compose.service', 'user.label.dns.service', 'user.label.coredns.service', 'user.dns.service'] as const
/** incus-compose's stack (its compose project): tells two stacks' services of the same name apart. */
export const STACK_KEY = 'user.label.incus-compose.project'
/** ic-healthd's verdict on the instance. */
export const HEALTH_KEY = 'user.healthcheck.status'
/** Aliases: ours, then ic-dns's, so a stack moves from ic-dns without relabelling. All of them apply. */
export const ALIAS_KEYS = ['user.dns.aliases', 'user.label.dns.aliases', 'user.label.coredns.aliases'] as const
/**
 * caddy-incus-upstreams' keys (shared/incus-api §6.2): Caddy routes the host name to the instance when enabled,
 * so that name must resolve to the proxy (INCUS_DNS_CADDY_PROXY).
 */
export const CADDY_ENABLE_KEY = 'user.caddyserver.http.enable'
export const CADDY_HOST_KEY = 'user.caddyserver.http.matchers.host'
/** `user.dns.srv.<name>=<proto>/<port>[/<priority>/<weight>]`, several values comma-separated. */
export const SRV_PREFIX = 'user.dns.srv.'

/** ic-healthd's values; the ones that take a replica out of its service's answers. */
export const HEALTH_VALUES = ['healthy', 'unhealthy', 'starting', 'stopped', 'unknown'] as const
export const WITHHELD_HEALTH: ReadonlySet<string> = new Set(['unhealthy', 'starting', 'stopped'])

/** Protocols an SRV owner may name (RFC 2782: `_tcp`, `_udp`; SCTP as RFC 4960 services use it). */
const SRV_PROTOS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp'])
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
/** What SRV defaults to without priority and weight: one priority, equal shares. */
export const SRV_DEFAULT_PRIORITY = 0
export const SRV_DEFAULT_WEIGHT = 1

export interface SrvSpec {
  /** The service label without its underscore: `http` publishes `_http._<proto>.<name>`. */
  readonly service: string
  readonly proto: string
  readonly port: number
  readonly priority: number
  readonly weight: number
}

type Config = Readonly<Record<string, string>>

/** The first of `keys` set to something other than blanks, trimmed, with its key; null when none is. */
export function firstSetKey(config: Config, keys: readonly string[]): { key: string; value: string } | null {
  for (const key of keys) {
    const value = (config[key] ?? '').trim()
    if (value !== '') return { key, value }
  }
  return null
}

/** The first of `keys` set to something other than blanks, trimmed; null when none is. */
export function firstSet(config: Config, keys: readonly string[]): string | null {
  return firstSetKey(config, keys)?.value ?? null
}

/** The service label as written (not yet a DNS name) and the key it came from, or null. */
export function serviceLabel(config: Config): { key: string; value: string } | null {
  return firstSetKey(config, SERVICE_KEYS)
}

/** The compose stack, or null for an instance no stack made. */
export function stackOf(config: Config): string | null {
  return firstSet(config, [STACK_KEY])
}

/** The health key, lowercased, with a problem when it is none of ic-healthd's values (then served, as `unknown`). */
export function healthOf(config: Config): { health: string | null; problem: string | null } {
  const v = firstSet(config, [HEALTH_KEY])
  if (v === null) return { health: null, problem: null }
  const health = v.toLowerCase()
  const known = (HEALTH_VALUES as readonly string[]).includes(health)
  return { health, problem: known ? null : `${HEALTH_KEY}=${v} is none of ${HEALTH_VALUES.join(', ')}; the replica is served as if unknown` }
}

/** Whether a replica of this health is left out of its service's answers. */
export function isWithheld(health: string | null | undefined): boolean {
  return health !== null && health !== undefined && WITHHELD_HEALTH.has(health)
}

/** The host name Caddy routes to the instance, as written, when routing is enabled; null otherwise. */
export function caddyHost(config: Config): string | null {
  if ((config[CADDY_ENABLE_KEY] ?? '').trim().toLowerCase() !== 'true') return null
  return firstSet(config, [CADDY_HOST_KEY])
}

/** The values of every alias key, split on commas, in key order, each with its key. */
export function aliasValues(config: Config): [key: string, value: string][] {
  return ALIAS_KEYS.flatMap((k) => (config[k] ?? '').split(',').map((v): [string, string] => [k, v]))
}

const u16 = (s: string | undefined, min: number): number | null => {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return null
  const n = Number(s)
  return n >= min && n <= 65535 ? n : null
}

/**
 * The SRV records an instance asks for, sorted by service, protocol and port; a bad value publishes nothing of
 * its key and says why, with the form to write.
 */
export function srvSpecs(config: Config): { specs: SrvSpec[]; problems: string[] } {
  const specs: SrvSpec[] = []
  const problems: string[] = []
  for (const key of Object.keys(config).filter((k) => k.startsWith(SRV_PREFIX)).sort()) {
    const value = (config[key] as string).trim()
    const service = key.slice(SRV_PREFIX.length).replace(/^_/, '').toLowerCase()
    const bad = (why: string): void => { problems.push(`${key}=${value}: ${why}; write <proto>/<port>[/<priority>/<weight>], e.g. tcp/80`) }
    if (!LABEL.test(service)) { bad(`'${service}' is not a DNS label (letters, digits, hyphens)`); continue }
    const parsed: SrvSpec[] = []
    let ok = true
    for (const one of value.split(',').map((v) => v.trim()).filter((v) => v !== '')) {
      const [proto, port, priority, weight, ...rest] = one.toLowerCase().split('/')
      const p = u16(port, 1)
      const pr = priority === undefined ? SRV_DEFAULT_PRIORITY : u16(priority, 0)
      const w = weight === undefined ? SRV_DEFAULT_WEIGHT : u16(weight, 0)
      if (proto === undefined || !SRV_PROTOS.has(proto)) { bad(`the protocol must be tcp, udp or sctp`); ok = false; break }
      if (p === null) { bad(`the port must be 1-65535`); ok = false; break }
      if (rest.length > 0 || (priority !== undefined) !== (weight !== undefined) || pr === null || w === null) {
        bad('priority and weight come together, each 0-65535'); ok = false; break
      }
      parsed.push({ service, proto, port: p, priority: pr, weight: w })
    }
    if (!ok) continue
    if (parsed.length === 0) { bad('it is empty'); continue }
    specs.push(...parsed)
  }
  specs.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : a.port - b.port))
  return { specs, problems }
}

/** The owner an SRV spec publishes under `base` (an instance's or a service's name). */
export function srvOwner(spec: Pick<SrvSpec, 'service' | 'proto'>, base: string): string {
  return `_${spec.service}._${spec.proto}.${base}`
}
