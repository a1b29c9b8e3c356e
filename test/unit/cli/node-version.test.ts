/**
 * The Node.js incus-dns asks for is what its dependencies need (issue 26, 1): package.json's `engines`, the
 * command's own check, and the highest minimum among the production dependencies' `engines` agree.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { NODE_NEEDED, nodeProblem } from '../../../src/cli/node-version.ts'

const ROOT = new URL('../../../', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { dev?: boolean; engines?: { node?: string } }> }

/** The lowest version a range admits, as [major, minor] (`>=22.19.0`, `20 || >=22`, `^16 || >=20`: its lowest). */
function lowest(range: string): [number, number] {
  const options = range.split('||').map((r) => r.trim().replace(/^(>=|\^|~)\s*/, '').replace(/\.x$/, ''))
  return options.map((o) => o.split('.').map(Number)).map(([a = 0, b = 0]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1])[0] as [number, number]
}

describe('the Node.js needed', () => {
  it('package.json engines says what the command checks', () => {
    expect(pkg.engines.node).toBe(`>=${NODE_NEEDED.join('.')}`)
  })

  it('is the highest minimum of the production dependencies', () => {
    const minimums = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && v.dev !== true && v.engines?.node !== undefined)
      .map(([k, v]) => [k.slice(13), lowest(v.engines?.node as string)] as const)
    const highest = minimums.reduce((a, b) => (b[1][0] > a[1][0] || (b[1][0] === a[1][0] && b[1][1] > a[1][1]) ? b : a))
    expect(highest[1]).toEqual([...NODE_NEEDED])
    expect(highest[0]).toBe('undici')
  })

  it('an older Node gets one line naming the version needed and where to get one; a newer one none', () => {
    expect(nodeProblem('20.20.2', '/usr/bin/node')).toBe('needs Node.js 22.19 or newer (its Incus client, undici 8, does); this is Node.js 20.20.2 (/usr/bin/node). Run it with a newer Node: the one `npm ci` puts in node_modules/.bin/node, or Node.js 22 or 24 from nodejs.org or NodeSource')
    expect(nodeProblem('22.18.0', 'n')).not.toBeNull()
    expect(nodeProblem('22.19.0', 'n')).toBeNull()
    expect(nodeProblem('24.1.0', 'n')).toBeNull()
  })
})
