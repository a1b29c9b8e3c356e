/**
 * Starts the real DNS server in-process on ephemeral loopback ports, serving a zones folder.
 */
import pino from 'pino'
import { start } from '../../src/cli/main.ts'
import type { Running } from '../../src/cli/main.ts'
import { loadConfig } from '../../src/config/load.ts'

export async function startServer(zonesDir: string, extraArgs: readonly string[] = []): Promise<Running & { port: number; port6: number }> {
  const { config } = loadConfig(['--listen', '127.0.0.1:0,[::1]:0', '--zones-dir', zonesDir, ...extraArgs], {})
  const running = await start(config, pino({ level: 'silent' }))
  const [v4, v6] = running.server.addresses
  return Object.assign(running, { port: v4?.port ?? 0, port6: v6?.port ?? 0 })
}
