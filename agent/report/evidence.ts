// Frames kept as evidence in the run folder: frames/NNN-SCREEN-what.jpg. Names carry no secrets by design:
// they are built from a counter, a screen id and a fixed word, never from text read or typed.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from '../../drivers/capture/types.ts';

export class Evidence {
  private count = 0;
  private readonly saved = new Map<number, string>();

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'frames'), { recursive: true });
    // A resumed run (run --resume) keeps the frames of its earlier lives: number on after them, never over them.
    this.count = readdirSync(join(dir, 'frames')).reduce((n, f) => Math.max(n, Number.parseInt(f, 10) || 0), 0);
  }

  /** Saves a frame once (by its seq) and returns its path relative to the run folder. */
  keep(frame: Frame, screen: string, what: 'before' | 'after' | 'seen' | 'last'): string {
    const known = this.saved.get(frame.seq);
    if (known) return known;
    this.count += 1;
    const ext = frame.data[0] === 0x89 ? 'png' : 'jpg';
    const name = `frames/${String(this.count).padStart(3, '0')}-${screen}-${what}.${ext}`;
    writeFileSync(join(this.dir, name), frame.data);
    this.saved.set(frame.seq, name);
    return name;
  }
}
