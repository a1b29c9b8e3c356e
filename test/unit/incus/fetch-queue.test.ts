/**
 * The request budget and the queue that spends it (issue 24): a token bucket with a second's burst; events
 * before address polls; one request per instance however often it is asked; a listing in place of GETs when
 * more wait than a second of the budget serves, spaced by the listing gap; any full sync answers what was
 * queued before it started. And the address watch backing off from an instance Incus fails to read.
 */
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { AddressWatcher } from '../../../src/incus/address-watch.ts'
import { FetchQueue } from '../../../src/incus/fetch-queue.ts'
import type { FetchWhy } from '../../../src/incus/fetch-queue.ts'
import type { Mapped } from '../../../src/incus/naming/map.ts'
import { RequestBudget } from '../../../src/incus/request-budget.ts'

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('RequestBudget', () => {
  it('gives a second of the rate at once, then one per 1/rate, and says how long to wait', () => {
    let now = 0
    const b = new RequestBudget(10, () => now)
    for (let i = 0; i < 10; i++) expect(b.take()).toBe(0)
    expect(b.take()).toBe(100)
    now += 100
    expect(b.take()).toBe(0)
    expect(b.take()).toBe(100)
    now += 10_000 // never more than a second's worth saved up
    for (let i = 0; i < 10; i++) expect(b.take()).toBe(0)
    expect(b.take()).toBeGreaterThan(0)
  })
})

describe('FetchQueue', () => {
  const queues: FetchQueue[] = []
  afterEach(() => { for (const q of queues.splice(0)) q.stop() })
  const make = (rate: number, opts: { listingGap?: number; fail?: boolean } = {}) => {
    const fetched: [string, FetchWhy][] = []
    let listing = false
    let lists = 0
    const q = new FetchQueue({
      budget: new RequestBudget(rate),
      fetch: async (key, why) => { fetched.push([key, why]); await tick(); return opts.fail !== true },
      list: () => { lists++; listing = true },
      listing: () => listing,
      listingGap: () => opts.listingGap ?? 0,
    })
    queues.push(q)
    return { q, fetched, lists: () => lists, endListing: (startedAt: number, ok = true) => { listing = false; q.listed(startedAt, ok) } }
  }

  it('serves events before address polls, one read per instance however often asked', async () => {
    const { q, fetched } = make(10)
    const waits = [q.request('a', 'address'), q.request('b', 'address'), q.request('c', 'event'), q.request('a', 'address'), q.request('b', 'event')]
    expect(await Promise.all(waits)).toEqual([true, true, true, true, true])
    expect(fetched).toEqual([['c', 'event'], ['b', 'event'], ['a', 'address']])
  })

  it('stays within the budget: at 5 a second, 5 at once, 3 more over the next second', async () => {
    const { q, fetched, lists } = make(5)
    const t0 = performance.now()
    const done = Array.from({ length: 5 }, (_, i) => q.request(`i${i}`, 'address'))
    await tick(20)
    expect(fetched).toHaveLength(5)
    done.push(...Array.from({ length: 3 }, (_, i) => q.request(`j${i}`, 'address')))
    await tick(20)
    expect(fetched).toHaveLength(5)
    await Promise.all(done)
    expect(lists()).toBe(0)
    expect(performance.now() - t0).toBeGreaterThan(500)
    expect(fetched).toHaveLength(8)
  })

  it('more waiting than a second of the budget: one listing instead, which answers what was queued before it started', async () => {
    const { q, fetched, lists, endListing } = make(5)
    const results: boolean[] = []
    for (let i = 0; i < 50; i++) void q.request(`i${i}`, 'address').then((ok) => results.push(ok))
    await tick(5)
    expect(lists()).toBe(1)
    expect(fetched).toHaveLength(0)
    const started = performance.now()
    await tick(2)
    const late = q.request('late', 'address')
    endListing(started - 1) // the listing started before 'late' was asked
    await tick(5)
    expect(results).toHaveLength(50)
    expect(await late).toBe(true)
    expect(fetched).toEqual([['late', 'address']])
  })

  it('a failed read answers false', async () => {
    const { q } = make(5, { fail: true })
    expect(await q.request('a', 'event')).toBe(false)
  })
})

describe('AddressWatcher', () => {
  it('backs off from an instance Incus fails to read, fast phase or not, and gives up at its bound', async () => {
    const awaiting: Mapped = { key: 'default/web', project: 'default', name: 'web', hostname: 'web.x', aliases: [], ipv4: '10.0.0.1', ipv6: null, skipped: null, awaitingAddress: 'network' }
    const polls: number[] = []
    let ok = false
    const w = new AddressWatcher({
      timing: { firstMs: 10, fastForMs: 10_000, maxMs: 160, giveUpMs: 900, guessGiveUpMs: 900 },
      log: pino({ level: 'silent' }),
      poll: (_key, done) => { polls.push(performance.now()); setImmediate(() => done(ok)) },
      current: () => awaiting,
    })
    w.watch('default/web')
    await tick(400)
    // Failing: 20, 40, 80, 160 ms apart (not every 10 ms of the fast phase): 5 polls in 400 ms, not 40.
    expect(polls.length).toBeGreaterThanOrEqual(3)
    expect(polls.length).toBeLessThanOrEqual(6)
    const gaps = polls.slice(1).map((t, i) => t - (polls[i] as number))
    expect(gaps[2] as number).toBeGreaterThan(gaps[0] as number)
    ok = true
    await tick(700)
    expect(w.gaveUp('default/web')).toMatchObject({ family: 'IPv6' })
    expect(w.watching).toBe(0)
    w.stop()
  })
})
