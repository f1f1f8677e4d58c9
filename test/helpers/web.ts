/**
 * The page under test: built once (when its sources are newer than the build), served by the
 * real `rsi-grad-cam serve`, driven in Debian's Chromium through playwright-core.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './fixtures.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PAGE_DIR = path.join(REPO_ROOT, 'dist', 'web');
/** Screenshots and downloads of the tests (git-ignored). */
export const WEB_OUT = path.join(REPO_ROOT, 'out', 'web');

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Build the page with Vite unless dist/web is newer than web/, src/ and the demo assets. */
export function ensurePageBuilt(): void {
  const index = path.join(PAGE_DIR, 'index.html');
  const sources = Math.max(...['web', 'src', 'assets'].map((d) => newest(path.join(REPO_ROOT, d))), statSync(path.join(REPO_ROOT, 'package-lock.json')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs > sources) return;
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'error'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
  });
}

export interface Served {
  url: string;
  stop(): Promise<void>;
}

/** `rsi-grad-cam serve --port 0`, as a user runs it; resolves with the URL it prints. */
export async function serve(): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--port', '0'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /page at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

/** Headless Chromium with a fresh profile and no background network traffic. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
}

/** Errors the page raised: uncaught exceptions, and what its own error display shows. */
export function watchErrors(page: Page): { pageErrors: string[]; check(): Promise<void> } {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    pageErrors,
    async check() {
      const shown = await page.locator('#error').evaluate((el) => ((el as HTMLElement).hidden ? '' : el.textContent ?? ''));
      if (pageErrors.length || shown) throw new Error(`page errors: ${[...pageErrors, shown].filter(Boolean).join(' | ')}`);
    },
  };
}

/** Wait until the page has finished `runs` explanation runs and is idle. */
export async function waitForRuns(page: Page, runs: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) >= n && document.body.dataset.busy === 'false', runs, { timeout });
}

/**
 * A fresh page at `url` (the served page, with any query), its errors watched, once it has
 * finished its first run (the demo model on the first demo photo, or what the URL presets).
 * `setup` runs before the page loads (listeners that must see the load).
 */
export async function openPage(
  browser: Browser,
  url: string,
  o: { viewport?: { width: number; height: number }; deviceScaleFactor?: number; timeout?: number; setup?: (page: Page) => void } = {},
): Promise<{ page: Page; errors: ReturnType<typeof watchErrors> }> {
  const page = await browser.newPage({ ...(o.viewport ? { viewport: o.viewport } : {}), ...(o.deviceScaleFactor ? { deviceScaleFactor: o.deviceScaleFactor } : {}) });
  const errors = watchErrors(page);
  o.setup?.(page);
  await page.goto(url);
  await waitForRuns(page, 1, o.timeout);
  return { page, errors };
}

/** What a describe block of page tests shares: the page served by `serve`, and one browser. */
export interface ServedBrowser {
  readonly url: string;
  readonly browser: Browser;
  /** openPage on the served page, `query` (e.g. '?backend=webgpu') appended to its URL. */
  open(query?: string, o?: Parameters<typeof openPage>[2]): ReturnType<typeof openPage>;
}

/**
 * Registers the calling describe block's hooks: before its tests, build the page when stale,
 * serve it and launch Chromium with `extraArgs`; after them, close both. The fields are read in
 * the tests (they exist only once the hook has run).
 */
export function useServedBrowser(extraArgs: string[] = []): ServedBrowser {
  let served: Served | undefined;
  let browser: Browser | undefined;
  before(async () => {
    ensurePageBuilt();
    served = await serve();
    browser = await launch(extraArgs);
  });
  after(async () => {
    await browser?.close();
    await served?.stop();
  });
  const started = (): { served: Served; browser: Browser } => {
    if (!served || !browser) throw new Error('useServedBrowser: read before its before() hook ran');
    return { served, browser };
  };
  return {
    get url() {
      return started().served.url;
    },
    get browser() {
      return started().browser;
    },
    open: (query = '', o = {}) => openPage(started().browser, started().served.url + query, o),
  };
}

/** The JSON the page offers for a method's tile (its download button): the CLI's --raw JSON. */
export async function pageRaw<T>(page: Page, method: string): Promise<T> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`.tile[data-method="${method}"] [data-download="json"]`).click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8')) as T;
}

/** The JSON the CLI writes with --raw (the fields the tests compare). */
export type RawJson = { method: string; layer: string; target: { index: number; label: string }; camShape: [number, number]; cam: number[]; weights: number[]; probability: number; topk: { index: number }[]; completenessError?: number; steps?: number };

/** `rsi-grad-cam explain --raw` for one photo and method; returns the JSON it wrote. */
export function cliRaw(image: string, model: string, method: string, extra: string[] = []): RawJson {
  const out = mkdtempSync(path.join(tmpdir(), 'rsi-web-cli-'));
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), 'explain', image, '--model', model, '--method', method, '--raw', '--threads', '2', '-o', out, ...extra], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return JSON.parse(readFileSync(path.join(out, `${path.parse(image).name}.${method}.json`), 'utf8')) as RawJson;
}

/** The page's cam equals the CLI's to `tol` (same method, layer, target and shape); returns the largest difference. */
export function assertSameCam(pageJson: RawJson, cli: RawJson, tol: number, label: string): number {
  assert.equal(pageJson.method, cli.method, label);
  assert.equal(pageJson.layer, cli.layer, label);
  assert.deepEqual(pageJson.target, cli.target, label);
  assert.deepEqual(pageJson.camShape, cli.camShape, label);
  assert.equal(pageJson.cam.length, cli.cam.length, label);
  assert.ok(cli.cam.some((v) => v > 0), `${label}: the CLI's cam is all zero`);
  let worst = 0;
  for (let i = 0; i < cli.cam.length; i++) worst = Math.max(worst, Math.abs(pageJson.cam[i]! - cli.cam[i]!));
  assert.ok(worst <= tol, `${label}: cam differs from the CLI by ${worst} (> ${tol})`);
  return worst;
}

/** Drop files on the page as a user drags them from a file manager. */
export async function dropFiles(page: Page, files: { name: string; bytes: Buffer; type?: string }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, type: f.type ?? '', data: [...f.bytes] }));
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([new Uint8Array(f.data)], f.name, { type: f.type }));
    document.querySelector('.results')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

/** Tick exactly `methods` among the page's method checkboxes. */
export async function setMethods(page: Page, methods: string[]): Promise<void> {
  for (const box of await page.locator('#methods input[type=checkbox]').all()) {
    const want = methods.includes(await box.getAttribute('value') ?? '');
    if ((await box.isChecked()) !== want) await box.setChecked(want);
  }
}

/** How many explanation runs the page has finished. */
export async function runs(page: Page): Promise<number> {
  return Number(await page.evaluate(() => document.body.dataset.runs ?? 0));
}
