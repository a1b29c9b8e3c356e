/**
 * dnsviz (issue 29): a signed zone probed as authoritative (`dnsviz probe -A`) with the DS `incus-dns dnssec ds`
 * prints handed in as the delegation, then graded against the zone's DNSKEY as trust anchor (`dnsviz grok`):
 * no error and no warning anywhere, every RRSIG VALID and every RRset SECURE (but the DS of dnsviz's own
 * stand-in parent, which nothing signs). All of it runs in a network namespace of its own (`unshare -n`):
 * dnsviz starts a `named` for that parent on port 53 of loopback, and nothing leaves it.
 * Debian 12's dnsviz 0.9.4 looks for `pygraphviz.release`, which its pygraphviz 1.7 no longer has: a
 * sitecustomize on PYTHONPATH puts the version back where it looks (the packaging bug, not ours).
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'

const run = promisify(execFile)
const Z = 'viz.test'
const ZONE = `$ORIGIN ${Z}.
$TTL 300
@        SOA   ns1 hostmaster 1 7200 900 1209600 60
@        NS    ns1
ns1      A     127.0.0.1
www      A     192.0.2.1
www      AAAA  2001:db8::1
www      TXT   "hello"
alias    CNAME www
dangling CNAME nothere
*.wild   A     192.0.2.9
deep.ent TXT   "below an empty non-terminal"
`
const SHIM = `import sys, types
try:
    import pygraphviz
    if not hasattr(pygraphviz, 'release'):
        m = types.ModuleType('pygraphviz.release')
        m.version = pygraphviz.__version__
        sys.modules['pygraphviz.release'] = m
        pygraphviz.release = m
except ImportError:
    pass
`

describe.skipIf(!havePeer('dnsviz', 'dnsviz') || !havePeer('named', 'bind9') || !havePeer('unshare', 'util-linux') || !havePeer('dig', 'bind9-dnsutils'))('dnsviz on a signed zone', () => {
  it('finds no error or warning: every RRSIG valid, every RRset secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnsviz-'))
    try {
      mkdirSync(join(dir, 'zones'))
      mkdirSync(join(dir, 'shim'))
      writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
      writeFileSync(join(dir, 'shim', 'sitecustomize.py'), SHIM)
      const bin = new URL('../../src/cli/bin.ts', import.meta.url).pathname
      const node = process.execPath
      const server = `ns1.${Z}=127.0.0.1:5300`
      const names = [Z, `www.${Z}`, `alias.${Z}`, `dangling.${Z}`, `nope.${Z}`, `x.wild.${Z}`, `ent.${Z}`, `deep.ent.${Z}`]
      writeFileSync(join(dir, 'probe.sh'), [
        'set -e', 'ip link set lo up', `cd ${dir}`,
        `${node} ${bin} --listen 127.0.0.1:5300 --zones-dir zones --incus-socket none --http-listen '' --dnssec on --dnssec-key-dir keys --log-level warn & pid=$!`,
        'trap "kill $pid" EXIT',
        `for i in $(seq 50); do dig +short +time=1 +tries=1 @127.0.0.1 -p 5300 ${Z} SOA >/dev/null 2>&1 && break; sleep 0.2; done`,
        `ds=$(${node} ${bin} dnssec ds ${Z} --dnssec-key-dir keys | awk '{print $5, $6, $7, $8}')`,
        `dig +short @127.0.0.1 -p 5300 ${Z} DNSKEY | sed 's/^/${Z}. IN DNSKEY /' > anchor`,
        `PATH=$PATH:/usr/sbin dnsviz probe -A -x ${Z}:${server} -N ${Z}:${server} -D "${Z}:$ds" ${names.join(' ')} > probe.json 2> probe.err`,
        `PYTHONPATH=${join(dir, 'shim')} /usr/bin/python3 /usr/bin/dnsviz grok -t anchor < probe.json > grok.json 2> grok.err`,
      ].join('\n'))
      await run('/usr/bin/unshare', ['-n', '/bin/sh', join(dir, 'probe.sh')], { timeout: 90_000 }).catch((err: Error) => {
        const tail = (f: string): string => { try { return readFileSync(join(dir, f), 'utf8').slice(-1500) } catch { return '' } }
        throw new Error(`${err.message}\nprobe: ${tail('probe.err')}\ngrok: ${tail('grok.err')}`)
      })
      const grok = JSON.parse(readFileSync(join(dir, 'grok.json'), 'utf8')) as Record<string, unknown>
      const problems: string[] = []
      const statuses = new Map<string, number>()
      const walk = (o: unknown, path: string): void => {
        if (Array.isArray(o)) { o.forEach((v, i) => walk(v, `${path}[${i}]`)); return }
        if (o === null || typeof o !== 'object') return
        for (const [k, v] of Object.entries(o)) {
          if (k === 'errors' || k === 'warnings') problems.push(`${path}: ${JSON.stringify(v).slice(0, 300)}`)
          // dnsviz's own parent serves the DS unsigned: insecure there, and only there.
          if (k === 'status' && typeof v === 'string' && !(v === 'INSECURE' && path.includes('/IN/DS'))) statuses.set(v, (statuses.get(v) ?? 0) + 1)
          walk(v, `${path}/${k}`)
        }
      }
      walk(grok, '')
      expect(problems).toEqual([])
      expect([...statuses.keys()].sort()).toEqual(['NOERROR', 'SECURE', 'VALID'])
      expect(statuses.get('VALID')).toBeGreaterThan(15)
      expect(Object.keys(grok)).toEqual(expect.arrayContaining([`${Z}.`, `www.${Z}.`, `nope.${Z}.`, `x.wild.${Z}.`]))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
