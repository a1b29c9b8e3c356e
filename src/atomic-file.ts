/**
 * @module atomic-file
 * Writing a file whole or not at all: a temporary file beside it, created exclusively (O_CREAT|O_EXCL, which
 * fails on anything already at that name, a planted symlink included, so no write ever follows a link to
 * somewhere else) with its mode set at creation, then renamed over the target. Readers see the old content or
 * the new, never half of one.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'

/** The temporary file's name: beside `path`, unguessable, so nothing can be planted there in advance. */
function tmpName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
}

export async function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = tmpName(path)
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

/** `writeFileAtomic`, synchronously (for the few writes made where nothing can wait). */
export function writeFileAtomicSync(path: string, data: string | Buffer, mode: number): void {
  const tmp = tmpName(path)
  const fd = openSync(tmp, 'wx', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  closeSync(fd)
  try {
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}
