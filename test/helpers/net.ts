/** Small waiting and port helpers: every wait has a deadline, nothing sleeps a fixed time. */
import dgram from 'node:dgram'
import net from 'node:net'

/** A port free for both UDP and TCP on 127.0.0.1 at the time of asking. */
export async function freePort(): Promise<number> {
  for (;;) {
    const udp = dgram.createSocket('udp4')
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)))
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    udp.close()
    if (ok) return port
  }
}

/** Polls `check` until it returns true; fails with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      if (await check()) return
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${describe()}`)
    await new Promise((r) => setTimeout(r, delay))
  }
}

/** Sends one UDP datagram and returns the first reply, or null after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 1000, host = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const timer = setTimeout(() => { sock.close(); resolve(null) }, timeoutMs)
    sock.once('message', (reply) => { clearTimeout(timer); sock.close(); resolve(reply) })
    sock.send(msg, port, host)
  })
}
