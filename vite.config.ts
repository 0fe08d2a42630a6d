import { defineConfig } from 'vite'

/** The relay serves the built app; `npm run dev` proxies the relay's endpoints. */
const relayHttp = process.env.RELAY_HTTP ?? 'http://127.0.0.1:8080'

export default defineConfig({
  root: 'src',
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
      '/healthz': relayHttp
    }
  }
})
