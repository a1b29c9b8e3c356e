/** Small waiting and port helpers: every wait has a deadline, nothing sleeps a fixed time. */
import dgram from 'node:dgram'
import net from 'node:net'

/**
 * A port free for both UDP and TCP on 127.0.0.1, for peers (knotd) that cannot take port 0. Picked below
 * the kernel's ephemeral range (32768+), so client sockets of parallel tests cannot grab it meanwhile.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    const udp = dgram.createSocket('udp4')
    const udpOk = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false))
      udp.bind(port, '127.0.0.1', () => resolve(true))
    })
    const tcpOk = udpOk && await new Promise<boolean>((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    udp.close()
    if (tcpOk) return port
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

/** Sends one UDP datagram (from the address `from`, when given) and returns the first reply, or null after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 1000, host = '127.0.0.1', from?: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const timer = setTimeout(() => { sock.close(); resolve(null) }, timeoutMs)
    sock.once('message', (reply) => { clearTimeout(timer); sock.close(); resolve(reply) })
    if (from === undefined) sock.send(msg, port, host)
    else sock.bind({ address: from, port: 0 }, () => sock.send(msg, port, host))
  })
}
