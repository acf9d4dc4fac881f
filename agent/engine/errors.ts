// The verdict categories and errors (defined beside the drivers, which raise them too) and their exit codes.
export { RunFailure, UsageError, type Category } from '../../drivers/errors.ts';

export const EXIT = { passed: 0, product: 1, flow: 1, infrastructure: 2, usage: 64 } as const;
