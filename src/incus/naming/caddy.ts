/**
 * @module incus/naming/caddy
 * Names Caddy routes (caddy-incus-upstreams: `user.caddyserver.http.enable=true` and
 * `user.caddyserver.http.matchers.host=<name>` on an instance, shared/incus-api §6.2) must resolve to the proxy,
 * not to the instance: Caddy takes the connection and passes it on. INCUS_DNS_CADDY_PROXY says where the proxy
 * is: an Incus instance (`[project/]name`, its addresses per view, or a CNAME to it in cname target mode), or
 * fixed addresses.
 */
import ipaddr from 'ipaddr.js'
import { instanceKey } from './instance-names.ts'

export type CaddyProxy =
  /** The proxy is this instance (its key, `<project>/<name>`). */
  | { readonly instance: string }
  /** The proxy is at these addresses, in every view. */
  | { readonly addresses: readonly string[] }

/** `[project/]instance` or `address[,address]`; throws with the fix. */
export function parseCaddyProxy(raw: string): CaddyProxy {
  const items = raw.split(',').map((x) => x.trim()).filter((x) => x !== '')
  if (items.length === 0) throw new Error('is empty; give the proxy instance ([project/]name) or its addresses')
  if (items.every((x) => ipaddr.isValid(x))) {
    return { addresses: items.map((x) => { const ip = ipaddr.parse(x); return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString() }) }
  }
  if (items.length > 1) throw new Error(`'${raw}' is neither addresses (each an IPv4 or IPv6 address) nor one instance ([project/]name)`)
  const m = /^(?:([^/\s]+)\/)?([A-Za-z0-9][A-Za-z0-9-]{0,62})$/.exec(items[0] as string)
  if (m === null) throw new Error(`'${raw}' is not an instance ([project/]name, e.g. caddy or web/caddy) nor an address`)
  return { instance: instanceKey(m[1] ?? 'default', m[2] as string) }
}
