/**
 * @module incus/leases
 * A managed network's DHCP leases by MAC, fetched once per (network, project) per sync. Only a fallback for
 * an instance that reports no interface at all (naming/map.ts says why): failures give no leases, not an error.
 */
import type { Logger } from 'pino'
import type { IncusClient } from './api/client.ts'
import type { Instance } from './api/types.ts'
import { mapInstance } from './naming/map.ts'
import { leaseNetworks, orderedInterfaces } from './naming/instance-addresses.ts'
import type { MapSettings, Mapped } from './naming/map.ts'
import type { Leases, NetworkFamilies } from './naming/instance-addresses.ts'

/** Fetches each (network, project)'s leases once per sync. */
export class LeaseCache {
  readonly #client: IncusClient
  readonly #log: Logger
  readonly #cache = new Map<string, Promise<Map<string, string[]>>>()
  constructor(client: IncusClient, log: Logger) { this.#client = client; this.#log = log }

  async get(networks: readonly string[], project: string): Promise<Leases> {
    const merged = new Map<string, string[]>()
    for (const net of networks) {
      const k = `${project}/${net}`
      let p = this.#cache.get(k)
      if (p === undefined) {
        p = this.#client.leases(net, project).then((list) => {
          const byMac = new Map<string, string[]>()
          for (const l of list) byMac.set(l.hwaddr.toLowerCase(), [...(byMac.get(l.hwaddr.toLowerCase()) ?? []), l.address])
          return byMac
        }, (err: Error) => { this.#log.debug({ network: net, project, err: err.message }, 'no DHCP leases'); return new Map<string, string[]>() })
        this.#cache.set(k, p)
      }
      for (const [mac, addrs] of await p) merged.set(mac, [...(merged.get(mac) ?? []), ...addrs])
    }
    return merged
  }
}

/** Maps an instance; the leases are read only for one that reports no interface at all (naming/map.ts says why). */
export async function mapWithLeases(inst: Instance, settings: MapSettings, families: NetworkFamilies, leases: LeaseCache): Promise<Mapped> {
  const mapped = mapInstance(inst, settings, families)
  if (mapped.skipped === null || mapped.awaitingAddress === false || orderedInterfaces(inst).length > 0) return mapped
  const networks = leaseNetworks(inst)
  if (networks.length === 0) return mapped
  return mapInstance(inst, settings, families, await leases.get(networks, inst.project))
}
