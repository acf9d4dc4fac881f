// What a bench section is: a named set of parts that each measure something and return plain JSON figures.
// run.ts runs sections in order and gathers every part's `targets` (true/false, or null when not measured).

export interface SectionContext {
  /** The parts asked for (empty: every part of the section). */
  parts: string[];
  /** Smaller counts and shorter runs: the framework checked end to end, the figures only indicative. */
  quick: boolean;
  /** A progress line on stderr (stdout carries only the JSON document). */
  progress(message: string): void;
}

/** A part's figures. `targets` names each target of the issue with whether this run met it. */
export type PartResult = Record<string, unknown> & { targets?: Record<string, boolean | null> };

export interface Part {
  name: string;
  run(ctx: SectionContext): Promise<PartResult>;
}

export interface Section {
  /** Parts in the order they run. */
  parts: Part[];
}
