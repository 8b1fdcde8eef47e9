import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { serviceWorker } from './scripts/service-worker.ts'

// The node serves ui/dist on the same origin as /api; in development Vite proxies /api to a
// running node (npm start) so the UI is written against the real API, never a mock.
const root = fileURLToPath(new URL('.', import.meta.url))
const nodeUrl = process.env.ZKM_NODE_URL ?? 'http://127.0.0.1:8787'

export default defineConfig({
  root,
  base: './',
  // The service worker (sw.js) is built after the app, listing the app's files to precache.
  plugins: [
    // index.html's comments and indentation are for its readers, not for a phone on the home Wi-Fi:
    // about 250 bytes of the first response, gzipped.
    {
      name: 'zkmeter-html-minify',
      transformIndexHtml: {
        order: 'post',
        handler: (html: string) => html.replace(/<!--[\s\S]*?-->/g, '').replace(/^\s+/gm, ''),
      },
    },
    serviceWorker({ entry: fileURLToPath(new URL('src/sw.ts', import.meta.url)) }),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The app is one module chunk (nothing to preload), and every browser it targets preloads
    // modules itself (Chromium, Firefox 115+, Safari 17+): Vite's polyfill would be dead bytes.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      // The node takes state changes only from its own origin (docs/security.md): the proxied
      // requests say they come from it, as the built UI's do.
      '/api': { target: nodeUrl, changeOrigin: true, headers: { origin: new URL(nodeUrl).origin } },
    },
  },
})
