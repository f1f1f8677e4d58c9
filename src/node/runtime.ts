/** The Node adapter for the runtime: onnxruntime-node with all cores by default. */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { Runtime, type RuntimeOptions } from '../engine/runtime/runtime.js';

let shared: Runtime | undefined;

/** A runtime backed by onnxruntime-node. */
export function createNodeRuntime(options: RuntimeOptions = {}): Runtime {
  const threads = options.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
  return new Runtime(ort as unknown as ConstructorParameters<typeof Runtime>[0], { ...options, threads });
}

/** One process-wide runtime for callers that do not manage their own. */
export function defaultNodeRuntime(): Runtime {
  return (shared ??= createNodeRuntime());
}
