import { randomBytes } from 'node:crypto'
import { unlinkSync } from 'node:fs'
import { link, lstat, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { OutputExistsError } from './errors.ts'

/** Temporary files being written: removed at exit, whatever ends the process (a second Ctrl-C too). */
const temporaries = new Set<string>()
process.on('exit', () => {
  for (const path of temporaries) {
    try {
      unlinkSync(path)
    } catch {
      // already renamed into place, or never created: nothing is left behind
    }
  }
})

/**
 * A file name from a signed record's `content.name`, safe to create here: no path separators or
 * control characters, no leading dots (no hidden files, no `..`), at most 255 bytes. `undefined`
 * when nothing usable is left.
 */
export function safeFileName(name: string | undefined): string | undefined {
  if (name == null) return undefined
  // eslint-disable-next-line no-control-regex
  let safe = name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^[.\s]+/, '')
  while (Buffer.byteLength(safe) > 255) safe = safe.slice(0, -1)
  return safe.trim() === '' ? undefined : safe
}

/** Where `-o` says to write (a directory: `name` inside it), or `name` in the working directory. */
export async function outputPath(output: string | undefined, name: string): Promise<string> {
  if (output == null) return name
  return (await isDirectory(output)) ? join(output, name) : output
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true
}

/** Throws `OutputExistsError` when `path` exists (as anything, a dangling link too) and `force` is off. */
export async function refuseExisting(path: string, force: boolean): Promise<void> {
  if (force) return
  if ((await lstat(path).catch(() => undefined)) != null) throw new OutputExistsError(path)
}

/**
 * Writes `bytes` to `path` all at once or not at all: into a temporary file beside it (same
 * directory, so the rename is atomic), flushed to disk, then moved into place. Without `force` an
 * existing `path` is never replaced, also one created meanwhile. The temporary file is removed on
 * any failure, an abort, and at exit.
 */
export async function saveAtomically(
  path: string,
  bytes: Uint8Array,
  options: { force: boolean; signal: AbortSignal }
): Promise<void> {
  options.signal.throwIfAborted()
  const temp = join(dirname(path), `.${basename(path).slice(0, 200)}.${randomBytes(6).toString('hex')}.part`)
  temporaries.add(temp)
  try {
    const handle = await open(temp, 'wx', 0o666)
    try {
      await handle.writeFile(bytes, { signal: options.signal })
      await handle.sync()
    } finally {
      await handle.close()
    }
    options.signal.throwIfAborted()
    if (options.force) await rename(temp, path)
    else await placeWithoutReplacing(temp, path)
  } finally {
    await unlink(temp).catch(() => {
      // moved into place (rename), or never created: nothing to remove
    })
    temporaries.delete(temp)
  }
}

/** Links `temp` under `path`, failing if `path` exists; where hard links are not allowed, checks then renames. */
async function placeWithoutReplacing(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new OutputExistsError(path)
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err
    await refuseExisting(path, false)
    await rename(temp, path)
  }
}
