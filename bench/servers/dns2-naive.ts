/**
 * The obvious build: dns2's createServer with a Map from name to address, decoding and encoding every
 * message with dns2. Reads `name type address` lines from the file in argv[2]; prints {"port": N}.
 */
import { readFileSync } from 'node:fs'
import dns2 from 'dns2'

const { Packet } = dns2
const records = new Map<string, { type: number; address: string }[]>()
for (const line of readFileSync(process.argv[2] as string, 'utf8').split('\n')) {
  const [name, type, address] = line.trim().split(/\s+/)
  if (name === undefined || address === undefined) continue
  const key = name.toLowerCase()
  records.set(key, [...(records.get(key) ?? []), { type: type === 'AAAA' ? Packet.TYPE.AAAA : Packet.TYPE.A, address }])
}
const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request)
    const question = request.questions[0]
    if (question === undefined) return
    const found = records.get(question.name.toLowerCase())
    if (found === undefined) response.header.rcode = 3
    for (const r of found ?? []) {
      if (r.type === question.type) response.answers.push({ name: question.name, type: r.type, class: Packet.CLASS.IN, ttl: 30, address: r.address } as unknown as (typeof response.answers)[number])
    }
    send(response)
  },
})
server.on('listening', () => {
  const addr = server.addresses().udp
  console.log(JSON.stringify({ port: addr?.port }))
})
server.listen({ udp: { port: 0, address: '127.0.0.1' } })
