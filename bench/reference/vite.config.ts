import { defineConfig } from 'vite'

/**
 * The plain libp2p page the network benchmark measures beside the app (`main.ts` here). Built by
 * `bench/network.ts` into a temporary directory (`build.outDir` given there), next to a copy of the
 * app, and served by the relay at `/reference/`.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  logLevel: 'warn',
  build: {
    target: 'es2022',
    emptyOutDir: true,
    // the start-up profile (bench/startup-profile.ts) attributes the page's CPU to packages by it
    sourcemap: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2000
  }
})
