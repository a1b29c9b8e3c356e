/**
 * @module config/view-specs
 * INCUS_DNS_VIEWS, the split-horizon views, read into specs: which clients each view answers and which
 * instance addresses they see. Incus network names stay names here; the Incus source resolves them to
 * their subnets at every sync (incus/naming/view-ranges.ts), since networks come and go while we run.
 *
 *   views    := view (';' view)*
 *   view     := 'auto' | [name '='] elements ['>' elements]
 *   elements := element (',' element)*        an address range (CIDR or one address) or an Incus network
 */
import { addressRange } from '../address.ts'
import type { ViewElements, ViewSpec } from '../incus/naming/view-ranges.ts'

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i
const EXAMPLE = "e.g. 'auto', 'lan=192.168.1.0/24' or 'vpn=10.8.0.0/24>192.168.1.0/24'"

/** Parses the setting; throws an Error whose message names what is wrong and how to write it. */
export function parseViews(raw: string): ViewSpec[] {
  const specs: ViewSpec[] = []
  const names = new Set<string>()
  for (const part of raw.split(';').map((s) => s.trim()).filter((s) => s !== '')) {
    if (part.toLowerCase() === 'auto') {
      if (!specs.some((s) => s.kind === 'auto')) specs.push({ kind: 'auto' })
      continue
    }
    const eq = part.indexOf('=')
    const named = eq >= 0 ? part.slice(0, eq).trim() : null
    const body = eq >= 0 ? part.slice(eq + 1) : part
    const arrow = body.indexOf('>')
    const clients = elements(arrow >= 0 ? body.slice(0, arrow) : body, part)
    const sees = arrow >= 0 ? elements(body.slice(arrow + 1), part) : clients
    let name = named
    if (name === null) {
      // Unnamed: only one network on the client side names its view.
      if (clients.cidrs.length > 0 || clients.networks.length !== 1) throw new Error(`view '${part}' needs a name: write name=${body.trim()} (${EXAMPLE})`)
      name = clients.networks[0] as string
    }
    if (!NAME.test(name)) throw new Error(`view name '${name}' is not letters, digits, '-', '_' or '.' (${EXAMPLE})`)
    if (name.toLowerCase() === 'default') throw new Error("'default' names the view of every other client; give this view another name")
    if (names.has(name)) throw new Error(`view '${name}' is given twice; give each view one entry`)
    names.add(name)
    specs.push({ kind: 'view', name, clients, sees })
  }
  if (specs.length === 0) throw new Error(`lists no view (${EXAMPLE}); leave it empty for none`)
  return specs
}

function elements(text: string, part: string): ViewElements {
  const cidrs: string[] = []
  const networks: string[] = []
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new Error(`view '${part}' has an empty side: give CIDRs, addresses or Incus network names (${EXAMPLE})`)
  for (const item of items) {
    const range = addressRange(item)
    if (range !== null) {
      cidrs.push(range)
    } else if (item.includes('/') || /^[0-9.:]+$/.test(item)) {
      throw new Error(`'${item}' in view '${part}' is not a CIDR such as 10.42.0.0/24 or fd42::/64`)
    } else if (!NAME.test(item)) {
      throw new Error(`'${item}' in view '${part}' is neither an address range nor an Incus network name`)
    } else {
      networks.push(item)
    }
  }
  return { cidrs, networks }
}
