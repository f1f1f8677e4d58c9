/** The page's side of the engine worker: requests as promises, progress and results as callbacks. */
import type { Backend, BackendSummary, ExplainRequest, MethodResult, ModelSummary, NamedBytes, PhotoData, PhotoPredictions, Reply, Request } from './protocol.js';
import type { FitMode, PresetName } from '../../src/core.js';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import gpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import gpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (method: string, done: number, total: number) => void;
  onResult?: (r: MethodResult) => void;
  onNotice?: (message: string) => void;
}

export class EngineClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set to 1 to stop a running explanation at its next batch (needs cross-origin isolation). */
  private readonly cancelFlag?: Int32Array;

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<Reply>) => this.receive(ev.data);
    this.worker.onerror = (ev) => {
      for (const p of this.pending.values()) p.reject(new EngineError('WorkerError', ev.message || 'the engine worker failed'));
      this.pending.clear();
    };
    if (typeof SharedArrayBuffer !== 'undefined' && crossOriginIsolated) this.cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  }

  private receive(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('type' in m) {
      if (m.type === 'progress') p.onProgress?.(m.method, m.done, m.total);
      else if (m.type === 'result') p.onResult?.(m.result);
      else if (m.type === 'notice') p.onNotice?.(m.message);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new EngineError(m.error.name, m.error.message));
  }

  private call<T>(req: Request, extra: Omit<Pending, 'resolve' | 'reject'> = {}, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...extra });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  init(backend: Backend): Promise<BackendSummary> {
    const urls = backend === 'webgpu' ? { mjs: gpuMjsUrl, wasm: gpuWasmUrl } : { mjs: mjsUrl, wasm: wasmUrl };
    return this.call({ type: 'init', backend, urls, cancelFlag: this.cancelFlag?.buffer as SharedArrayBuffer | undefined });
  }

  loadModel(main: string, files: NamedBytes[], source: string, opts: { labels?: string[]; preset?: PresetName; fit?: FitMode } = {}): Promise<ModelSummary> {
    // Copies go to the worker, so the page can load the same files again (e.g. after a backend switch).
    return this.call({ type: 'load-model', main, files: files.map((f) => ({ name: f.name, bytes: f.bytes.slice(0) })), source, ...opts });
  }

  setPreprocess(preset: PresetName | 'model', fit: FitMode | 'model'): Promise<{ model: ModelSummary; predictions?: PhotoPredictions }> {
    return this.call({ type: 'set-preprocess', preset, fit });
  }

  setPhoto(photo: PhotoData): Promise<PhotoPredictions | undefined> {
    return this.call({ type: 'set-photo', photo: { ...photo, data: photo.data.slice() } });
  }

  explain(request: ExplainRequest, on: { progress: Pending['onProgress']; result: Pending['onResult']; notice: Pending['onNotice'] }): Promise<{ done: number }> {
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, 0);
    return this.call({ type: 'explain', request }, { onProgress: on.progress, onResult: on.result, onNotice: on.notice });
  }

  /** Milliseconds for `count` plain forwards over the path (bench:web), in batches of `batch` (default: as the methods batch). */
  benchForwards(count: number, batch?: number): Promise<number> {
    return this.call({ type: 'bench-forwards', count, batch });
  }

  /** Stop the running explanation: at its next batch, or at once by restarting the worker. */
  cancel(): 'flag' | 'restart' {
    if (this.cancelFlag) {
      Atomics.store(this.cancelFlag, 0, 1);
      return 'flag';
    }
    return 'restart';
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new EngineError('Cancelled', 'Cancelled.'));
    this.pending.clear();
  }
}
