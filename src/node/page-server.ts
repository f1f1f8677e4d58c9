/**
 * A small static server for the built web page, with the headers onnxruntime-web needs for
 * threads (cross-origin isolation: COOP same-origin + COEP require-corp, CORP on every file)
 * and the MIME types browsers insist on (.mjs as JavaScript, .wasm as application/wasm).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { OptionError } from '../errors.js';
import { PACKAGE_ROOT } from './package-root.js';

/** Where `npm run build:web` writes the page (inside the installed package too). */
export const PAGE_DIR = path.join(PACKAGE_ROOT, 'dist', 'web');

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.map': 'application/json; charset=utf-8',
};

export interface PageServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serve `dir` (default: the built page) on host:port (port 0: any free port). */
export async function startPageServer(options: { port?: number; host?: string; dir?: string } = {}): Promise<PageServer> {
  const dir = path.resolve(options.dir ?? PAGE_DIR);
  const index = path.join(dir, 'index.html');
  if (!(await stat(index).catch(() => undefined))?.isFile()) {
    throw new OptionError(`the web page is not built (no ${index}); in a checkout run 'npm run build:web' first`);
  }
  const host = options.host ?? '127.0.0.1';
  const server = createServer(async (req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { ...PAGE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad request');
    }
    const file = path.resolve(dir, `.${rel.endsWith('/') ? `${rel}index.html` : rel}`);
    if (file !== dir && !file.startsWith(dir + path.sep)) return send(403, 'forbidden');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(404, 'not found');
    const hashed = /-[\w-]{8}\.\w+$/.test(file) && file.includes(`${path.sep}assets${path.sep}`);
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new OptionError(`--port ${options.port}: the port is in use; choose another`) : e.code === 'EACCES' ? new OptionError(`--port ${options.port}: not allowed to listen there; choose a port above 1024`) : e),
    );
    server.listen(options.port ?? 8080, host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
