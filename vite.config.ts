import { readFileSync } from 'node:fs'
import { defineConfig } from 'vite'
import { keepPreviousChunks, preloadBoot, versionedWidget } from './scripts/vite-plugins.ts'

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** The relay serves the built app; `npm run dev` proxies the relay's endpoints. */
const relayHttp = process.env.RELAY_HTTP ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [preloadBoot(), versionedWidget(version), keepPreviousChunks()],
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
      // the app, and the embeddable widget at a versioned URL (/widget/<version>/p2p-marketplace.js,
      // with a stable /widget/p2p-marketplace.js beside it); they share their chunks, libp2p included
      input: { app: 'src/index.html', widget: 'src/widget/p2p-marketplace.ts' },
      output: {
        entryFileNames: chunk =>
          chunk.name === 'widget' ? `widget/${version}/p2p-marketplace.js` : 'assets/[name]-[hash].js'
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
