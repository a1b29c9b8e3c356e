/**
 * @module incus/naming/keys
 * An instance's identity in the records: `<project>/<name>` (§4.1: the same name may exist in several
 * projects), after `<remote>:` when several servers share the records (INCUS_DNS_INCUS_REMOTES).
 */
import { flatString } from '../../zone/name.ts'
import { instanceKey } from './instance-names.ts'
import type { Mapped } from './map.ts'

export class InstanceKeys {
  /** `<remote>:`, or '' for one server. */
  readonly prefix: string

  constructor(remote: string | null) {
    this.prefix = remote === null ? '' : `${remote}:`
  }

  key(project: string, name: string): string {
    return this.prefix === '' ? instanceKey(project, name) : flatString(this.prefix + instanceKey(project, name))
  }

  /** The mapped instance under this server's key (mapInstance keys it `<project>/<name>`). */
  keyed(m: Mapped): Mapped {
    return this.prefix === '' ? m : { ...m, key: this.key(m.project, m.name) }
  }

  /** Whether the key is one of this server's instances. */
  owns(key: string): boolean {
    return key.startsWith(this.prefix)
  }

  /** [project, name] of one of this server's keys. */
  split(key: string): [string, string] {
    const k = key.slice(this.prefix.length)
    const slash = k.indexOf('/')
    return [k.slice(0, slash), k.slice(slash + 1)]
  }
}

/** The remote of a key `<remote>:<project>/<name>` ('' for a key without one). */
export function remoteOf(key: string): string {
  const colon = key.indexOf(':')
  const slash = key.indexOf('/')
  return colon >= 0 && (slash < 0 || colon < slash) ? key.slice(0, colon) : ''
}
