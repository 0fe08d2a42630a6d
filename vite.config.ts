import { readFileSync } from 'node:fs'
import { defineConfig } from 'vite'
import type { Plugin } from 'vite'

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** The relay serves the built app; `npm run dev` proxies the relay's endpoints. */
const relayHttp = process.env.RELAY_HTTP ?? 'http://127.0.0.1:8080'

/**
 * The page's shell loads the node (libp2p, the `boot` chunk) lazily so the first paint stays
 * small; a `modulepreload` link lets the browser fetch that chunk alongside the shell instead of
 * after it ran, and a `preload` of `config.json` fetches the runtime config meanwhile (the node's
 * own fetch of it then takes the preloaded response).
 */
function preloadBoot(): Plugin {
  return {
    name: 'p2p-marketplace:preload-boot',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: (_html, ctx) => {
        const boot = Object.values(ctx.bundle ?? {}).find(
          chunk => chunk.type === 'chunk' && chunk.facadeModuleId?.endsWith('/src/app/boot.ts') === true
        )
        if (boot == null) throw new Error('preload-boot: no chunk for src/app/boot.ts in the build')
        return [
          {
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `./${boot.fileName}` },
            injectTo: 'head'
          },
          {
            tag: 'link',
            attrs: { rel: 'preload', href: './config.json', as: 'fetch', crossorigin: 'anonymous' },
            injectTo: 'head'
          }
        ]
      }
    }
  }
}

export default defineConfig({
  plugins: [preloadBoot()],
  root: 'src',
  // relative URLs between chunks: the widget's chunks load from the relay even on another site's page
  base: './',
  define: { __APP_VERSION__: JSON.stringify(version) },
  publicDir: '../public',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    // dist/.vite/manifest.json: which chunks load first and which lazily (read by the UI benchmark)
    manifest: true,
    // libp2p is one lazy chunk of ~800 kB by design; the shell stays small
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      // the app, and the embeddable widget at a stable URL (/widget/p2p-marketplace.js);
      // they share their chunks, libp2p included
      input: { app: 'src/index.html', widget: 'src/widget/p2p-marketplace.ts' },
      output: {
        entryFileNames: chunk =>
          chunk.name === 'widget' ? 'widget/p2p-marketplace.js' : 'assets/[name]-[hash].js'
      }
    }
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/config.json': relayHttp,
      '/v1/traces': relayHttp,
      '/api': relayHttp,
      '/healthz': relayHttp
    }
  }
})
