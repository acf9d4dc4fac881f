// Errors that carry a verdict category, so every way a run can end maps to an exit code (DESIGN.md). They live
// here, below the agent, so that drivers can say "bad spec" (usage) or "this part failed" (infrastructure) too.

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
