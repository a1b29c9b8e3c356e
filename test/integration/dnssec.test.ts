/**
 * DNSSEC through real validators (issue 29): incus-dns signs a zone with INCUS_DNS_DNSSEC=on, and
 * - a private unbound with the zone's DNSKEY as its trust anchor returns AD for positive answers, and
 *   validates names that do not exist (compact denial), NODATA, empty non-terminals, wildcard expansions,
 *   CNAME chains and DNAME syntheses; a delegation to an unsigned child (served by a second incus-dns) is
 *   proven insecure, not bogus; a record added by a zone reload validates at once;
 * - delv, with the same anchor, says "fully validated";
 * - the wire answers follow RFC 4035 and RFC 9824: no DNSSEC records without DO, AD never set, CD copied,
 *   NXDOMAIN only with CO, TC when a signed answer does not fit;
 * - a restart keeps the key; `incus-dns dnssec ds` prints what dnssec-dsfromkey prints.
 */
import { execFile } from 'node:child_process'
import dgram from 'node:dgram'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer, which } from '../helpers/binaries.ts'
import { dig, kdig } from '../helpers/dig.ts'
import { freePort, udpExchange, waitFor } from '../helpers/net.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { spawnDaemon } from '../helpers/secondaries.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer, statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'
import { startUnbound } from '../helpers/unbound.ts'
import type { Unbound } from '../helpers/unbound.ts'

const run = promisify(execFile)
const SECRET = Buffer.alloc(32, 7).toString('base64')
const Z = 'signed.test'
const ZONE = `$ORIGIN ${Z}.
$TTL 300
@        SOA   ns1 hostmaster 1 7200 900 1209600 60
@        NS    ns1
ns1      A     192.0.2.53
www      A     192.0.2.1
www      AAAA  2001:db8::1
www      TXT   "${'a long text to make a big answer '.repeat(7)}"
www      TXT   "${'another long text for the big one '.repeat(7)}"
alias    CNAME www
dangling CNAME nothere
*.wild   A     192.0.2.9
*.wild   TXT   "from the wildcard"
old      DNAME new.${Z}.
x.new    A     192.0.2.10
deep.ent TXT   "below an empty non-terminal"
sub      NS    ns.sub
ns.sub   A     192.0.2.54
secure   NS    ns.secure
secure   DS    12345 13 2 ${'ab'.repeat(32)}
ns.secure A    192.0.2.55
`
const CHILD = `$ORIGIN sub.${Z}.
$TTL 300
@   SOA ns hostmaster 1 7200 900 1209600 60
@   NS  ns
ns  A   192.0.2.54
a   A   192.0.2.99
`

