/**
 * In-process micro-benchmark of the hot path and of zone changes: ns per answer() call (hit, NXDOMAIN,
 * CNAME chain, AAAA, NODATA) at 1k / 10k / 100k names, and µs per instance change; and what split horizon
 * adds to a hit, as the transports call it, with 0, 2 and 8 views (each an IPv4 /24 and an IPv6 /64 of clients). Prints numbers; it
 * asserts nothing (the machines are shared and noisy: compare runs side by side, not to a constant).
 */
import { randomBytes } from 'node:crypto'
import { Bench } from 'tinybench'
import { answer, Reply } from '../src/dns/answer.ts'
import { Cookies } from '../src/dns/cookies.ts'
import { Rrl } from '../src/dns/rrl.ts'
import { DnsStats } from '../src/dns/stats.ts'
import { ViewTable } from '../src/dns/view-table.ts'
import type { View } from '../src/dns/view-table.ts'
import { ZoneStore } from '../src/zone/store.ts'
import type { Rec } from '../src/zone/types.ts'

function query(name: string, qtype: number): Buffer {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  const h = Buffer.alloc(12)
  h.writeUInt16BE(0x1234, 0); h.writeUInt16BE(0x0100, 2); h.writeUInt16BE(1, 4)
  const t = Buffer.alloc(4); t.writeUInt16BE(qtype, 0); t.writeUInt16BE(1, 2)
  return Buffer.concat([h, ...parts, Buffer.from([0]), t])
}

