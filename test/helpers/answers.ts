/**
 * One question over UDP to a server under test, decoded with the packet helpers: no dig needed, and a lost
 * reply is an error rather than an empty answer.
 */
import { udpExchange } from './net.ts'
import { decode, query } from './packets.ts'
import type { Decoded } from './packets.ts'

export async function ask(port: number, name: string, type = 'A', from?: string): Promise<Decoded> {
  const reply = await udpExchange(port, query(name, type), 1000, '127.0.0.1', from)
  if (reply === null) throw new Error(`no answer for ${name} ${type}`)
  return decode(reply)
}

/** The rdata of the answers of that type. */
export async function rdata(port: number, name: string, type = 'A'): Promise<string[]> {
  return (await ask(port, name, type)).answer.map((l) => l.split(' ')).filter((f) => f[3] === type).map((f) => f.slice(4).join(' '))
}
