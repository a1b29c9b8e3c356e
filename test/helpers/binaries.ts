/**
 * Real peers (dig, kdig, knotd, ...) are looked up on PATH. Outside CI a missing one skips its tests
 * loudly; under CI=true it fails them, since .ci/run installs every one.
 */
import { execFileSync } from 'node:child_process'

const found = new Map<string, string | null>()

export function which(binary: string): string | null {
  if (!found.has(binary)) {
    let path: string | null = null
    for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
      try {
        execFileSync('test', ['-x', `${dir}/${binary}`])
        path = `${dir}/${binary}`
        break
      } catch { /* not here */ }
    }
    found.set(binary, path)
  }
  return found.get(binary) ?? null
}

/** True when the binary exists. When it does not: throws under CI, else warns loudly and returns false. */
export function havePeer(binary: string, debianPackage: string): boolean {
  if (which(binary) !== null) return true
  const msg = `${binary} not found: install Debian package ${debianPackage} (.ci/run does)`
  if (process.env.CI === 'true') throw new Error(`${msg}; CI must not skip these tests`)
  console.warn(`\n!!! SKIPPING tests that need ${binary}: ${msg}\n`)
  return false
}
