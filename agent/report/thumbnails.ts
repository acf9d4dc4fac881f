// Small copies of the run's frames, embedded in report.html as data URIs, so the page still shows its
// evidence when only the file is mailed on; the full frames stay in frames/ and are linked.
// writeReport is synchronous (its callers rely on that), and sharp is not: the copies are made by sharp on a
// worker thread while this thread waits on an Atomics flag. The wait is bounded; whatever is not done by then
// is left out and the page falls back to the linked frame.
import { Worker, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface ThumbRequest { file: string; width: number }

// Plain CommonJS on purpose: the worker is eval'd, so it needs no TypeScript loader.
const WORKER = `
const { workerData } = require('node:worker_threads');
const done = (out) => {
  workerData.port.postMessage(out);
  Atomics.store(workerData.flag, 0, 1);
  Atomics.notify(workerData.flag, 0);
};
(async () => {
  const out = {};
  try {
    const sharp = require(workerData.sharp);
    sharp.concurrency(1);
    for (const { file, width } of workerData.requests) {
      try {
        const jpeg = await sharp(file).flatten({ background: '#000' }).resize({ width, withoutEnlargement: true })
          .jpeg({ quality: 72 }).toBuffer();
        out[file + '|' + width] = 'data:image/jpeg;base64,' + jpeg.toString('base64');
      } catch { /* a missing or broken frame: no thumbnail */ }
    }
  } finally {
    done(out);
  }
})();
`;

/** Data URIs keyed `${relativeFile}|${width}`; frames that are missing or broken are absent. */
export function thumbnailsSync(dir: string, requests: ThumbRequest[], timeoutMs = 20_000): Map<string, string> {
  const result = new Map<string, string>();
  if (!requests.length) return result;
  let sharpPath: string;
  try {
    sharpPath = createRequire(import.meta.url).resolve('sharp');
  } catch {
    return result;
  }
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const absolute = requests.map((r) => ({ file: join(dir, r.file), width: r.width }));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { requests: absolute, sharp: sharpPath, flag, port: port2 },
    transferList: [port2],
  });
  try {
    Atomics.wait(flag, 0, 0, timeoutMs);
    const got = receiveMessageOnPort(port1)?.message as Record<string, string> | undefined;
    if (got) {
      requests.forEach((r, i) => {
        const uri = got[`${absolute[i].file}|${r.width}`];
        if (uri) result.set(`${r.file}|${r.width}`, uri);
      });
    }
  } finally {
    void worker.terminate();
    port1.close();
  }
  return result;
}
