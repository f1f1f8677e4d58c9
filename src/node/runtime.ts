/** The Node adapter for the runtime: onnxruntime-node with all cores by default. */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Runtime, type RuntimeOptions } from '../engine/runtime/runtime.js';
import { defaultSessionStore } from './session-store.js';

export interface NodeRuntimeOptions extends RuntimeOptions {
  /**
   * Keep optimised graphs in the cache folder so a later process builds the same session
   * fast (default true, unless `$RSI_GRAD_CAM_SESSION_CACHE` is `off`). `sessionStore`, when
   * given, is used instead.
   */
  sessionCache?: boolean;
  /** The cache folder whose `sessions` folder holds them (default: `$RSI_GRAD_CAM_CACHE`, ...). */
  cacheDir?: string;
}

let shared: Runtime | undefined;

/** A runtime backed by onnxruntime-node. */
export function createNodeRuntime(options: NodeRuntimeOptions = {}): Runtime {
  const { sessionCache = true, cacheDir, ...rest } = options;
  const threads = rest.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
  const sessionStore = rest.sessionStore ?? (sessionCache ? defaultSessionStore(cacheDir) : undefined);
  return new Runtime(ort as unknown as ConstructorParameters<typeof Runtime>[0], { freeMemoryMB, ...rest, threads, sessionStore });
}

/** One process-wide runtime for callers that do not manage their own. */
export function defaultNodeRuntime(): Runtime {
  return (shared ??= createNodeRuntime());
}

/** Memory the process can still use, in MiB (cgroup limits included where Node knows them). */
function freeMemoryMB(): number {
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  return (p.availableMemory?.() ?? os.freemem()) / (1024 * 1024);
}
