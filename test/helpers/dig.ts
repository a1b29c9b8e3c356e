/**
 * Runs dig or kdig and parses what they print into rcode, flags and sections, so tests can compare the
 * real clients' view of an answer with the expected presentation strings.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { which } from './binaries.ts'

const run = promisify(execFile)

export interface DigResult {
  readonly rcode: string
  readonly flags: readonly string[]
  readonly answer: readonly string[]
  readonly authority: readonly string[]
  readonly additional: readonly string[]
  readonly opt: boolean
  readonly raw: string
}

export interface DigOptions {
  readonly tcp?: boolean
  /** Extra arguments, e.g. '+norec', '+bufsize=512', '+noedns'. */
  readonly args?: readonly string[]
}

/** `dig @server -p port name type` with the sections we assert on. */
export async function dig(server: string, port: number, name: string, type: string, opts: DigOptions = {}): Promise<DigResult> {
  const args = [`@${server}`, '-p', String(port), name, type, '+time=2', '+tries=1', '+nocookie', '+norec',
    ...(opts.tcp === true ? ['+tcp'] : []), ...(opts.args ?? [])]
  const { stdout } = await run(which('dig') ?? 'dig', args)
  return parseDigOutput(stdout)
}

/** The same through Knot's kdig. */
export async function kdig(server: string, port: number, name: string, type: string, opts: DigOptions = {}): Promise<DigResult> {
  const args = [`@${server}`, '-p', String(port), name, type, '+time=2', '+retry=0', '+norec',
    ...(opts.tcp === true ? ['+tcp'] : []), ...(opts.args ?? [])]
  const { stdout } = await run(which('kdig') ?? 'kdig', args)
  return parseDigOutput(stdout)
}

/** Parses dig and kdig output (they differ in separators: ',' vs ';', 'flags' vs 'Flags'). */
export function parseDigOutput(out: string): DigResult {
  const sections: Record<string, string[]> = { answer: [], authority: [], additional: [] }
  let current: string | null = null
  let rcode = ''
  let flags: string[] = []
  let opt = false
  for (const line of out.split('\n')) {
    const header = /status: ([A-Z]+)/.exec(line)
    if (line.includes('->>HEADER<<-') && header) rcode = header[1] as string
    const f = /^;; [Ff]lags: ([a-z ]*);/.exec(line)
    if (f) flags = (f[1] as string).trim().split(/\s+/).filter((x) => x !== '')
    if (/OPT PSEUDOSECTION|EDNS PSEUDOSECTION/.test(line)) opt = true
    const s = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line)
    if (s) { current = (s[1] as string).toLowerCase(); continue }
    if (line.trim() === '' || line.startsWith(';')) { if (line.trim() === '') current = null; continue }
    if (current !== null) (sections[current] as string[]).push(normalizeRecord(line))
  }
  return {
    rcode, flags: flags.sort(), opt, raw: out,
    answer: sections.answer as string[], authority: sections.authority as string[], additional: sections.additional as string[],
  }
}

/** `Web.example.org.   300  IN A 192.0.2.1` → `web.example.org. 300 IN A 192.0.2.1` (owner case folded). */
export function normalizeRecord(line: string): string {
  const parts = line.trim().split(/\s+/)
  parts[0] = (parts[0] as string).toLowerCase()
  return parts.join(' ')
}
