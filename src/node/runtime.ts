/** The Node adapter for the runtime: onnxruntime-node with all cores by default. */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Runtime, type RuntimeOptions } from '../engine/runtime/runtime.js';

let shared: Runtime | undefined;

/** A runtime backed by onnxruntime-node. */
export function createNodeRuntime(options: RuntimeOptions = {}): Runtime {
  const threads = options.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
  return new Runtime(ort as unknown as ConstructorParameters<typeof Runtime>[0], { freeMemoryMB, ...options, threads });
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
