/**
 * One table of queries against test/fixtures/zones/conformance, run in-process, through dig (UDP),
 * kdig (TCP) and against knotd serving the same files. Sections are dig presentation strings; SOA
 * serials are written SERIAL (ours is time-based), records within a section compare as a set.
 */
export const ZONES_DIR = new URL('../fixtures/zones/conformance/', import.meta.url).pathname

export interface Case {
  readonly qname: string
  readonly qtype: string
  /** dig options: '+noedns', '+bufsize=N', '+cdflag', '+ignore' (see TC instead of retrying over TCP). */
  readonly args?: readonly string[]
  readonly rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'FORMERR' | 'NOTIMP'
  readonly flags: readonly string[]
  readonly answer?: readonly string[]
  readonly authority?: readonly string[]
  readonly additional?: readonly string[]
  /** Only meaningful over UDP (truncation). */
  readonly udpOnly?: boolean
  /** Why knotd answers differently, when it does (Knot's flags/test.py style). */
  readonly knotDiffers?: string
}

const SOA = 'example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. SERIAL 7200 900 1209600 300'
const WEB_A = 'web.example.org. 60 IN A 192.0.2.80'
const WEB_AAAA = 'web.example.org. 60 IN AAAA 2001:db8::80'
const AA = ['aa', 'qr']
const SUB_NS = ['sub.example.org. 3600 IN NS ns.example.net.', 'sub.example.org. 3600 IN NS ns1.sub.example.org.']
const SUB_GLUE = ['ns1.sub.example.org. 3600 IN A 192.0.2.54', 'ns1.sub.example.org. 3600 IN AAAA 2001:db8::54']

