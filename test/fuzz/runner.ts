/**
 * Runs fuzz cases in a child process (test/fuzz/worker.ts): a case that hangs is killed
 * after `timeoutMs` and reported as `hang`, one that kills the process as `crash`; the next
 * case gets a fresh child. Whatever the child writes to stderr during a case is returned
 * with it (onnxruntime's own log lines would show there).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Outcome } from './evaluate.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface RunResult extends Outcome {
  stderr: string;
  ms: number;
}

export class CaseRunner {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private stderr = '';
  private nextId = 1;

  constructor(private readonly timeoutMs = 60_000) {}

  private start(): Promise<void> {
    const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    child.stderr!.on('data', (d) => (this.stderr += String(d)));
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }) => {
        if (m.ready) {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`fuzz worker exited (${code}) before it was ready: ${this.stderr.slice(-500)}`)));
    });
    return this.ready;
  }

  /** Evaluate the model at `entry` (written in `dir`) in the child. */
  async run(entry: string, dir: string, image: string, steps = 3): Promise<RunResult> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) await this.start();
    else await this.ready;
    const child = this.child!;
    const id = this.nextId++;
    this.stderr = '';
    const t0 = performance.now();
    const outcome = await new Promise<Outcome>((resolve) => {
      const done = (o: Outcome) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(o);
      };
      const onMessage = (m: { id?: number; outcome?: Outcome }) => m.id === id && done(m.outcome!);
      const onExit = (code: number | null, signal: string | null) => done({ status: 'crash', message: `worker died (exit ${code}, signal ${signal}): ${this.stderr.slice(-400)}` });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ status: 'hang', message: `no result after ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ id, entry, dir, image, steps });
    });
    // Let stderr written just before the result arrive.
    await new Promise((r) => setTimeout(r, 10));
    return { ...outcome, stderr: this.stderr, ms: performance.now() - t0 };
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    }
  }
}
