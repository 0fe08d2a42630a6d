/**
 * The package's files after tsc: `.ts` specifiers that tsc leaves alone rewritten, the package's
 * own entry points (`scripts/pack/entries/*`) moved to the package's top level, files nothing
 * imports removed, and every relative import checked to resolve inside the package.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

/** Every file under `dir` (relative paths), skipping `node_modules` and `skip`. */
export async function filesUnder(dir: string, skip: string[] = []): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = relative(dir, join(entry.parentPath, entry.name))
    if (path.split('/').includes('node_modules') || skip.some(s => path.startsWith(`${s}/`))) continue
    out.push(path)
  }
  return out.sort()
}

const isCode = (f: string): boolean => f.endsWith('.js') || f.endsWith('.d.ts')

/** `from '…'`, `import('…')`, `import '…'` and `export … from '…'` specifiers, with their quotes. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g

/**
 * Rewrites what tsc leaves as `.ts`: relative specifiers in declarations (tsc rewrites them in
 * JavaScript only) and `new URL('./x.ts', import.meta.url)` (a worker's file).
 */
export async function rewriteTsSpecifiers(pkgDir: string): Promise<void> {
  for (const file of (await filesUnder(pkgDir)).filter(isCode)) {
    const path = join(pkgDir, file)
    const text = await readFile(path, 'utf8')
    const next = file.endsWith('.d.ts')
      ? text.replace(SPECIFIER, (all, lead: string, q: string, spec: string) =>
          spec.startsWith('.') && spec.endsWith('.ts') ? `${lead}${q}${spec.slice(0, -3)}.js${q}` : all
        )
      : text.replace(
          /new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1, import\.meta\.url\)/g,
          'new URL($1$2.js$1, import.meta.url)'
        )
    if (next !== text) await writeFile(path, next)
  }
}

/**
 * Moves `scripts/pack/entries/<name>.{js,d.ts}` to `<name>/index.{js,d.ts}` (their imports of the
 * tree, `../../../src/…`, become `../src/…`) and removes the rest of `scripts/`.
 */
export async function moveEntries(pkgDir: string): Promise<string[]> {
  const from = join(pkgDir, 'scripts', 'pack', 'entries')
  const names = new Set<string>()
  for (const file of await readdir(from)) {
    const match = /^([a-z-]+)(\.js|\.d\.ts)$/.exec(file)
    if (match == null) continue
    const [, name, ext] = match as unknown as [string, string, string]
    names.add(name)
    const text = (await readFile(join(from, file), 'utf8')).replace(/(['"])\.\.\/\.\.\/\.\.\//g, '$1../')
    await mkdir(join(pkgDir, name), { recursive: true })
    await writeFile(join(pkgDir, name, `index${ext}`), text)
  }
  await rm(join(pkgDir, 'scripts'), { recursive: true, force: true })
  return [...names].sort()
}

/** Removes files that are not part of the package (`keep` says which are). */
export async function prune(pkgDir: string, keep: (file: string) => boolean): Promise<void> {
  for (const file of await filesUnder(pkgDir, ['dist'])) {
    if (!keep(file)) await rm(join(pkgDir, file))
  }
  // directories left empty
  const dirs = (await readdir(pkgDir, { withFileTypes: true, recursive: true }))
    .filter(e => e.isDirectory())
    .map(e => join(e.parentPath, e.name))
    .sort((a, b) => b.length - a.length)
  for (const dir of dirs) if ((await readdir(dir)).length === 0) await rm(dir, { recursive: true })
}

/** Moves a file inside the package, creating its directory. */
export async function move(pkgDir: string, from: string, to: string): Promise<void> {
  await mkdir(dirname(join(pkgDir, to)), { recursive: true })
  await rename(join(pkgDir, from), join(pkgDir, to))
}

/**
 * Checks that every relative import of the package's code resolves to a file of the package, and
 * returns the packages its code imports by name (Node's built-ins left out).
 */
export async function checkImports(pkgDir: string): Promise<Set<string>> {
  const bare = new Set<string>()
  const broken: string[] = []
  const builtins = new Set(builtinModules)
  for (const file of (await filesUnder(pkgDir, ['dist'])).filter(isCode)) {
    const text = await readFile(join(pkgDir, file), 'utf8')
    // what TypeScript's own scanner finds: imports, exports, dynamic imports and import types
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(join(pkgDir, file)), spec)
        const candidates = file.endsWith('.d.ts') ? [target.replace(/\.js$/, '.d.ts'), target] : [target]
        if (!candidates.some(existsSync)) broken.push(`${file}: ${spec}`)
      } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
        const parts = spec.split('/')
        bare.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!)
      }
    }
  }
  if (broken.length > 0)
    throw new Error(`imports that resolve to no file of the package:\n  ${broken.join('\n  ')}`)
  return bare
}
