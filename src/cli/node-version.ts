/**
 * @module cli/node-version
 * The Node.js incus-dns needs: the highest of its dependencies' `engines` (undici 8: 22.19), as package.json's
 * `engines` says (a test keeps the three in step). Checked first thing by the command, and so by `check` too.
 */

/** The oldest Node.js that runs incus-dns, [major, minor]. */
export const NODE_NEEDED: readonly [number, number] = [22, 19]

/** One line saying what is needed and how to get it, or null when `version` will do. */
export function nodeProblem(version: string, execPath: string, needed: readonly [number, number] = NODE_NEEDED): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > needed[0] || (major === needed[0] && minor >= needed[1])) return null
  return `needs Node.js ${needed.join('.')} or newer (its Incus client, undici 8, does); this is Node.js ${version} (${execPath}). ` +
    'Run it with a newer Node: the one `npm ci` puts in node_modules/.bin/node, or Node.js 22 or 24 from nodejs.org or NodeSource'
}