export const CASES: readonly Case[] = [
  // Positive answers (RFC 1034 4.3.2 step 3a), AA set, owner echoed in the client's case.
  { qname: 'web.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: [WEB_A] },
  { qname: 'WeB.ExAmPlE.oRg', qtype: 'AAAA', rcode: 'NOERROR', flags: AA, answer: [WEB_AAAA] },
  { qname: 'example.org', qtype: 'SOA', rcode: 'NOERROR', flags: AA,
    answer: ['example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. SERIAL 7200 900 1209600 300'] },
  { qname: 'example.org', qtype: 'NS', rcode: 'NOERROR', flags: AA,
    answer: ['example.org. 3600 IN NS ns1.example.org.', 'example.org. 3600 IN NS ns.example.net.'],
    additional: ['ns1.example.org. 3600 IN A 192.0.2.53'] },
  { qname: 'example.org', qtype: 'MX', rcode: 'NOERROR', flags: AA, answer: ['example.org. 3600 IN MX 10 mail.example.org.'],
    additional: ['mail.example.org. 300 IN A 192.0.2.25', 'mail.example.org. 300 IN AAAA 2001:db8::25'] },
  { qname: 'example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, answer: ['example.org. 3600 IN TXT "apex text"'] },
  // Octets end to end (issue 26, 4): "a\200b" is 3 octets, "\195\169" 2, "\255" 1.
  { qname: 'octets.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, answer: ['octets.example.org. 3600 IN TXT "a\\200b" "\\195\\169" "\\255"'] },
  { qname: '_sip._udp.example.org', qtype: 'SRV', rcode: 'NOERROR', flags: AA,
    answer: ['_sip._udp.example.org. 3600 IN SRV 10 60 5060 web.example.org.'], additional: [WEB_A, WEB_AAAA] },
  { qname: '80.2.0.192.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', flags: AA,
    answer: ['80.2.0.192.in-addr.arpa. 3600 IN PTR web.example.org.'] },

  // CNAME (RFC 1034 4.3.2 step 3a, RFC 6604): chains followed inside our zones.
  { qname: 'www.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA,
    answer: ['www.example.org. 3600 IN CNAME web.example.org.', WEB_A] },
  { qname: 'alias.example.org', qtype: 'AAAA', rcode: 'NOERROR', flags: AA,
    answer: ['alias.example.org. 3600 IN CNAME www.example.org.', 'www.example.org. 3600 IN CNAME web.example.org.', WEB_AAAA] },
  { qname: 'www.example.org', qtype: 'CNAME', rcode: 'NOERROR', flags: AA, answer: ['www.example.org. 3600 IN CNAME web.example.org.'] },
  { qname: 'www.example.org', qtype: 'MX', rcode: 'NOERROR', flags: AA,
    answer: ['www.example.org. 3600 IN CNAME web.example.org.'], authority: [SOA] },
  { qname: 'outside.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['outside.example.org. 3600 IN CNAME www.example.net.'] },
  { qname: 'dangling.example.org', qtype: 'A', rcode: 'NXDOMAIN', flags: AA,
    answer: ['dangling.example.org. 3600 IN CNAME nothere.example.org.'], authority: [SOA] },

  // Negative answers (RFC 2308): SOA in authority, TTL min(SOA TTL, MINIMUM) = 300.
  { qname: 'nothere.example.org', qtype: 'A', rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { qname: 'x.y.nothere.example.org', qtype: 'TXT', rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { qname: 'web.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { qname: 'a.b.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, authority: [SOA] }, // empty non-terminal
  { qname: 'b.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, authority: [SOA] }, // empty non-terminal
  { qname: 'c.a.b.example.org', qtype: 'A', rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { qname: '81.2.0.192.in-addr.arpa', qtype: 'PTR', rcode: 'NXDOMAIN', flags: AA,
    authority: ['2.0.192.in-addr.arpa. 300 IN SOA ns1.example.org. hostmaster.example.org. SERIAL 7200 900 1209600 300'] },

  // ANY (RFC 8482): one RRset.
  { qname: 'example.org', qtype: 'ANY', rcode: 'NOERROR', flags: AA, answer: ['example.org. 3600 IN A 192.0.2.1'] },
  { qname: 'www.example.org', qtype: 'ANY', rcode: 'NOERROR', flags: AA, answer: ['www.example.org. 3600 IN CNAME web.example.org.'] },

  // Wildcards (RFC 4592): synthesised for names that do not exist below the wildcard's parent, the owner in the
  // client's letter case; NODATA at a synthesised name without the type; an existing name wins; an empty
  // non-terminal (ent.apps) is the closest encloser and blocks synthesis; a CNAME wildcard is followed.
  { qname: 'x.apps.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['x.apps.example.org. 3600 IN A 192.0.2.10'] },
  { qname: 'X.y.APPS.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['x.y.apps.example.org. 3600 IN A 192.0.2.10'] },
  { qname: 'x.apps.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, answer: ['x.apps.example.org. 3600 IN TXT "wild"'] },
  { qname: 'x.apps.example.org', qtype: 'MX', rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { qname: 'real.apps.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['real.apps.example.org. 3600 IN A 192.0.2.11'] },
  { qname: 'real.apps.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { qname: 'ent.apps.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, authority: [SOA] },
  { qname: 'x.ent.apps.example.org', qtype: 'A', rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { qname: 'x.deep.ent.apps.example.org', qtype: 'A', rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },
  { qname: '*.apps.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['*.apps.example.org. 3600 IN A 192.0.2.10'] },
  { qname: 'a.cn.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['a.cn.example.org. 3600 IN CNAME web.example.org.', WEB_A] },
  { qname: 'a.b.cn.example.org', qtype: 'MX', rcode: 'NOERROR', flags: AA, answer: ['a.b.cn.example.org. 3600 IN CNAME web.example.org.'], authority: [SOA] },

  // Delegations (RFC 1034 4.3.2 step 3b): at or below a cut, a referral: AA clear, the cut's NS in authority,
  // in-zone glue in additional, whatever the type; DS at the cut is the parent's, answered authoritatively.
  { qname: 'sub.example.org', qtype: 'NS', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'sub.example.org', qtype: 'A', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'x.sub.example.org', qtype: 'A', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'Deep.X.sub.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'ns1.sub.example.org', qtype: 'A', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'x.sub.example.org', qtype: 'DS', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'sub.example.org', qtype: 'SOA', rcode: 'NOERROR', flags: ['qr'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'nods.example.org', qtype: 'A', rcode: 'NOERROR', flags: ['qr'], authority: ['nods.example.org. 3600 IN NS ns.example.net.'] },
  { qname: 'x.nods.example.org', qtype: 'MX', rcode: 'NOERROR', flags: ['qr'], authority: ['nods.example.org. 3600 IN NS ns.example.net.'] },
  { qname: 'nods.example.org', qtype: 'DS', rcode: 'NOERROR', flags: AA, authority: [SOA] },
  // A CNAME chain that runs into a cut (RFC 1034 4.3.2 step 3a, then 3b): AA for the chain, the referral after it.
  { qname: 'tosub.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['tosub.example.org. 3600 IN CNAME host.sub.example.org.'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'tosub2.example.org', qtype: 'MX', rcode: 'NOERROR', flags: AA,
    answer: ['tosub2.example.org. 3600 IN CNAME tosub.example.org.', 'tosub.example.org. 3600 IN CNAME host.sub.example.org.'], authority: SUB_NS, additional: SUB_GLUE },
  { qname: 'tosub.example.org', qtype: 'CNAME', rcode: 'NOERROR', flags: AA, answer: ['tosub.example.org. 3600 IN CNAME host.sub.example.org.'] },
  { qname: 'a.wsub.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, answer: ['a.wsub.example.org. 3600 IN CNAME x.nods.example.org.'], authority: ['nods.example.org. 3600 IN NS ns.example.net.'] },

  // DNAME (RFC 6672): at the owner, an ordinary name; below it, the synthesis (TYPE_CASES: our test decoder
  // cannot read DNAME, dig can).
  { qname: 'dnamed.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, authority: [SOA] },

  // $INCLUDE: records from included.inc, its $ORIGIN kept inside it, the origin back after it.
  { qname: 'inc1.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['inc1.example.org. 3600 IN A 192.0.2.201'] },
  { qname: 'box.lab.example.org', qtype: 'TXT', rcode: 'NOERROR', flags: AA, answer: ['box.lab.example.org. 3600 IN TXT "included"'] },
  { qname: 'after-inc.example.org', qtype: 'A', rcode: 'NOERROR', flags: AA, answer: ['after-inc.example.org. 3600 IN A 192.0.2.202'] },

  // CD set by the client: cleared in authoritative answers, as knotd and NSD do (RFC 4035 3.1.6 is for resolvers).
  { qname: 'web.example.org', qtype: 'A', args: ['+cdflag'], rcode: 'NOERROR', flags: AA, answer: [WEB_A] },
  { qname: 'nothere.example.org', qtype: 'A', args: ['+cdflag'], rcode: 'NXDOMAIN', flags: AA, authority: [SOA] },

  // Outside every zone: REFUSED, no AA (until forwarding exists).
  { qname: 'example.com', qtype: 'A', rcode: 'REFUSED', flags: ['qr'] },
  { qname: 'org', qtype: 'NS', rcode: 'REFUSED', flags: ['qr'] },

  // Size limits (RFC 1035 4.2.1, RFC 6891 6.2.5, RFC 2181 9): the additional section goes first, then TC.
  { qname: 'big.example.org', qtype: 'TXT', args: ['+noedns', '+ignore'], rcode: 'NOERROR', flags: ['aa', 'qr', 'tc'], udpOnly: true },
  { qname: 'big.example.org', qtype: 'TXT', args: ['+bufsize=512', '+ignore'], rcode: 'NOERROR', flags: ['aa', 'qr', 'tc'], udpOnly: true },
  { qname: 'bulk.example.org', qtype: 'MX', args: ['+noedns', '+ignore'], rcode: 'NOERROR', flags: AA,
    answer: ['bulk.example.org. 3600 IN MX 10 pool.example.org.'], udpOnly: true },
]

/**
 * Records of the types kept as RDATA bytes (zone/file/rdata.ts), asked by type: compared with knotd through
 * dig, which decodes both servers' bytes (the in-process decoder knows only the structured types).
 */
export const TYPE_CASES: readonly Case[] = ([
  ['caa', 'CAA'], ['sshfp', 'SSHFP'], ['_443._tcp.web', 'TLSA'], ['svc', 'SVCB'], ['svc', 'HTTPS'], ['svcalias', 'HTTPS'],
  ['naptr', 'NAPTR'], ['hinfo', 'HINFO'], ['uri', 'URI'], ['loc', 'LOC'], ['rp', 'RP'], ['ds', 'DS'], ['dnamed', 'DNAME'],
  ['generic', 'TYPE65280'], ['generic', 'TYPE65281'], ['caa', 'A'], ['svc', 'TXT'], ['sub', 'DS'],
  ['x.dnamed', 'A'], ['A.b.DNAMED', 'AAAA'], ['x.dnamed', 'CNAME'], ['x.dnamed', 'DNAME'],
  ['x.dn2', 'A'], ['real.dn3', 'A'], ['Real.DN3', 'TXT'], ['ent.dn3', 'A'], ['deep.ent.dn3', 'A'], ['zzz.dn3', 'A'],
  ['a.b.dn3', 'TXT'], ['zzz.dn3', 'MX'], ['x.dn4', 'A'], ['X.dn4', 'TXT'], ['x.dn5', 'A'], ['ns1.dn5', 'AAAA'], ['a.b.dn5', 'MX'], ['x.dn5', 'DS'],
  ['real.dc1', 'A'], ['zzz.dc1', 'TXT'], ['deep.ent.dc1', 'A'], ['Real.DC1', 'MX'], ['x.dc5', 'A'],
] as const).map(([name, qtype]) => ({ qname: `${name}.example.org`, qtype, rcode: 'NOERROR', flags: AA }))
