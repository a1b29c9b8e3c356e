/**
 * @module atomic-file
 * Writing a file whole or not at all: a temporary file beside it, created exclusively (O_CREAT|O_EXCL, which
 * fails on anything already at that name, a planted symlink included, so no write ever follows a link to
 * somewhere else) with its mode set at creation, then renamed over the target. Readers see the old content or
 * the new, never half of one.
 */
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'

export async function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'wx', mode)
  try {
    await file.writeFile(data)
    await file.sync()
  } catch (err) {
    await file.close()
    await rm(tmp, { force: true })
    throw err
  }
  await file.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
