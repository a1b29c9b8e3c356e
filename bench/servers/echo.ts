/**
 * The runtime's limit: a bare node:dgram server that sends every datagram straight back (no DNS work). It
 * prints {"port": N} once bound.
 */
import dgram from 'node:dgram'

const socket = dgram.createSocket('udp4')
socket.on('message', (msg, rinfo) => { socket.send(msg, rinfo.port, rinfo.address) })
socket.bind(0, '127.0.0.1', () => {
  try { socket.setRecvBufferSize(4 * 1024 * 1024) } catch { /* default */ }
  console.log(JSON.stringify({ port: socket.address().port }))
})
