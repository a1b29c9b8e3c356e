/**
 * @module incus/naming/instance-names
 * The names one instance asks for, before any rule or conflict is settled: its own name (`<name>.<suffix>`,
 * or `<name>.<project>.<suffix>` outside the default project), a hostname key, its aliases, its service and
 * the name Caddy routes to it, each with the key it came from. Pure.
 */
import { canonicalName, flatString } from '../../zone/name.ts'
import type { Name } from '../../zone/types.ts'
import { configOf } from '../api/instance-config.ts'
import type { Instance } from '../api/types.ts'
import { aliasValues, CADDY_HOST_KEY, caddyHost, serviceLabel } from './labels.ts'

export interface NameSettings {
  /** Names are `<name>.<suffix>`; null: only instances with a hostname key or a dotted name get names. */
  readonly suffix: Name | null
}

export function instanceKey(project: string, name: string): string {
  return flatString(`${project}/${name}`) // a Map key for the instance's lifetime
}

/** An instance's own name: `<name>.<suffix>`, or `<name>.<project>.<suffix>` outside the default project; null without a suffix. */
export function ownName(project: string, label: string, suffix: Name | null): Name | null {
  if (suffix === null) return null
  return project === 'default' ? `${label}.${suffix}` : `${label}.${project}.${suffix}`
}

/** The hostname keys, first set wins: ours, then dnsweaver's (so users can switch without relabelling). */
const HOSTNAME_KEYS = ['user.dns.hostname', 'user.dnsweaver.hostname'] as const

/** What `keys` says of a hostname that is the instance's name with dots in it (Incus allows none, §4.2). */
export const INSTANCE_NAME_KEY = 'instance name'

/** Hostname and aliases per the naming rules; throws nothing, returns null hostname with a reason. */
export function namesOf(inst: Instance, settings: NameSettings): { hostname: Name | null; aliases: Name[]; service: Name | null; caddy: Name | null; keys: Record<Name, string>; why: string | null; problem: string | null } {
  const config = configOf(inst)
  const project = inst.project
  const relative = (label: string): Name | null => ownName(project, label, settings.suffix)
  const resolve = (value: string): Name | null => {
    const v = value.trim()
    if (v === '') return null
    return v.includes('.') ? v.replace(/\.$/, '') : relative(v)
  }
  const checked = (n: Name | null): Name | null => {
    if (n === null) return null
    try { return flatString(canonicalName(n)) } catch { return null } // kept for the instance's lifetime
  }
  // First match wins: our key, dnsweaver's, a dotted name, the default.
  const keys: Record<Name, string> = {}
  const hostnameKey = HOSTNAME_KEYS.find((k) => config[k] !== undefined)
  const override = hostnameKey === undefined ? undefined : config[hostnameKey]
  let hostname: Name | null
  let why: string | null = null
  if (override !== undefined && override.trim() !== '') {
    hostname = checked(resolve(override))
    if (hostname !== null) keys[hostname] = hostnameKey as string
    if (hostname === null) why = settings.suffix === null && !override.includes('.')
      ? `hostname key '${override}' is relative and INCUS_DNS_SUFFIX is not set`
      : `hostname key '${override}' is not a valid DNS name`
  } else if (inst.name.includes('.')) {
    hostname = checked(inst.name)
    if (hostname !== null) keys[hostname] = INSTANCE_NAME_KEY
    if (hostname === null) why = `instance name '${inst.name}' is not a valid DNS name`
  } else {
    hostname = checked(relative(inst.name))
    if (hostname === null) why = settings.suffix === null ? 'no INCUS_DNS_SUFFIX and no user.dns.hostname' : `'${inst.name}' in project '${project}' makes no valid DNS name`
  }
  const aliases: Name[] = []
  for (const [key, value] of aliasValues(config)) {
    const a = checked(resolve(value))
    if (a === null || a === hostname || keys[a] !== undefined) continue
    aliases.push(a)
    keys[a] = key
  }
  // A service is named as an instance is; one named like the instance itself is just its hostname.
  const label = serviceLabel(config)
  const resolved = label === null ? null : checked(resolve(label.value))
  const service = resolved === hostname ? null : resolved
  if (service !== null && label !== null) keys[service] = label.key
  const problem = label !== null && resolved === null ? `service '${label.value}' makes no valid DNS name${settings.suffix === null && !label.value.includes('.') ? ' (INCUS_DNS_SUFFIX is not set)' : ''}; it is not published` : null
  // Caddy's host is a full name (it is what clients type), never relative.
  const routed = caddyHost(config)
  const caddy = routed === null ? null : checked(routed.replace(/\.$/, ''))
  if (caddy !== null) keys[caddy] = CADDY_HOST_KEY
  return { hostname, aliases: aliases.filter((a) => a !== service && a !== caddy), service, caddy: caddy === hostname ? null : caddy, keys, why, problem }
}
