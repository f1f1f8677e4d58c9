/**
 * The page under test: built once (when its sources are newer than the build), served by the
 * real `rsi-grad-cam serve`, driven in Debian's Chromium through playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
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

/** The JSON the page offers for a method's tile (its download button): the CLI's --raw JSON. */
export async function pageRaw<T>(page: Page, method: string): Promise<T> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`.tile[data-method="${method}"] [data-download="json"]`).click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8')) as T;
}
