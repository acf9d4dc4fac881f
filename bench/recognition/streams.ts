// Eight streams in one process, as at a bench of eight stations: each grabber delivers 5 frames a second of a
// device going through setup (a new screen every 2 s, the same picture in between, now and then re-encoded);
// each stream has its own Recognizer, all share the process's OCR pool (one worker per core). Like the agent's
// observer, a stream always reads the newest frame: frames that came while it was busy are skipped (dropped).
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Recognizer } from '../../agent/vision/recognizer.ts';
import type { Part } from '../section.ts';
import { round, timings } from '../stats.ts';
import { isRight, reencoded, sampleFrames, withNoise, type SampleFrame } from './frames.ts';

const STREAMS = 8;
const FPS = 5;
const FRAMES_PER_SCREEN = 10; // a new screen every 2 s
const NEAR_AT = 5; // the frame of each screen that comes re-encoded
/**
 * Keeping up: a frame is read within this long of its arrival, and a new screen seen within this long of its
 * first frame (p95 both), in the second half of the run as in the whole: the lag does not grow. Frames that
 * come while a new screen is being read are skipped on purpose (the newest frame is what counts).
 */
const MAX_LAG_P95_MS = 1000;

interface Script { sample: SampleFrame; near: Buffer }

/** What stream `s` shows at frame `k`: its screen, and the bytes the grabber sends. */
function frameAt(scripts: Script[], s: number, k: number): { screenNo: number; sample: SampleFrame; bytes: Buffer } {
  const screenNo = Math.floor(k / FRAMES_PER_SCREEN);
  // Streams start at different screens 7 apart, so they are never on the same picture at once.
  const script = scripts[(s * 7 + screenNo) % scripts.length];
  const bytes = k % FRAMES_PER_SCREEN === NEAR_AT ? script.near : script.sample.jpeg;
  return { screenNo, sample: script.sample, bytes: Buffer.from(bytes) };
}

export const streams8: Part = {
  name: 'streams8',
  async run(ctx) {
    const seconds = ctx.quick ? 10 : 40;
    const total = seconds * FPS; // frames each stream delivers
    const samples = await sampleFrames();
    const scripts: Script[] = [];
    for (const [i, sample] of samples.entries()) {
      scripts.push({ sample, near: i % 2 ? await reencoded(sample, 85) : await withNoise(sample, 1) });
    }
    const workers = availableParallelism();
    const readers = await Promise.all(Array.from({ length: STREAMS }, () => Recognizer.create({ workers })));
    ctx.progress(`streams8: ${STREAMS} streams at ${FPS} fps for ${seconds} s, OCR pool of ${workers}`);

    const lag: { at: number; ms: number }[] = [], screenLatency: number[] = [];
    let processed = 0, dropped = 0, wrong = 0;
    const interval = 1000 / FPS;
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const ticker = setInterval(() => ctx.progress(`streams8: ${Math.round(now() / 1000)} s, ${processed} frames read, ${dropped} skipped`), 10_000);
    try {
      await Promise.all(readers.map(async (reader, s) => {
        let seen = -1;
        let screenSeen = -1;
        for (;;) {
          const newest = Math.min(total - 1, Math.floor(now() / interval));
          if (newest <= seen) {
            if (seen >= total - 1) break;
            await sleep(Math.max(0, (seen + 1) * interval - now()));
            continue;
          }
          dropped += newest - seen - 1;
          const { screenNo, sample, bytes } = frameAt(scripts, s, newest);
          const rec = await reader.read(bytes);
          const done = now();
          processed++;
          lag.push({ at: newest * interval, ms: done - newest * interval });
          if (!isRight(rec, sample.want)) wrong++;
          if (screenNo !== screenSeen) {
            screenLatency.push(done - screenNo * FRAMES_PER_SCREEN * interval);
            screenSeen = screenNo;
          }
          seen = newest;
        }
      }));
    } finally {
      clearInterval(ticker);
      await Promise.all(readers.map((r) => r.close()));
    }
    const elapsed = now() / 1000;
    const offered = STREAMS * total;
    const lagT = timings(lag.map((l) => l.ms));
    const lateLag = timings(lag.filter((l) => l.at >= (total * interval) / 2).map((l) => l.ms));
    const seenT = timings(screenLatency);
    const keepingUp = lagT.p95 <= MAX_LAG_P95_MS && lateLag.p95 <= MAX_LAG_P95_MS && seenT.p95 <= MAX_LAG_P95_MS;
    ctx.progress(`streams8: ${round(processed / elapsed)} fps read of ${STREAMS * FPS} offered, lag p95 ${lagT.p95} ms`);
    return {
      streams: STREAMS,
      fpsPerStream: FPS,
      newScreenEverySeconds: FRAMES_PER_SCREEN / FPS,
      ocrWorkers: workers,
      seconds: round(elapsed),
      framesOffered: offered,
      framesRead: processed,
      framesSkipped: dropped,
      offeredFps: STREAMS * FPS,
      sustainedFps: round(processed / elapsed),
      lagMs: lagT,
      lagMsSecondHalf: lateLag,
      newScreenSeenAfterMs: seenT,
      wrongReads: wrong,
      keepingUp,
      keepingUpMeans: `a frame read within ${MAX_LAG_P95_MS} ms of its arrival and a new screen seen within ${MAX_LAG_P95_MS} ms (p95, over the run and its second half)`,
    };
  },
};
