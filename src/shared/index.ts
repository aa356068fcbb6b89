/** Shared by workflows, activities and the CLI. No I/O, no Node built-ins. */
export * from './activities';
export * from './errors';
export * from './gates';
export * from './inventory';
export * from './messages';
export * from './names';
export * from './render';
export * from './types';
export * from './versions';
