/**
 * The page: `npm run build:web` writes static files to dist/web (served by `rsi-grad-cam serve`
 * or any host that sends COOP/COEP, see the README). onnxruntime-web's loader and wasm are
 * emitted as separate files (imported with ?url in the worker), never bundled into a chunk:
 * its pthread workers re-import the loader file.
 */
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  publicDir: false,
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
    target: 'es2022',
  },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolation, fs: { allow: ['..'] } },
  preview: { headers: isolation },
});
