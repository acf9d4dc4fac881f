// Errors that carry a verdict category, so every way a run can end maps to an exit code (DESIGN.md).

export type Category = 'product' | 'flow' | 'infrastructure';

/** The run cannot go on; `category` says whose fault it is. */
export class RunFailure extends Error {
  constructor(
    readonly category: Category,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

/** Bad usage or bad input: exit code 64. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { passed: 0, product: 1, flow: 1, infrastructure: 2, usage: 64 } as const;
