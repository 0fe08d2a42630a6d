/**
 * Security headers of the relay's HTTP answers (issue 14): the app's pages carry a
 * Content-Security-Policy with no inline or evaluated script and may be framed only by the app;
 * the widget's files stay loadable by other sites; nothing is sniffed as another type.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { APP_CSP } from '../../relay/http.ts'
import { startTestRelay } from '../helpers/relay.ts'
import type { Relay } from '../../relay/relay.ts'

let relay: Relay
let cleanup: () => Promise<void>
let dir: string

beforeAll(async () => {
  // a built app in miniature: a page, a hashed chunk, the widget and the demo page
  dir = await mkdtemp(join(tmpdir(), 'mp-headers-'))
  const files: Record<string, string> = {
    'index.html': '<!doctype html><script type="module" src="./assets/app-abc.js"></script>',
    'assets/app-abc.js': 'export {}',
    'widget/p2p-marketplace.js': "export * from './1.2.3/p2p-marketplace.js'",
    'widget/1.2.3/p2p-marketplace.js': 'export {}',
    'demo/index.html': "<!doctype html><script>/* the embedding site's own script */</script>"
  }
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), body)
  }
  ;({ relay, cleanup } = await startTestRelay({ staticDir: dir }))
})

afterAll(async () => {
  await cleanup()
  await rm(dir, { recursive: true, force: true })
})

const get = async (path: string): Promise<Response> => await fetch(`${relay.httpUrl}${path}`)

describe('security headers', () => {
  test("the app's pages: a CSP without inline or evaluated script, framed only by the app", async () => {
    for (const path of ['/', '/index.html', '/some/app/route']) {
      const res = await get(path)
      expect(res.status, path).toBe(200)
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp, path).toBe(APP_CSP)
      const scripts = /script-src ([^;]*)/.exec(csp)?.[1] ?? ''
      expect(scripts).toBe("'self'")
      expect(csp).toContain("frame-ancestors 'self'")
      expect(csp).toContain("object-src 'none'")
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  test("the widget's files and chunks stay loadable from other sites, and are not pages", async () => {
    for (const path of [
      '/widget/p2p-marketplace.js',
      '/widget/1.2.3/p2p-marketplace.js',
      '/assets/app-abc.js'
    ]) {
      const res = await get(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(res.headers.get('cross-origin-resource-policy'), path).toBe('cross-origin')
      expect(res.headers.get('x-frame-options'), path).toBeNull()
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('content-type'), path).toMatch(/javascript/)
    }
  })

  test('hashed chunks and a version of the widget are cached for good; the stable widget URL is revalidated', async () => {
    for (const path of ['/assets/app-abc.js', '/widget/1.2.3/p2p-marketplace.js'])
      expect((await get(path)).headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable')
    expect((await get('/widget/p2p-marketplace.js')).headers.get('cache-control')).toBe('no-cache')
  })

  test("the demo page stands for another site: not the app's policy", async () => {
    const res = await get('/demo/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toBeNull()
  })

  test('JSON answers are not sniffed either', async () => {
    for (const path of ['/config.json', '/healthz']) {
      const res = await get(path)
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/)
    }
  })
})
