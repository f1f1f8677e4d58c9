/**
 * Where the package's own files are: the folder holding its package.json. Found by walking up
 * from this module, because the module runs from `src/node/` in a checkout (through tsx) and
 * from `dist/src/node/` when compiled and installed, at different depths.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'rsi-grad-cam';

function findRoot(start: string): { root: string; version: string } {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (json.name === NAME) return { root: dir, version: json.version ?? '0.0.0' };
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the ${NAME} package folder above ${start}`);
  }
}

const found = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** The package's root folder (with package.json, assets/, dist/). */
export const PACKAGE_ROOT = found.root;
/** The package's version, from its package.json. */
export const PACKAGE_VERSION = found.version;
/** The shipped assets: ImageNet labels and the demo model with its images. */
export const ASSETS = path.join(PACKAGE_ROOT, 'assets');
