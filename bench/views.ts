/**
 * What split horizon costs besides the pick (bench/hotpath.ts has that): memory and change time per view.
 * Each view count runs in a process of its own (so that memory is not left over from the previous one):
 * BENCH_VIEW_INSTANCES instances (default 20000) with a NIC on each of 8 networks, the views made by `auto`
 * from 0, 1, 2, 4 or 8 of those networks; heap + ArrayBuffer bytes per instance after full collections, and
 * µs per instance change (its address on every network moves). Prints numbers; asserts nothing.
 */
import { execFileSync } from 'node:child_process'
import { parseViews } from '../src/config/view-specs.ts'
import type { Network } from '../src/incus/api/types.ts'
import type { Mapped } from '../src/incus/naming/map.ts'
import { ViewRecords } from '../src/incus/naming/view-records.ts'
import { resolveViews } from '../src/incus/naming/view-ranges.ts'
import { ZoneStore } from '../src/zone/store.ts'
import { ViewStores } from '../src/zone/view-stores.ts'

const N = Number(process.env.BENCH_VIEW_INSTANCES ?? 20000)
const S = 'incus.example.org'
const NETWORKS = 8

function instance(i: number, round: number): Mapped {
  const addresses = Array.from({ length: NETWORKS }, (_, k) => `10.${100 + k}.${(i >> 8) & 255}.${(i + round) & 255}`)
  return { key: `default/i${i}`, project: 'default', name: `i${i}`, hostname: `i${i}.${S}`, aliases: [], ipv4: addresses[0] as string, ipv6: null, addresses, skipped: null, awaitingAddress: false }
}

function one(views: number): Record<string, number> {
  const held = (): number => { global.gc?.(); global.gc?.(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  const before = held()
  const zones = new ViewStores(new ZoneStore(), () => new ZoneStore({ journalSize: 0 }))
  zones.setOwner('incus', S, [{ name: S, ttl: 30, data: { type: 'SOA', mname: `ns.${S}`, rname: `hostmaster.${S}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }])
  const records = new ViewRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict: () => {}, rejected: () => {} })
  const networks: Network[] = Array.from({ length: views }, (_, k) => ({ name: `br${k + 1}`, type: 'bridge', managed: true, config: { 'ipv4.address': `10.${101 + k}.0.1/16` } }))
  const resolved = resolveViews(parseViews('auto'), networks)
  zones.reconcile(resolved.map((v) => v.name))
  records.setViews(resolved, new Map([...zones.named]))
  const t0 = performance.now()
  records.apply(zones.default, new Map(Array.from({ length: N }, (_, i) => [`default/i${i}`, instance(i, 0)])))
  const loadMs = performance.now() - t0
  const bytes = (held() - before) / N
  const changes = 2000
  const t1 = performance.now()
  for (let c = 0; c < changes; c++) records.apply(zones.default, new Map([[`default/i${c}`, instance(c, 1)]]))
  return { views, 'bytes/instance': Math.round(bytes), 'load ms': Math.round(loadMs), 'µs/change': Math.round(((performance.now() - t1) / changes) * 1000) }
}

if (process.argv[2] !== undefined) {
  process.stdout.write(JSON.stringify(one(Number(process.argv[2]))))
} else {
  const rows = [0, 1, 2, 4, 8].map((v) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', ...process.execArgv.filter((a) => a !== '--expose-gc'), new URL(import.meta.url).pathname, String(v)], { encoding: 'utf8' })) as Record<string, number>)
  const base = rows[0] as Record<string, number>
  console.log(`node ${process.version}, ${new Date().toISOString()}, ${N} instances`)
  console.table(rows.map((r) => ({ ...r, 'x memory': ((r['bytes/instance'] as number) / (base['bytes/instance'] as number)).toFixed(2), 'x change': ((r['µs/change'] as number) / (base['µs/change'] as number)).toFixed(2) })))
}
