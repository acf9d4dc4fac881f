// The run's journal: irreversible actions (Provision, Retry, Reseal, Reset) are taken at most once per run,
// even across a restart of the agent (`run --resume DIR`). STUB: the resume helper replaces this in-memory
// version with one written to the run folder; the interface stays.

export interface Journal {
  /**
   * Takes the irreversible action `key` (e.g. "provision#1", "retry#1", "reseal") unless this run already took
   * (or began to take) it, in this life of the agent or an earlier one. Returns true when `perform` ran now,
   * false when it was skipped because it had been taken before: the caller must then not take it again and
   * only watch the screen move on.
   */
  once(key: string, perform: () => Promise<void>): Promise<boolean>;
  /** Whether `key` was taken (or begun) before. */
  has(key: string): boolean;
}

export class MemoryJournal implements Journal {
  private readonly taken = new Set<string>();

  async once(key: string, perform: () => Promise<void>): Promise<boolean> {
    if (this.taken.has(key)) return false;
    this.taken.add(key);
    await perform();
    return true;
  }

  has(key: string): boolean {
    return this.taken.has(key);
  }
}
