import { readFileSync } from 'node:fs'
import { defineConfig } from 'vite'

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** The relay serves the built app; `npm run dev` proxies the relay's endpoints. */
const relayHttp = process.env.RELAY_HTTP ?? 'http://127.0.0.1:8080'

export default defineConfig({
  root: 'src',
  define: { __APP_VERSION__: JSON.stringify(version) },
  publicDir: '../public',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    // libp2p is one lazy chunk of ~800 kB by design; the shell stays small
    chunkSizeWarningLimit: 1200
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
