/**
 * What a full Incus sync costs the thread that answers, at 1k and 10k instances (issue 19's scale goal:
 * answers wait under 50 ms at 10k), for two fleets side by side: `dual`, every instance with both addresses
 * (settled, nothing pending), and `v4only`, every instance with IPv4 only on a dual-stack bridge (guests with
 * IPv6 off: the address watch waits for an IPv6 that never comes, issue 24). Three processes, so that no timer
 * of one hides a stall of another: the simulated Incus (`node bench/sync.ts sim N socket fleet`), incus-dns
 * (`--workers 1`, a poll every 2 s, so about four full syncs in the window), and this one sending one query
 * per ms for 8 s over loopback UDP and timing each answer. Prints the worst and p99 answer latency, one sync's
 * wall time and bytes read (incus-dns's own gauges), its CPU over the window, its RSS, and the requests the
 * simulated Incus got for single instances (GETs) and listings in the window. Asserts nothing.
 * `BENCH_SYNC_SIZES=1000,10000 BENCH_SYNC_FLEETS=dual,v4only node bench/sync.ts [path/to/src/cli/bin.ts]`
 * (another tree's bin compares).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const [, , mode, arg1, arg2, arg3] = process.argv

if (mode === 'sim') {
  // The simulated Incus with N running instances, each with both addresses (dual) or IPv4 only on the
  // dual-stack bridge (v4only). A line on stdin asks how many GETs of single instances and listings it has had.
  const { SimIncus } = await import('../src/sim/server.ts')
  const sim = new SimIncus()
  const n = Number(arg1)
  for (let i = 0; i < n; i++) {
    sim.launch({ name: `i${i}`, ipv4: `10.42.${(i >> 8) & 255}.${i & 255}`, ipv6: arg3 === 'v4only' ? null : `fd42:4c81:5770:1eaf::${i.toString(16)}`, config: { 'user.dns.aliases': `a${i}` } })
  }
  await sim.listenUnix(arg2 as string)
  process.stdin.on('data', () => {
    const gets = sim.requests.filter((r) => r.startsWith('GET /1.0/instances/')).length
    const listings = sim.requests.filter((r) => r.startsWith('GET /1.0/instances?')).length
    process.stdout.write(`counts ${gets} ${listings}\n`)
  })
  process.stdout.write('ready\n')
} else {
  const bin = mode ?? new URL('../src/cli/bin.ts', import.meta.url).pathname
  const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
  const waitFor = (child: ChildProcess, text: string): Promise<void> => new Promise((resolve, reject) => {
    let seen = ''
    const on = (d: Buffer): void => { seen += d.toString(); if (seen.includes(text)) resolve() }
    child.stdout?.on('data', on)
    child.stderr?.on('data', on)
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${seen.slice(-500)}`)))
  })
  const metrics = async (port: number): Promise<Map<string, number>> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    return new Map(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => { const i = l.lastIndexOf(' '); return [l.slice(0, i), Number(l.slice(i + 1))] as [string, number] }))
  }
  /** GETs of single instances and listings the simulated Incus has had so far. */
  const simCounts = (sim: ChildProcess): Promise<[number, number]> => new Promise((resolve) => {
    const on = (d: Buffer): void => {
      const m = /counts (\d+) (\d+)/.exec(d.toString())
      if (m === null) return
      sim.stdout?.off('data', on)
      resolve([Number(m[1]), Number(m[2])])
    }
    sim.stdout?.on('data', on)
    sim.stdin?.write('count\n')
  })
  console.log(`node ${process.version}, ${new Date().toISOString()}, incus-dns ${bin}`)
  for (const n of (process.env.BENCH_SYNC_SIZES ?? '1000,10000').split(',').map(Number)) for (const fleet of (process.env.BENCH_SYNC_FLEETS ?? 'dual,v4only').split(',')) {
    const socket = join(mkdtempSync(join(tmpdir(), 'bench-sync-')), 'unix.socket')
    const sim = spawn(process.execPath, [new URL(import.meta.url).pathname, 'sim', String(n), socket, fleet], { stdio: ['pipe', 'pipe', 'inherit'] })
    await waitFor(sim, 'ready')
    const dnsPort = 20000 + Math.floor(Math.random() * 20000)
    const httpPort = dnsPort + 1
    const dns = spawn(process.execPath, [bin, '--incus-socket', socket, '--suffix', 'incus.example.org', '--listen', `127.0.0.1:${dnsPort}`,
      '--http-listen', `127.0.0.1:${httpPort}`, '--workers', '1', '--poll-interval', '2s', '--zones-dir', mkdtempSync(join(tmpdir(), 'bench-sync-zones-')), '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] })
    await waitFor(dns, 'Incus sync done')
    await new Promise((r) => setTimeout(r, 3000)) // the first sync's garbage collected, one poll gone by
    const before = await metrics(httpPort)
    const [gets0, lists0] = await simCounts(sim)
    const client = dgram.createSocket('udp4')
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
    const sent = new Map<number, number>()
    const latencies: number[] = []
    client.on('message', (msg) => {
      const t = sent.get(msg.readUInt16BE(0))
      if (t !== undefined) { latencies.push(performance.now() - t); sent.delete(msg.readUInt16BE(0)) }
    })
    const query = (id: number): Buffer => {
      const name = `i${id % n}.incus.example.org`
      const q = Buffer.alloc(12 + name.length + 2 + 4)
      q.writeUInt16BE(id, 0); q.writeUInt16BE(0x0100, 2); q.writeUInt16BE(1, 4)
      let o = 12
      for (const label of name.split('.')) { q[o++] = label.length; q.write(label, o); o += label.length }
      q[o++] = 0; q.writeUInt16BE(1, o); q.writeUInt16BE(1, o + 2)
      return q
    }
    const t0 = performance.now()
    let id = 0
    // One query per ms for 8 s, on a schedule of its own: a late tick sends what it owes at once.
    while (performance.now() - t0 < 8000) {
      const due = Math.floor(performance.now() - t0)
      while (id < due) { const q = query(id & 0xffff); sent.set(id & 0xffff, performance.now()); client.send(q, dnsPort, '127.0.0.1'); id++ }
      await new Promise((r) => setTimeout(r, 1))
    }
    await new Promise((r) => setTimeout(r, 500))
    const after = await metrics(httpPort)
    const [gets1, lists1] = await simCounts(sim)
    client.close()
    const sorted = latencies.sort((a, b) => a - b)
    const syncs = (after.get('incus_dns_incus_syncs_total{result="success"}') ?? 0) - (before.get('incus_dns_incus_syncs_total{result="success"}') ?? 0)
    const cpu = (after.get('process_cpu_seconds_total') ?? 0) - (before.get('process_cpu_seconds_total') ?? 0)
    const wall = after.get('incus_dns_incus_last_sync_duration_seconds')
    const bytes = after.get('incus_dns_incus_last_sync_bytes')
    const window = 8.5 // s: the 8 s of queries and the half second after
    console.log(`${n} instances ${fleet}: ${syncs} syncs in 8 s; Incus got ${gets1 - gets0} GETs of single instances (${((gets1 - gets0) / window).toFixed(1)}/s) and ${lists1 - lists0} listings; answers ${sorted.length}/${id} (lost ${id - sorted.length}); worst ${(sorted.at(-1) ?? NaN).toFixed(1)} ms, p99 ${pct(sorted, 0.99).toFixed(2)} ms, p50 ${pct(sorted, 0.5).toFixed(2)} ms; ` +
      `one sync ${wall === undefined ? 'n/a' : `${(wall * 1000).toFixed(0)} ms`} wall, ${bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(1)} MiB`} read; CPU ${(cpu * 1000).toFixed(0)} ms over the window; RSS ${((after.get('process_resident_memory_bytes') ?? 0) / 1048576).toFixed(0)} MiB`)
    dns.kill('SIGTERM')
    sim.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
  }
}
