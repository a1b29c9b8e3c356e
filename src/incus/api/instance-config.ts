/**
 * @module incus/api/instance-config
 * What incus-dns reads of an instance's configuration and devices: the expanded ones first, since user.*
 * keys and NICs may come from profiles (§0.9).
 */
import type { Instance } from './types.ts'

/** user.* keys may come from profiles, so read expanded_config (§0.9), falling back to config. */
export function configOf(inst: Instance): Readonly<Record<string, string>> {
  return inst.expanded_config ?? inst.config ?? {}
}

/** The NIC devices, expanded from profiles, sorted by device name (a stable order for 'the first NIC'). */
export function nicDevices(inst: Instance): [string, NonNullable<Instance['devices']>[string]][] {
  const devices = inst.expanded_devices ?? inst.devices ?? {}
  return Object.entries(devices).filter(([, d]) => d.type === 'nic').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
