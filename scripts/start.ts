/**
 * `npm start`: builds the web app when the build is missing or older than its
 * sources, then runs the relay (which serves it). Arguments go to the relay.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function newestMtime(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map(entry => newestMtime(join(path, entry))))
}

const wantsHelp = process.argv.includes('--help') || process.argv.includes('-h')
const built = 'dist/index.html'
const stale =
  !existsSync(built) ||
  ['src', 'public', 'vite.config.ts', 'package-lock.json'].some(
    p => existsSync(p) && newestMtime(p) > statSync(built).mtimeMs
  )

if (stale && !wantsHelp) {
  console.log('start: building the web app (vite build)…')
  const { build } = await import('vite')
  await build({ logLevel: 'warn' })
}

await import('../relay/main.ts')
