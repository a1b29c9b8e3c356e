/**
 * Starts the real DNS server in-process on ephemeral loopback ports, serving a zones folder; the Incus
 * source is off unless the arguments point it somewhere.
 */
import pino from 'pino'
import type { Logger } from 'pino'
import { start } from '../../src/cli/main.ts'
import type { Running } from '../../src/cli/main.ts'
import type { StartOverrides } from '../../src/cli/incus-sources.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { Status } from '../../src/http/status.ts'

export type TestServer = Running & { port: number; port6: number }

export async function startServer(zonesDir: string, extraArgs: readonly string[] = [], overrides: StartOverrides = {}, log?: Logger): Promise<TestServer> {
  const incusGiven = extraArgs.some((a) => a === '--incus-socket' || a === '--incus-url' || a === '--incus-remotes')
  const httpGiven = extraArgs.includes('--http-listen')
  const args = ['--listen', '127.0.0.1:0,[::1]:0', '--zones-dir', zonesDir, ...(incusGiven ? [] : ['--incus-socket', 'none']),
    ...(httpGiven ? [] : ['--http-listen', '127.0.0.1:0']), ...extraArgs]
  const { config } = loadConfig(args, {})
  const running = await start(config, log ?? pino({ level: 'silent' }), overrides)
  const [v4, v6] = running.server.addresses
  return Object.assign(running, { port: v4?.port ?? 0, port6: v6?.port ?? 0 })
}

/** The server's /status.json (its HTTP port is on unless the arguments turned it off). */
export async function statusOf(server: TestServer): Promise<Status> {
  return await (await fetch(`http://127.0.0.1:${server.http?.address.port}/status.json`)).json() as Status
}
