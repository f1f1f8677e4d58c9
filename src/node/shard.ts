/**
 * `--shard K/N`: one of N machines takes its part of a data set. The inputs are sorted by
 * name (code-unit order, the same on every machine and locale) and cut into N contiguous
 * parts whose sizes differ by at most one: shard K (0-based) takes sorted items
 * floor(K n / N) to floor((K + 1) n / N) - 1. `auto/N` reads K from the scheduler:
 * `$JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job: 0 ... completions - 1), else
 * `$SLURM_ARRAY_TASK_ID` minus `$SLURM_ARRAY_TASK_MIN` (a Slurm job array, whatever its
 * first index: `--array=1-8` gives K = 0 ... 7). Each shard writes into its own folder
 * `<out>/shard-K-of-N` (K zero-padded to N's width, so the folders sort).
 */
import path from 'node:path';
import { OptionError } from '../errors.js';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** Parses `K/N` or `auto/N` (K from the scheduler's environment, see above). */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/i.exec(text);
  if (!m) throw new OptionError(`--shard: expected K/N (K = 0 ... N-1) or auto/N, got '${text}'`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new OptionError(`--shard ${text}: N must be a positive integer`);
  const index = m[1]!.toLowerCase() === 'auto' ? indexFromEnv(text, count, env) : Number(m[1]);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new OptionError(`--shard ${text}: K = ${index} is out of range; shards are numbered from 0 to ${count - 1}`);
  }
  return { index, count };
}

function indexFromEnv(text: string, count: number, env: NodeJS.ProcessEnv): number {
  const int = (name: string) => {
    const v = env[name]!.trim();
    if (!/^\d+$/.test(v)) throw new OptionError(`--shard ${text}: $${name} is '${v}', not a non-negative integer`);
    return Number(v);
  };
  if (env.JOB_COMPLETION_INDEX !== undefined) return int('JOB_COMPLETION_INDEX');
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    if (env.SLURM_ARRAY_TASK_STEP !== undefined && int('SLURM_ARRAY_TASK_STEP') !== 1) {
      throw new OptionError(`--shard ${text}: the Slurm array has a step of ${env.SLURM_ARRAY_TASK_STEP}; use a contiguous array (--array=0-${count - 1})`);
    }
    if (env.SLURM_ARRAY_TASK_COUNT !== undefined && int('SLURM_ARRAY_TASK_COUNT') !== count) {
      throw new OptionError(`--shard ${text}: the Slurm array has ${env.SLURM_ARRAY_TASK_COUNT} tasks, not ${count}; give --shard auto/${env.SLURM_ARRAY_TASK_COUNT}`);
    }
    const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? int('SLURM_ARRAY_TASK_MIN') : 0;
    return int('SLURM_ARRAY_TASK_ID') - min;
  }
  throw new OptionError(
    `--shard ${text}: auto needs $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or $SLURM_ARRAY_TASK_ID (a Slurm job array); neither is set — give the shard as K/N`,
  );
}

/** Code-unit order: the same everywhere, unlike localeCompare. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The shard's part of `items`, sorted by `name` (see the module comment). */
export function shardItems<T>(items: readonly T[], shard: Shard, name: (item: T) => string): T[] {
  const sorted = [...items].sort((a, b) => byName(name(a), name(b)));
  const n = sorted.length;
  return sorted.slice(Math.floor((shard.index * n) / shard.count), Math.floor(((shard.index + 1) * n) / shard.count));
}

/** `<out>/shard-K-of-N`, K zero-padded to the width of N. */
export function shardFolder(out: string, shard: Shard): string {
  const width = String(shard.count).length;
  return path.join(out, `shard-${String(shard.index).padStart(width, '0')}-of-${shard.count}`);
}

/** `K/N` as written in run.json. */
export function shardText(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