describe.skipIf(!havePeer('unbound', 'unbound') || !havePeer('delv', 'bind9-dnsutils') || !havePeer('kdig', 'knot-dnsutils'))('DNSSEC through real validators', () => {
  let dir: string
  let server: TestServer
  let child: TestServer
  let unbound: Unbound
  let dnskey: string
  const args = (): string[] => ['--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys'), '--xfr-allow', '127.0.0.1/32', '--update-keys', `ddns:${SECRET}`]

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-'))
    mkdirSync(join(dir, 'zones'))
    mkdirSync(join(dir, 'child'))
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
    writeFileSync(join(dir, 'child', `sub.${Z}.zone`), CHILD)
    server = await startServer(join(dir, 'zones'), args())
    child = await startServer(join(dir, 'child'))
    const key = await dig('127.0.0.1', server.port, Z, 'DNSKEY')
    dnskey = (key.answer[0] as string).split(/\s+/).slice(4).join(' ')
    writeFileSync(join(dir, 'anchor.conf'), `trust-anchors { ${Z}. static-key ${dnskey.split(' ').slice(0, 3).join(' ')} "${dnskey.split(' ').slice(3).join('')}"; };\n`)
    // The unsigned child is served by a second incus-dns, reached through a stub of its own.
    unbound = await startUnbound({
      suffix: Z, stubPort: server.port, modules: 'validator iterator', trustAnchors: [`${Z}. DNSKEY ${dnskey}`],
      // use-caps-for-id: unbound asks in random letter case (0x20); we sign names in canonical (lower) case.
      server: ['val-log-level: 2', 'use-caps-for-id: yes', `local-zone: "sub.${Z}." transparent`], extraStubs: [{ name: `sub.${Z}`, port: child.port }],
      ready: async (at) => (await dig('127.0.0.1', at, `www.${Z}`, 'A', { args: ['+rec'] })).rcode === 'NOERROR',
    })
  }, 30_000)
  afterAll(async () => {
    await unbound?.stop()
    await server?.stop()
    await child?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  const viaUnbound = (name: string, type: string) => dig('127.0.0.1', unbound.port, name, type, { args: ['+rec', '+dnssec'] })

  it('unbound validates positive answers: AD, with the RRSIG', async () => {
    for (const [name, type] of [[`www.${Z}`, 'A'], [`www.${Z}`, 'AAAA'], [Z, 'NS'], [Z, 'DNSKEY'], [Z, 'CDS']] as const) {
      const got = await viaUnbound(name, type)
      expect(got.rcode, `${name} ${type}: ${unbound.stderr().slice(-2000)}`).toBe('NOERROR')
      expect(got.flags, `${name} ${type}`).toContain('ad')
      expect(got.answer.some((l) => l.includes(`IN RRSIG ${type} 13 `)), `${name} ${type}`).toBe(true)
    }
  })

  it('unbound validates a CNAME chain, and one that ends at a name that does not exist', async () => {
    const chain = await viaUnbound(`alias.${Z}`, 'A')
    expect(chain.flags).toContain('ad')
    expect(chain.answer.filter((l) => / IN (CNAME|A) /.test(l))).toHaveLength(2)
    const dangling = await viaUnbound(`dangling.${Z}`, 'A')
    expect(dangling.flags, unbound.stderr().slice(-2000)).toContain('ad')
    expect(dangling.answer.filter((l) => / IN CNAME /.test(l))).toHaveLength(1)
  })

  it('unbound validates denials: a name that does not exist (compact denial: NOERROR), NODATA, an empty non-terminal', async () => {
    for (const [name, type] of [[`nope.${Z}`, 'A'], [`a.b.c.nope.${Z}`, 'TXT'], [`www.${Z}`, 'MX'], [`ent.${Z}`, 'A'], [Z, 'SRV']] as const) {
      const got = await viaUnbound(name, type)
      expect(got.rcode, `${name} ${type}`).toBe('NOERROR')
      expect(got.flags, `${name} ${type}: ${unbound.stderr().slice(-2000)}`).toContain('ad')
      expect(got.answer.filter((l) => !l.includes(' RRSIG '))).toEqual([])
    }
  })

  it('unbound validates wildcard expansions (signed as the name asked) and their NODATA', async () => {
    const a = await viaUnbound(`anything.wild.${Z}`, 'A')
    expect(a.flags, unbound.stderr().slice(-2000)).toContain('ad')
    expect(a.answer).toContainEqual(expect.stringMatching(new RegExp(`^anything\\.wild\\.${Z.replace('.', '\\.')}\\. \\d+ IN A 192\\.0\\.2\\.9$`)))
    const deeper = await viaUnbound(`x.y.wild.${Z}`, 'TXT')
    expect(deeper.flags).toContain('ad')
    const nodata = await viaUnbound(`anything.wild.${Z}`, 'MX')
    expect(nodata.rcode).toBe('NOERROR')
    expect(nodata.flags).toContain('ad')
  })

  it('unbound validates a DNAME and the answer it leads to', async () => {
    const got = await viaUnbound(`x.old.${Z}`, 'A')
    expect(got.rcode).toBe('NOERROR')
    expect(got.flags, unbound.stderr().slice(-2000)).toContain('ad')
    expect(got.answer.some((l) => / IN A 192\.0\.2\.10$/.test(l))).toBe(true)
  })

  it('a delegation to an unsigned child is proven insecure (the NSEC at the cut, signed), not bogus', async () => {
    const got = await viaUnbound(`a.sub.${Z}`, 'A')
    expect(got.rcode, unbound.stderr().slice(-2000)).toBe('NOERROR')
    expect(got.answer.some((l) => / IN A 192\.0\.2\.99$/.test(l))).toBe(true)
    expect(got.flags).not.toContain('ad')
    // The referral itself: NS, then the NSEC proving no DS and its RRSIG, in authority; AA clear.
    const referral = await kdig('127.0.0.1', server.port, `a.sub.${Z}`, 'A', { args: ['+dnssec'] })
    expect(referral.flags).not.toContain('aa')
    expect(referral.authority).toContainEqual(expect.stringMatching(new RegExp(`^sub\\.${Z.replace('.', '\\.')}\\. \\d+ IN NSEC \\\\000\\.sub\\.${Z.replace('.', '\\.')}\\. NS RRSIG NSEC$`)))
    expect(referral.authority.some((l) => l.includes('IN RRSIG NSEC 13 3 '))).toBe(true)
    expect(referral.authority.some((l) => l.includes('IN RRSIG NS '))).toBe(false)
    // A signed child's referral carries its DS and the DS's RRSIG instead.
    const secure = await kdig('127.0.0.1', server.port, `www.secure.${Z}`, 'A', { args: ['+dnssec'] })
    expect(secure.authority.some((l) => / IN DS 12345 13 2 /.test(l))).toBe(true)
    expect(secure.authority.some((l) => l.includes('IN RRSIG DS 13 '))).toBe(true)
  })

  it('delv, with the zone key as its anchor, fully validates answers and denials', async () => {
    for (const [name, type] of [[`www.${Z}`, 'A'], [`alias.${Z}`, 'AAAA'], [`nope.${Z}`, 'A'], [`hello.wild.${Z}`, 'TXT'], [`x.old.${Z}`, 'A'], [`www.${Z}`, 'TXT'],
      [`WwW.SiGnEd.TeSt`, 'A'], [`NoPe.SIGNED.test`, 'A'], [`HeLLo.WILD.signed.TEST`, 'A']] as const) {
      const { stdout } = await run(which('delv') ?? 'delv', [`@127.0.0.1`, '-p', String(server.port), '-a', join(dir, 'anchor.conf'), `+root=${Z}`, name, type])
      expect(stdout, `${name} ${type}`).toMatch(/^; (negative response, )?fully validated/m)
    }
  })

  it('RFC 4035 on the wire: no DNSSEC records without DO, AD never set, CD copied', async () => {
    const plain = await dig('127.0.0.1', server.port, `www.${Z}`, 'A')
    expect(plain.answer.some((l) => l.includes(' RRSIG '))).toBe(false)
    const noDo = decode(await udpExchange(server.port, query(`nope.${Z}`, 'A', { edns: 1232 })) as Buffer)
    expect(noDo.rcode).toBe(3) // without DO: the plain NXDOMAIN
    expect(noDo.authority.join('\n')).not.toMatch(/NSEC|RRSIG/)
    const signed = await dig('127.0.0.1', server.port, `www.${Z}`, 'A', { args: ['+dnssec', '+adflag', '+cdflag'] })
    expect(signed.flags).toContain('aa')
    expect(signed.flags).toContain('cd')
    expect(signed.flags).not.toContain('ad')
    const denied = await dig('127.0.0.1', server.port, `nope.${Z}`, 'A', { args: ['+dnssec', '+cdflag'] })
    expect(denied.flags).toContain('cd')
  })

  it('compact denial: NOERROR with NXNAME in the NSEC, and NXDOMAIN (CO echoed) when the query sets CO (RFC 9824)', async () => {
    const q = query(`nope.${Z}`, 'A', { edns: 1232, dnssecOk: true })
    const plain = await udpExchange(server.port, q) as Buffer
    expect(plain[3]! & 0x0f).toBe(0)
    const nsec = await kdig('127.0.0.1', server.port, `nope.${Z}`, 'A', { args: ['+dnssec'] })
    expect(nsec.authority).toContainEqual(expect.stringMatching(/IN NSEC \\000\.nope\.signed\.test\. RRSIG NSEC TYPE128$/))
    const co = Buffer.from(q)
    co[co.length - 4] = co[co.length - 4]! | 0x40 // the OPT's flags: DO and CO
    const nx = await udpExchange(server.port, co) as Buffer
    expect(nx[3]! & 0x0f).toBe(3)
    expect(nx[nx.length - 4]! & 0xc0).toBe(0xc0)
    // A precompiled denial at the end of a CNAME chain follows CO too.
    const dq = query(`dangling.${Z}`, 'A', { edns: 1232, dnssecOk: true })
    expect((await udpExchange(server.port, dq) as Buffer)[3]! & 0x0f).toBe(0)
    dq[dq.length - 4] = dq[dq.length - 4]! | 0x40
    expect((await udpExchange(server.port, dq) as Buffer)[3]! & 0x0f).toBe(3)
  })

  it('a TSIG-signed query with DO gets its answer signed both ways: RRSIGs, or a denial signed per query, then TSIG', async () => {
    for (const [name, want] of [[`www.${Z}`, /\sIN\s+RRSIG\s+A 13 /], [`nope.${Z}`, /\sIN\s+NSEC\s+\\000\.nope\./]] as const) {
      const { stdout } = await run(which('dig') as string, ['@127.0.0.1', '-p', String(server.port), name, 'A', '+dnssec', '+norec', '-y', `hmac-sha256:ddns:${SECRET}`])
      expect(stdout, stdout).toMatch(/status: NOERROR/)
      expect(stdout).toMatch(want)
      expect(stdout).toMatch(/;; TSIG PSEUDOSECTION:\nddns\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/)
      expect(stdout).not.toMatch(/tsig verify failure|expected a TSIG/i)
    }
  })

  it('a signed answer too big for the UDP size truncates, and comes whole over TCP', async () => {
    const udp = await dig('127.0.0.1', server.port, `www.${Z}`, 'TXT', { args: ['+dnssec', '+bufsize=512', '+ignore'] })
    expect(udp.flags).toContain('tc')
    const tcp = await dig('127.0.0.1', server.port, `www.${Z}`, 'TXT', { tcp: true, args: ['+dnssec'] })
    expect(tcp.flags).not.toContain('tc')
    expect(tcp.answer.filter((l) => / IN TXT /.test(l))).toHaveLength(2)
    expect(tcp.answer.some((l) => l.includes('IN RRSIG TXT 13 '))).toBe(true)
  })

  it('a record added by a zone reload validates at once', async () => {
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE + 'late A 192.0.2.77\n')
    await server.reloadZones()
    const got = await viaUnbound(`late.${Z}`, 'A')
    expect(got.flags, unbound.stderr().slice(-2000)).toContain('ad')
    expect(got.answer.some((l) => / IN A 192\.0\.2\.77$/.test(l))).toBe(true)
  })

  it('keeps its key across a restart, and `incus-dns dnssec ds` prints what dnssec-dsfromkey prints', async () => {
    const again = await startServer(join(dir, 'zones'), args())
    try {
      const key = await dig('127.0.0.1', again.port, Z, 'DNSKEY')
      expect((key.answer[0] as string).split(/\s+/).slice(4).join(' ')).toBe(dnskey)
      const { stdout } = await run(which('delv') ?? 'delv', ['@127.0.0.1', '-p', String(again.port), '-a', join(dir, 'anchor.conf'), `+root=${Z}`, `www.${Z}`, 'A'])
      expect(stdout).toMatch(/^; fully validated/m)
    } finally {
      await again.stop()
    }
    const keyFile = readdirSync(join(dir, 'keys')).find((f) => f.startsWith(`K${Z}.+013+`) && f.endsWith('.key')) as string
    const ours = await run(process.execPath, [new URL('../../src/cli/bin.ts', import.meta.url).pathname, 'dnssec', 'ds', Z, '--dnssec-key-dir', join(dir, 'keys')])
    expect(havePeer('dnssec-dsfromkey', 'bind9-utils')).toBe(true)
    const bind = await run(which('dnssec-dsfromkey') as string, ['-2', join(dir, 'keys', keyFile)])
    const fields = (s: string): string[] => { const f = s.trim().split(/\s+/); return [f[0] as string, ...f.slice(-4)] }
    expect(fields(ours.stdout)).toEqual(fields(bind.stdout))
    expect(ours.stdout).toMatch(new RegExp(`^${Z.replace('.', '\\.')}\\. 3600 IN DS \\d+ 13 2 [0-9A-F]{64}\\n$`))
    // The status page says the same: the zone, its key, the DS for the parent.
    const status = await statusOf(server)
    const zone = status.dnssec?.zones.find((z) => z.zone === Z)
    expect(zone?.ds).toEqual([ours.stdout.trim()])
    expect(zone?.keys).toEqual([{ tag: Number(ours.stdout.split(/\s+/)[4]), algorithm: 'ecdsap256sha256 (13)', signing: true }])
    expect(status.dnssec?.keyDir).toBe(join(dir, 'keys'))
    const page = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/`)).text()
    expect(page).toContain('<h2>DNSSEC</h2>')
    expect(page).toContain(ours.stdout.trim().split(' ').slice(-1)[0])
  })

  it.skipIf(!havePeer('knotd', 'knot') || !havePeer('keymgr', 'knot'))('a knotd secondary signing with the key imported by keymgr serves the zone validated under the same anchor', async () => {
    // What a secondary gets: the zone with its DNSKEY, CDS and CDNSKEY, and no RRSIG (docs/dnssec.md).
    const axfr = await run(which('kdig') as string, ['@127.0.0.1', '-p', String(server.port), Z, 'AXFR', '+noall', '+answer'])
    const types = new Set(axfr.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(/\s+/)[3]))
    for (const t of ['DNSKEY', 'CDS', 'CDNSKEY', 'SOA', 'A']) expect(types).toContain(t)
    expect(types).not.toContain('RRSIG')
    const kdir = mkdtempSync(join(tmpdir(), 'incus-dns-knot-signer-'))
    const port = await freePort()
    writeFileSync(join(kdir, 'knot.conf'), [
      'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${kdir}`, '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1',
      'database:', `    storage: ${kdir}`,
      'remote:', '  - id: primary', `    address: 127.0.0.1@${server.port}`,
      'acl:', '  - id: notify', '    address: 127.0.0.1', '    action: notify',
      'policy:', '  - id: imported', '    manual: on', '    single-type-signing: on', '    algorithm: ecdsap256sha256', '    nsec3: off',
      'template:', '  - id: default', `    storage: ${kdir}`, '    zonefile-sync: -1', '    zonefile-load: none', '    journal-content: all',
      'zone:', `  - domain: ${Z}`, '    master: primary', '    acl: notify', '    dnssec-signing: on', '    dnssec-policy: imported',
      '',
    ].join('\n'))
    // docs/dnssec.md's steps: import the BIND key, and make it the zone's CSK (Knot reads flags 257 as a KSK).
    const priv = readdirSync(join(dir, 'keys')).find((f) => f.startsWith(`K${Z}.+013+`) && f.endsWith('.private')) as string
    const tag = String(Number(/\+(\d{5})\.private$/.exec(priv)?.[1]))
    await run(which('keymgr') as string, ['-c', join(kdir, 'knot.conf'), Z, 'import-bind', join(dir, 'keys', priv)])
    await run(which('keymgr') as string, ['-c', join(kdir, 'knot.conf'), Z, 'set', tag, 'zsk=yes'])
    const knot = spawnDaemon('knotd', ['-c', join(kdir, 'knot.conf')], kdir, port)
    try {
      await waitFor(async () => (await kdig('127.0.0.1', port, `www.${Z}`, 'A', { args: ['+dnssec'] })).answer.some((l) => l.includes(' RRSIG ')), 15_000, knot.log)
      for (const [name, type] of [[`www.${Z}`, 'A'], [`nope.${Z}`, 'A'], [Z, 'DNSKEY']] as const) {
        const { stdout } = await run(which('delv') ?? 'delv', ['@127.0.0.1', '-p', String(port), '-a', join(dir, 'anchor.conf'), `+root=${Z}`, name, type])
        expect(stdout, `${name} ${type} from knotd`).toMatch(/^; (negative response, )?fully validated/m)
      }
    } finally {
      await knot.stop()
    }
  }, 30_000)

  it('refuses to start with a private key others can read, naming the setting and the fix', async () => {
    const copy = join(dir, 'leaky')
    mkdirSync(copy)
    for (const f of readdirSync(join(dir, 'keys'))) writeFileSync(join(copy, f), readFileSync(join(dir, 'keys', f)))
    const priv = readdirSync(copy).find((f) => f.endsWith('.private')) as string
    chmodSync(join(copy, priv), 0o644)
    await expect(startServer(join(dir, 'zones'), ['--dnssec', 'on', '--dnssec-key-dir', copy])).rejects.toThrow(/INCUS_DNS_DNSSEC_KEY_DIR: .*can be read by others.*chmod 600/)
    // `incus-dns check` says the same, and makes nothing.
    const checked = await run(process.execPath, [new URL('../../src/cli/bin.ts', import.meta.url).pathname, 'check', '--zones-dir', join(dir, 'zones'), '--incus-socket', 'none',
      '--dnssec', 'on', '--dnssec-key-dir', copy]).then(() => null, (e: { code: number; stderr: string }) => e)
    expect(checked?.code).toBe(1)
    expect(checked?.stderr).toMatch(/^incus-dns check: INCUS_DNS_DNSSEC_KEY_DIR: .*can be read by others \(mode 644\); make it private: chmod 600 /m)
  })
})

