/**
 * The dependencies this project patches (`patches/`, applied by patch-package in this repository
 * only) travel inside the package as bundled dependencies: the patched copies from this
 * repository's node_modules, in the package's own node_modules, where Node and bundlers resolve
 * the package's imports first. Their own dependencies become the package's dependencies (npm does
 * not install the dependencies of a bundled dependency), checked against what was tested here.
 */
import { cp, readFile, readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'

export interface PatchedPackage {
  name: string
  version: string
  patchFile: string
  /** The lines the patch adds to each built file (`dist/…`), by path inside the package. */
  added: Map<string, string[]>
}

interface Manifest {
  name: string
  version: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest
}

/** The patches of `patches/` (`@scope+name+1.2.3.patch`), with the lines each adds to built files. */
export async function patchedPackages(root: string): Promise<PatchedPackage[]> {
  const dir = join(root, 'patches')
  const found: PatchedPackage[] = []
  for (const patchFile of (await readdir(dir)).filter(f => f.endsWith('.patch')).sort()) {
    const match = /^(.+)\+(\d+\.\d+\.\d+[^+]*)\.patch$/.exec(patchFile)
    if (match == null) throw new Error(`patches/${patchFile}: not named <package>+<version>.patch`)
    const name = match[1]!.replaceAll('+', '/')
    const added = new Map<string, string[]>()
    let current: string[] | undefined
    for (const line of (await readFile(join(dir, patchFile), 'utf8')).split('\n')) {
      const file = /^\+\+\+ b\/node_modules\/(.+)$/.exec(line)?.[1]
      if (file != null) {
        const inside = file.slice(name.length + 1)
        current = inside.startsWith('dist/') ? [] : undefined
        if (current != null) added.set(inside, current)
      } else if (current != null && line.startsWith('+') && line.slice(1).trim() !== '') {
        current.push(line.slice(1).trim())
      }
    }
    found.push({ name, version: match[2]!, patchFile, added })
  }
  return found
}

/** Throws unless the copy in `dir` is `pkg`'s version with every line its patch adds. */
export async function assertPatched(pkg: PatchedPackage, dir: string): Promise<void> {
  const { version } = await readManifest(dir)
  if (version !== pkg.version) {
    throw new Error(`${pkg.name} is ${version} in ${dir}, but patches/${pkg.patchFile} is for ${pkg.version}`)
  }
  for (const [file, lines] of pkg.added) {
    const text = await readFile(join(dir, file), 'utf8')
    const missing = lines.find(l => !text.includes(l))
    if (missing != null) {
      throw new Error(`${dir}/${file} lacks "${missing}" of patches/${pkg.patchFile}: run npx patch-package`)
    }
  }
}

/** Copies the patched package (with any node_modules of its own) from `root` into `pkgDir`. */
export async function bundlePatched(root: string, pkg: PatchedPackage, pkgDir: string): Promise<void> {
  const from = join(root, 'node_modules', pkg.name)
  await assertPatched(pkg, from)
  await cp(from, join(pkgDir, 'node_modules', pkg.name), { recursive: true })
}

/**
 * What a bundled package (and what it bundles along in its own node_modules) needs from outside:
 * each dependency with its range, checked to be satisfied by the version this repository resolves
 * it to (the one tested here) and merged with the ranges of `deps`. Returns the new entries.
 */
export async function dependenciesOfBundled(
  root: string,
  names: string[],
  deps: Record<string, string>
): Promise<Record<string, string>> {
  const added: Record<string, string> = {}
  const problems: string[] = []
  const seen = new Set<string>()
  // `chain`: the bundled package's directory, then each package it carries, down to `dir`
  const visit = async (chain: string[]): Promise<void> => {
    const dir = chain.at(-1)!
    if (seen.has(dir)) return
    seen.add(dir)
    const manifest = await readManifest(dir)
    const wanted = { ...manifest.dependencies, ...manifest.optionalDependencies }
    for (const [dep, range] of Object.entries(wanted)) {
      // one that Node finds inside the bundled tree travels with it; what that one needs comes from outside
      let nested: string[] | undefined
      for (let i = chain.length - 1; i >= 0 && nested == null; i--) {
        const candidate = join(chain[i]!, 'node_modules', dep)
        if (existsSync(candidate)) nested = [...chain.slice(0, i + 1), candidate]
      }
      if (nested != null) {
        await visit(nested)
        continue
      }
      const installed = join(root, 'node_modules', dep)
      if (!existsSync(installed)) {
        problems.push(`${manifest.name} needs ${dep}@${range}, which is not installed here`)
        continue
      }
      const { version } = await readManifest(installed)
      if (!semver.satisfies(version, range)) {
        problems.push(`${manifest.name} needs ${dep}@${range}, but ${version} is installed here`)
        continue
      }
      const ours = deps[dep] ?? added[dep]
      if (ours != null && !semver.satisfies(version, ours)) {
        problems.push(`${dep}: the package asks for ${ours}, but ${version} is installed here`)
      }
      // the narrower range wins: both the package's code and the bundled copy must be satisfied
      if (ours == null) added[dep] = range
      else if (ours !== range && semver.subset(range, ours)) added[dep] = range
    }
  }
  for (const name of names) await visit([join(root, 'node_modules', name)])
  if (problems.length > 0) throw new Error(`bundled dependencies:\n  ${problems.join('\n  ')}`)
  return added
}
