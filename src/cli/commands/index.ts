/**
 * The kupgrade commands, in the order `kupgrade --help` lists them.
 * Each command parses its flags, validates input once, talks to Temporal, and prints; main.ts maps
 * errors to exit codes.
 */
import type { Command } from '../command';
import { approve } from './approve';
import { abort, accept, retry, skip } from './decide';
import { history } from './history';
import { list } from './list';
import { pause, resume } from './pause';
import { plan } from './plan';
import { server } from './server';
import { start } from './start';
import { status } from './status';
import { watch } from './watch';
import { worker } from './worker';

export const COMMANDS: Record<string, Command> = {
  plan,
  start,
  watch,
  status,
  approve,
  retry,
  skip,
  abort,
  accept,
  pause,
  resume,
  list,
  history,
  worker,
  server,
};