function buildZone(names: number): ZoneStore {
  const store = new ZoneStore()
  const apex = 'incus.example.org'
  store.batch(() => {
    store.setOwner('file', apex, [{ name: apex, ttl: 3600, data: { type: 'SOA', mname: `ns1.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 60 } }])
    for (let i = 0; i < names; i++) {
      const name = `instance-${i}.${apex}`
      const recs: Rec[] = [
        { name, ttl: 30, data: { type: 'A', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } },
        { name, ttl: 30, data: { type: 'AAAA', address: `fd42::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}` } },
      ]
      store.setOwner('incus', name, recs)
    }
    store.setOwner('incus', `alias.${apex}`, [{ name: `alias.${apex}`, ttl: 30, data: { type: 'CNAME', target: `www.${apex}` } }])
    store.setOwner('incus', `www.${apex}`, [{ name: `www.${apex}`, ttl: 30, data: { type: 'CNAME', target: `instance-1.${apex}` } }])
  })
  try { // a wildcard and a zone cut (issue 12); a tree from before them refuses both, and its rows say n/a
    store.batch(() => {
      store.setOwner('file', `*.apps.${apex}`, [{ name: `*.apps.${apex}`, ttl: 30, data: { type: 'A', address: '192.0.2.10' } }])
      store.setOwner('file', `sub.${apex}`, [{ name: `sub.${apex}`, ttl: 30, data: { type: 'NS', target: `ns.sub.${apex}` } }])
      store.setOwner('file', `ns.sub.${apex}`, [{ name: `ns.sub.${apex}`, ttl: 30, data: { type: 'A', address: '192.0.2.53' } }])
    })
  } catch { /* not supported by this tree */ }
  return store
}

const sizes = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number)
const rows: Record<string, string | number>[] = []
for (const size of sizes) {
  // Heap bytes the zone holds after full collections (--expose-gc), plus the name table's arena bytes in
  // use (its ArrayBuffer is allocated ahead, untouched past them). RSS is measured by load.ts: inside this
  // process it moves with whatever the garbage collector kept from earlier sizes.
  const held = (): number => { global.gc?.(); return process.memoryUsage().heapUsed }
  const heldBefore = held()
  const t0 = performance.now()
  const store = buildZone(size)
  const buildMs = performance.now() - t0
  const heldPerName = (held() - heldBefore) / size
  const table = store.table
  const reply = new Reply()
  // answer() patches its request's header in place, so each call first restores the 12 header bytes
  // (the 'restore header only' row is that cost alone).
  const cases: [string, Buffer][] = [
    ['hit A', query(`Instance-${size >> 1}.incus.example.org`, 1)],
    ['hit AAAA', query(`instance-${size >> 2}.incus.example.org`, 28)],
    ['CNAME chain', query('alias.incus.example.org', 1)],
    ['NODATA', query(`instance-7.incus.example.org`, 16)],
    ['NXDOMAIN', query('nothere.incus.example.org', 1)],
    ['NXDOMAIN 3 labels below the apex', query('a.b.nothere.incus.example.org', 1)],
    ['wildcard (synthesised)', query('x.apps.incus.example.org', 1)],
    ['referral below a cut', query('x.sub.incus.example.org', 1)],
  ]
  const bench = new Bench({ time: 400, warmupTime: 100 })
  for (const [label, q] of cases) {
    const req = Buffer.from(q)
    q.copy(req, 0, 0, 12)
    // Only what this tree answers: a tree without wildcards or cuts gives NXDOMAIN or nothing there.
    if (answer(req, false, table, reply) !== 1 || (label.startsWith('wildcard') || label.startsWith('referral')) && ((req[3] as number) & 15) !== 0) continue
    bench.add(label, () => {
      q.copy(req, 0, 0, 12)
      if (answer(req, false, table, reply) !== 1 || reply.head.length < 12) throw new Error(`${label}: no answer`)
    })
  }
  // Split horizon as udp.ts calls it: `views.split ? views.pick(address).table : table`. Every view's table is
  // the same one here, so that the rows differ by the pick alone. A client in no view is the worst case: it
  // tests every prefix of its family.
  const hit = cases[0]![1]
  const hitReq = Buffer.from(hit)
  for (const count of [0, 2, 8]) {
    const views = new ViewTable(table)
    const list: View[] = Array.from({ length: count }, (_, k) => ({ name: `v${k}`, table, queries: 0 }))
    views.set(list, list.flatMap((v, k) => [{ cidr: `10.${k}.0.0/24`, view: v }, { cidr: `fd42:${k}::/64`, view: v }]))
    const clients: [string, string][] = count === 0
      ? [['IPv4 client', '192.0.2.1']]
      : [['IPv4 client in the last view', `10.${count - 1}.0.7`], ['IPv4 client in no view', '192.0.2.1'], ['IPv6 client in no view (cached)', '2001:db8::1']]
    for (const [who, address] of clients) {
      bench.add(`hit A, ${count} views, ${who}`, () => {
        hit.copy(hitReq, 0, 0, 12)
        if (answer(hitReq, false, views.split ? views.pick(address).table : table, reply) !== 1) throw new Error('no answer')
      })
      // The pick alone, which is all that views add (the rows above move with the machine's noise more).
      if (count > 0) bench.add(`  pick alone, ${count} views, ${who}`, () => { if (views.pick(address).table !== table) throw new Error('wrong table') })
    }
    if (count === 2) {
      // Behind a trusted resolver (INCUS_DNS_VIEWS_ECS): the query's client subnet picks the view, and the
      // reply's OPT is built with the option echoed (dns/subnet.ts), the one allocation this adds.
      views.setSubnetSources(['127.0.0.1/32'])
      const ecs = Buffer.concat([hit, Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 0])])
      ecs.writeUInt16BE(1, 10)
      const ecsReq = Buffer.from(ecs)
      bench.add('hit A, 2 views, ECS 10.1.0.0/24 from a trusted resolver', () => {
        ecs.copy(ecsReq, 0, 0, 12)
        const address = '127.0.0.1'
        if (answer(ecsReq, false, views.split ? views.pick(address).table : table, reply, views.subnets && views.trustsSubnet(address) ? views : null) !== 1) throw new Error('no answer')
      })
      views.setSubnetSources([])
    }
  }
  // DNS cookies (dns/cookies.ts), on by default: nothing for a query without one; with one, the address parsed
  // and one SipHash-2-4 (a client cookie: ours made), or one to check a server cookie (kept while fresh).
  {
    const cookies = new Cookies('on', randomBytes(16))
    const withCookie = (cookie: Buffer): Buffer => {
      const q = Buffer.concat([hit, Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 4 + cookie.length, 0, 10, 0, cookie.length]), cookie])
      q.writeUInt16BE(1, 10)
      return q
    }
    const cookieReply = new Reply(null, cookies)
    cookieReply.peer = '192.0.2.1'
    const plainEdns = withCookie(Buffer.alloc(0)).subarray(0, hit.length + 11)
    plainEdns.writeUInt16BE(0, plainEdns.length - 2)
    const client = withCookie(randomBytes(8))
    const first = Buffer.from(client)
    answer(first, false, table, cookieReply)
    const ours = cookieReply.opt.subarray(cookieReply.opt.length - 24)
    const held = withCookie(Buffer.from(ours))
    for (const [label, q] of [['hit A, EDNS, cookies on, no cookie', plainEdns], ['hit A, client cookie (ours made)', client], ['hit A, server cookie of ours (checked, kept)', held]] as const) {
      const req = Buffer.from(q)
      bench.add(label, () => {
        q.copy(req, 0, 0, 12)
        if (answer(req, false, table, cookieReply) !== 1) throw new Error(`${label}: no answer`)
      })
    }
  }
  // Response rate limiting (dns/rrl.ts), which udp.ts calls after answer() when INCUS_DNS_RRL_RATE > 0: one
  // hash of the response and one table lookup. Off, it costs one null test. A rate no query reaches here, so
  // that the row is the lookup, not the dropping.
  {
    const rrl = new Rrl({ rate: 1e9, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: null, logOnly: false })
    const req = Buffer.from(hit)
    bench.add('hit A, then the rate-limit check', () => {
      hit.copy(req, 0, 0, 12)
      if (answer(req, false, table, reply) !== 1) throw new Error('no answer')
      if (rrl.check('192.0.2.1', reply.head, [reply.body, reply.auth], 0) !== 0) throw new Error('limited')
    })
    bench.add('  the rate-limit check alone (an A answer)', () => {
      if (rrl.check('192.0.2.1', reply.head, [reply.body, reply.auth], 0) !== 0) throw new Error('limited')
    })
  }
  let sink = 0
  bench.add("empty call (the bench's own cost per call)", () => { sink++ })
  // What the UDP transport adds per query for metrics: two clock reads, the latency histogram, counters.
  const stats = new DnsStats()
  bench.add('metrics per query (2 clock reads + histogram + counters)', () => {
    const t0 = performance.now()
    stats.queriesUdp++
    stats.qtype(false, 1)
    stats.response(cases[0]![1])
    stats.observe((performance.now() - t0) / 1000)
  })
  const scratchReq = Buffer.from(cases[0]![1])
  bench.add('restore header only', () => { cases[0]![1].copy(scratchReq, 0, 0, 12) })
  let n = 0
  bench.add('one instance change', () => {
    const i = n++ % size
    const name = `instance-${i}.incus.example.org`
    store.setOwner('incus', name, [{ name, ttl: 30, data: { type: 'A', address: `10.200.${(n >> 8) & 255}.${n & 255}` } }])
  })
  await bench.run()
  for (const task of bench.tasks) {
    const r = task.result as { latency?: { mean: number; p99?: number } } | undefined
    const mean = r?.latency?.mean ?? NaN
    rows.push({ names: size, case: task.name, 'ns/op (mean)': Math.round(mean * 1e6), 'ns/op (p99)': Math.round((r?.latency?.p99 ?? NaN) * 1e6) })
  }
  rows.push({ names: size, case: `(build ${Math.round(buildMs)} ms, heap ${global.gc === undefined ? '? (run with --expose-gc)' : Math.round(heldPerName)} + arena ${Math.round((store.table.names.bytesUsed + store.table.apexes.bytesUsed) / size)} B/name)`, 'ns/op (mean)': '', 'ns/op (p99)': '' })
}
console.log(`node ${process.version}, ${new Date().toISOString()}`)
console.table(rows)
