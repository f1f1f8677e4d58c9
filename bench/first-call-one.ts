/**
 * One call as the CLI makes it, in its own process (run by bench/first-call.ts): load the
 * model file, explain one photo (the sessions are built, or loaded from the session cache),
 * then the same photo again (warm). Prints one JSON line: wall and CPU time (user + system,
 * onnxruntime's threads included) of each phase, and what the session store did.
 *
 * Usage: first-call-one.ts MODEL.onnx PHOTO METHOD STEPS [THREADS]
 */
const [model, photo, method, steps, threads] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const { loadModel } = await import('../src/node/load-model.js');
const { explainFile } = await import('../src/node/explain-files.js');
const { defaultSessionStore } = await import('../src/node/session-store.js');

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const phase = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  const c = cpu();
  await fn();
  return { wallMs: performance.now() - t, cpuMs: cpu() - c };
};

let classifier!: Awaited<ReturnType<typeof loadModel>>;
const load = await phase(async () => {
  classifier = await loadModel(model, { preprocess: 'imagenet', runtimeOptions: threads ? { threads: Number(threads) } : {} });
});
const options = method === 'rsi-grad-cam' ? { method, steps: Number(steps) } : { method };
const first = await phase(() => explainFile(classifier, photo, options as Parameters<typeof explainFile>[2]));
const warm = await phase(() => explainFile(classifier, photo, options as Parameters<typeof explainFile>[2]));
await classifier.runtime.dispose();
// The process's CPU time from its start (the parent measures its wall time).
const total = { wallMs: performance.now(), cpuMs: cpu() };
console.log(JSON.stringify({ load, first, warm, total, store: defaultSessionStore()?.stats ?? null }));