describe.skipIf(!havePeer('dnssec-keygen', 'bind9-utils') || !havePeer('dnssec-settime', 'bind9-utils') || !havePeer('delv', 'bind9-dnsutils'))('DNSSEC key roll, as docs/dnssec.md has it', () => {
  it('pre-publish, switch, withdraw: the DNSKEY RRset, the signing key and `dnssec ds` follow each step, and each validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-roll-'))
    mkdirSync(join(dir, 'zones'))
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
    const keys = join(dir, 'keys')
    const args = ['--dnssec', 'on', '--dnssec-key-dir', keys]
    /** What a restart serves: DNSKEY tags, the tags that sign the DNSKEY RRset, `dnssec ds` tags, and delv's verdict with `anchorTag`'s key. */
    const step = async (anchorTag: number | null): Promise<{ published: number[]; signing: number[]; ds: number[]; validated: boolean | null }> => {
      const server = await startServer(join(dir, 'zones'), args)
      try {
        const key = await dig('127.0.0.1', server.port, Z, 'DNSKEY', { args: ['+dnssec'] })
        const published = (await run(which('dig') as string, ['@127.0.0.1', '-p', String(server.port), Z, 'DNSKEY', '+noall', '+answer', '+multiline'])).stdout
          .split('\n').map((l) => /key id = (\d+)/.exec(l)?.[1]).filter((t): t is string => t !== undefined).map(Number).sort((x, y) => x - y)
        const signing = key.answer.filter((l) => l.includes('IN RRSIG DNSKEY')).map((l) => Number(l.split(/\s+/)[10])).sort((x, y) => x - y)
        const ds = (await run(process.execPath, [new URL('../../src/cli/bin.ts', import.meta.url).pathname, 'dnssec', 'ds', Z, '--dnssec-key-dir', keys])).stdout
          .trim().split('\n').map((l) => Number(l.split(/\s+/)[4])).sort((x, y) => x - y)
        let validated: boolean | null = null
        if (anchorTag !== null) {
          const line = key.answer.find((l) => / IN DNSKEY /.test(l) && (published.length === 1 || l.includes(dnskeyOf(anchorTag, dir))))
          const f = (line as string).split(/\s+/).slice(4)
          writeFileSync(join(dir, 'anchor.conf'), `trust-anchors { ${Z}. static-key ${f.slice(0, 3).join(' ')} "${f.slice(3).join('')}"; };\n`)
          const out = await run(which('delv') as string, ['@127.0.0.1', '-p', String(server.port), '-a', join(dir, 'anchor.conf'), `+root=${Z}`, `www.${Z}`, 'A']).then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '')
          validated = /^; fully validated/m.test(out)
        }
        return { published, signing, ds, validated }
      } finally {
        await server.stop()
      }
    }
    try {
      const first = await step(null)
      const old = first.published[0] as number
      expect(first).toMatchObject({ published: [old], signing: [old], ds: [old] })
      // 1. Pre-publish a new key, active in a day.
      const made = (await run(which('dnssec-keygen') as string, ['-K', keys, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-P', 'now', '-A', '+1d', Z])).stdout.trim()
      const next = Number(/\+(\d{5})$/.exec(made)?.[1])
      const both = [old, next].sort((x, y) => x - y)
      expect(await step(old)).toEqual({ published: both, signing: [old], ds: [old], validated: true })
      // 3. Switch: the new key active now, the old one inactive.
      await run(which('dnssec-settime') as string, ['-K', keys, '-A', 'now', made])
      await run(which('dnssec-settime') as string, ['-K', keys, '-I', 'now', oldFile(keys, old)])
      await new Promise((r) => setTimeout(r, 1100)) // past the second the old key went inactive
      expect(await step(next)).toEqual({ published: both, signing: [next], ds: [next], validated: true })
      // 4. Withdraw the old key.
      await run(which('dnssec-settime') as string, ['-K', keys, '-D', 'now', oldFile(keys, old)])
      await new Promise((r) => setTimeout(r, 1100))
      expect(await step(next)).toEqual({ published: [next], signing: [next], ds: [next], validated: true })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

/** The base64 public key of the key file with tag `tag` in `dir`/keys, for picking its DNSKEY line. */
function dnskeyOf(tag: number, dir: string): string {
  const file = readdirSync(join(dir, 'keys')).find((f) => f.endsWith(`+${String(tag).padStart(5, '0')}.key`)) as string
  const line = readFileSync(join(dir, 'keys', file), 'utf8').split('\n').find((l) => l.includes(' DNSKEY ')) as string
  return line.split(/\s+/).slice(-1)[0]?.slice(0, 20) as string
}

/** The base path of the key with `tag` in `keys` (as dnssec-settime takes it). */
function oldFile(keys: string, tag: number): string {
  const file = readdirSync(keys).find((f) => f.endsWith(`+${String(tag).padStart(5, '0')}.private`)) as string
  return join(keys, file.replace(/\.private$/, ''))
}

describe.skipIf(!havePeer('kdig', 'knot-dnsutils'))('DNSSEC with worker threads', () => {
  it('answers signed from every worker: precompiled answers from the replicas, denials handed to the main thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-w-'))
    mkdirSync(join(dir, 'zones'))
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
    const server = await startServer(join(dir, 'zones'), ['--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys'), '--workers', '3'])
    try {
      // SO_REUSEPORT spreads queries by source port: many queries, each from a port of its own.
      await waitFor(async () => (await kdig('127.0.0.1', server.port, `www.${Z}`, 'A', { args: ['+dnssec'] })).answer.length === 2, 5000)
      for (let i = 0; i < 24; i++) {
        const pos = await kdig('127.0.0.1', server.port, `www.${Z}`, 'A', { args: ['+dnssec'] })
        expect(pos.answer.some((l) => l.includes('IN RRSIG A 13 '))).toBe(true)
        const neg = await kdig('127.0.0.1', server.port, `n${i}.${Z}`, 'A', { args: ['+dnssec'] })
        expect(neg.authority.some((l) => l.includes(`n${i}.${Z}.`) && l.includes(' NSEC '))).toBe(true)
        expect(neg.authority.some((l) => l.includes('IN RRSIG SOA 13 '))).toBe(true)
      }
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

describe.skipIf(!havePeer('delv', 'bind9-dnsutils'))('DNSSEC for the zones made from Incus', () => {
  it('signs the suffix zone and the reverse zones; a launched instance validates at once, a deleted one is denied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-incus-'))
    mkdirSync(join(dir, 'zones'))
    const s = await simSocket()
    s.sim.launch({ name: 'web', ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15' })
    const { server } = await startWithIncus(join(dir, 'zones'), ['--incus-socket', s.socket, '--suffix', 'incus.test', '--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys')])
    try {
      await waitFor(() => server.incus?.ready === true, 5000)
      const delvs = async (zone: string, name: string, type: string): Promise<string> => {
        const key = (await dig('127.0.0.1', server.port, zone, 'DNSKEY')).answer[0] as string
        const f = key.split(/\s+/).slice(4)
        writeFileSync(join(dir, `${zone}.anchor`), `trust-anchors { ${zone}. static-key ${f.slice(0, 3).join(' ')} "${f.slice(3).join('')}"; };\n`)
        return (await run(which('delv') ?? 'delv', ['@127.0.0.1', '-p', String(server.port), '-a', join(dir, `${zone}.anchor`), `+root=${zone}`, name, type])).stdout
      }
      expect(await delvs('incus.test', 'web.incus.test', 'A')).toMatch(/^; fully validated\n.*IN\s+A\s+10\.42\.0\.15/m)
      expect(await delvs('incus.test', 'web.incus.test', 'AAAA')).toMatch(/^; fully validated/m)
      const reverse = (await dig('127.0.0.1', server.port, '15.0.42.10.in-addr.arpa', 'SOA')).authority[0]?.split(/\s+/)[0]?.replace(/\.$/, '') as string
      expect(reverse).toMatch(/in-addr\.arpa$/)
      expect(await delvs(reverse, '15.0.42.10.in-addr.arpa', 'PTR')).toMatch(/^; fully validated\n.*PTR\s+web\.incus\.test\./m)
      s.sim.launch({ name: 'late', ipv4: '10.42.0.16' })
      await waitFor(async () => (await dig('127.0.0.1', server.port, 'late.incus.test', 'A')).answer.length === 1, 5000)
      expect(await delvs('incus.test', 'late.incus.test', 'A')).toMatch(/^; fully validated/m)
      s.sim.delete('default', 'web')
      await waitFor(async () => (await dig('127.0.0.1', server.port, 'web.incus.test', 'A')).answer.length === 0, 5000)
      expect(await delvs('incus.test', 'web.incus.test', 'A')).toMatch(/^; negative response, fully validated/m)
    } finally {
      await server.stop()
      await s.sim.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('DNSSEC and forwarding', () => {
  it('passes forwarded answers on as the upstream gave them: nothing of ours is signed into them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-fwd-'))
    mkdirSync(join(dir, 'up'))
    mkdirSync(join(dir, 'zones'))
    writeFileSync(join(dir, 'up', 'elsewhere.test.zone'), '$ORIGIN elsewhere.test.\n$TTL 300\n@ SOA ns h 1 7200 900 1209600 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n')
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
    const upstream = await startServer(join(dir, 'up'))
    const server = await startServer(join(dir, 'zones'), ['--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys'), '--forwarders', `127.0.0.1:${upstream.port}`, '--forward-allow', '127.0.0.1/32'])
    try {
      const direct = await dig('127.0.0.1', upstream.port, 'www.elsewhere.test', 'A', { args: ['+dnssec'] })
      const forwarded = await dig('127.0.0.1', server.port, 'www.elsewhere.test', 'A', { args: ['+dnssec', '+rec'] })
      expect(forwarded.rcode).toBe('NOERROR')
      expect(forwarded.answer).toEqual(direct.answer)
      expect(forwarded.answer.concat(forwarded.authority, forwarded.additional).some((l) => / RRSIG | NSEC /.test(l))).toBe(false)
      const missing = await dig('127.0.0.1', server.port, 'nope.elsewhere.test', 'A', { args: ['+dnssec', '+rec'] })
      expect(missing.rcode).toBe('NXDOMAIN') // the upstream's, not a compact denial of ours
      expect(missing.authority.some((l) => / RRSIG | NSEC /.test(l))).toBe(false)
    } finally {
      await server.stop()
      await upstream.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('DNSSEC and response rate limiting', () => {
  it('limits answers signed per query before signing them: a flood of random names gets drops and TC slips, not signatures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-dnssec-rrl-'))
    mkdirSync(join(dir, 'zones'))
    writeFileSync(join(dir, 'zones', `${Z}.zone`), ZONE)
    const server = await startServer(join(dir, 'zones'), ['--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys'), '--rrl-rate', '5', '--rrl-slip', '2'])
    try {
      // One burst of 40 from one socket, every reply collected for a second.
      const socket = dgram.createSocket('udp4')
      const replies: Buffer[] = []
      socket.on('message', (m) => replies.push(m))
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
      for (let i = 0; i < 40; i++) socket.send(query(`flood${i}.${Z}`, 'A', { id: i, edns: 1232, dnssecOk: true }), server.port, '127.0.0.1')
      await new Promise((r) => setTimeout(r, 1000))
      socket.close()
      let signed = 0
      let slipped = 0
      for (const got of replies) {
        if ((got[2]! & 0x02) !== 0) { slipped++; expect(got.readUInt16BE(6) + got.readUInt16BE(8)).toBe(0) }
        else { signed++; expect(decode(got).authority.join('\n')).toMatch(/NSEC/) }
      }
      const silent = 40 - replies.length
      // 5 a second, one burst: a handful signed, the rest half dropped, half slipped (a TC that sends the client to TCP).
      expect(signed).toBeGreaterThanOrEqual(5)
      expect(signed).toBeLessThanOrEqual(12)
      expect(slipped).toBeGreaterThan(5)
      expect(silent).toBeGreaterThan(5)
      const metrics = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
      expect(Number(/^incus_dns_dnssec_online_answers_total (\d+)/m.exec(metrics)?.[1])).toBe(signed)
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('INCUS_DNS_DNSSEC settings', () => {
  it('refuses a key folder it cannot make or write, naming the setting', async () => {
    const zones = new URL('../../zones/', import.meta.url).pathname
    await expect(startServer(zones, ['--dnssec', 'on', '--dnssec-key-dir', '/etc/hostname/keys'])).rejects.toThrow(/^INCUS_DNS_DNSSEC_KEY_DIR \/etc\/hostname\/keys cannot be made or written \(\w+\); give a folder/)
    await expect(startServer(zones, ['--dnssec', 'on', '--dnssec-key-dir', '/etc/hostname'])).rejects.toThrow(/INCUS_DNS_DNSSEC_KEY_DIR \/etc\/hostname is not a folder/)
  })

  it('needs a key folder that outlives a restart: INCUS_DNS_DNSSEC_KEY_DIR or INCUS_DNS_STATE_FILE', async () => {
    await expect(startServer(new URL('../../zones/', import.meta.url).pathname, ['--dnssec', 'on'])).rejects.toThrow(/INCUS_DNS_DNSSEC_KEY_DIR.*INCUS_DNS_STATE_FILE/)
  })
})
