// Screen recognition on this machine (issue 3): a new frame, an unchanged frame, accuracy on real and impaired
// screens, eight streams in one process, and memory over a long run. The quick parts run first.
import type { Section } from './section.ts';
import { impairedMatrix } from './recognition/impaired-matrix.ts';
import { memory } from './recognition/memory.ts';
import { newFrame } from './recognition/new-frame.ts';
import { realScreens } from './recognition/real-screens.ts';
import { streams8 } from './recognition/streams.ts';
import { unchangedFrame } from './recognition/unchanged-frame.ts';

export const recognition: Section = {
  parts: [realScreens, newFrame, unchangedFrame, impairedMatrix, streams8, memory],
};
