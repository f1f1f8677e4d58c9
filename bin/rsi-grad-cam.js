#!/usr/bin/env node
// Runs the compiled CLI when installed from the package; in a checkout (src/ present) runs the
// TypeScript sources through tsx, so `npx rsi-grad-cam` never uses a stale build.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
