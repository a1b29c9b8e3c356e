/**
 * A simulated Incus on a temporary unix socket plus incus-dns pointed at it, with log lines captured.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import type { StartOverrides } from '../../src/cli/incus-sources.ts'
import { SimIncus } from '../../src/sim/server.ts'
import { startServer } from './server.ts'
import type { TestServer } from './server.ts'

export interface LogLine { level: number; msg: string; [k: string]: unknown }

/** A pino logger whose lines land in `lines`. */
export function captureLog(level = 'debug'): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine); done() } })
  return { log: pino({ level }, sink), lines }
}

export async function simSocket(): Promise<{ sim: SimIncus; socket: string }> {
  const sim = new SimIncus()
  const socket = join(mkdtempSync(join(tmpdir(), 'incus-sim-')), 'unix.socket')
  await sim.listenUnix(socket)
  return { sim, socket }
}

/** Fast timings for tests: address polls start at 20 ms, reconnects at 50 ms. */
export const FAST = { addressPoll: { firstMs: 20, fastForMs: 2000, maxMs: 200, giveUpMs: 20_000, guessGiveUpMs: 5000 }, eventBackoff: { minMs: 50, maxMs: 300 } }

export async function startWithIncus(zonesDir: string, args: readonly string[], overrides: StartOverrides = {}): Promise<{ server: TestServer; lines: LogLine[] }> {
  const { log, lines } = captureLog()
  const server = await startServer(zonesDir, args, { ...FAST, ...overrides }, log)
  return { server, lines }
}
