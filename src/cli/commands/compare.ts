import type { Command } from 'commander';

export function registerCompare(program: Command): Command {
  return program.command('compare').description('(not yet available)');
}
