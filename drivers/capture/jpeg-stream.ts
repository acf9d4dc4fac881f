// JPEG bytes in a pipe: splitting concatenated JPEGs (ffmpeg's `-f mjpeg` output) into frames, and reading a
// frame's size from its SOF header, without decoding it.

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/**
 * Splits a byte stream of concatenated JPEGs into whole JPEGs, however the chunks fall. Walks each frame's
 * marker segments by their lengths (so an EOI inside an APP segment, e.g. an EXIF thumbnail, does not end
 * it), then the entropy-coded data to the first marker that is not a stuffed byte or a restart marker.
 * Keeps its place between chunks, so a large frame arriving in many chunks is scanned once.
 */
export class JpegStreamSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  /** Where the scan of the current frame has got to (index into buffer); 0 while looking for an SOI. */
  private pos = 0;
  private inScan = false;
  private started = false;
  /** Bytes thrown away because they were not inside a JPEG (garbage, a truncated frame). */
  skippedBytes = 0;

  constructor(private readonly maxFrameBytes = 32 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    for (;;) {
      if (!this.started && !this.findStart()) break;
      const end = this.scan();
      if (end < 0) break;
      frames.push(Buffer.from(this.buffer.subarray(0, end)));
      this.buffer = this.buffer.subarray(end);
      this.reset();
    }
    if (this.buffer.length > this.maxFrameBytes) {
      // No end in sight: not a JPEG stream, or a frame cut off. Start over at the next SOI.
      this.skippedBytes += this.buffer.length;
      this.buffer = Buffer.alloc(0);
      this.reset();
    }
    return frames;
  }

  private reset(): void {
    this.pos = 0;
    this.inScan = false;
    this.started = false;
  }

  /** Drops bytes up to the next SOI (FF D8 FF); false when there is none yet. */
  private findStart(): boolean {
    let i = this.buffer.indexOf(0xff);
    while (i >= 0) {
      if (i + 2 >= this.buffer.length) break; // maybe an SOI split across chunks
      if (this.buffer[i + 1] === SOI && this.buffer[i + 2] === 0xff) {
        this.skippedBytes += i;
        this.buffer = this.buffer.subarray(i);
        this.pos = 2;
        this.started = true;
        return true;
      }
      i = this.buffer.indexOf(0xff, i + 1);
    }
    const keep = i >= 0 ? this.buffer.length - i : 0;
    this.skippedBytes += this.buffer.length - keep;
    this.buffer = this.buffer.subarray(this.buffer.length - keep);
    return false;
  }

  /** The index after this frame's EOI, or -1 when more bytes are needed. */
  private scan(): number {
    const buf = this.buffer;
    for (;;) {
      if (this.inScan) {
        // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), a restart marker or a fill byte.
        for (;;) {
          const i = buf.indexOf(0xff, this.pos);
          if (i < 0 || i + 1 >= buf.length) {
            this.pos = i < 0 ? buf.length : i;
            return -1;
          }
          const next = buf[i + 1];
          if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) this.pos = i + 2;
          else if (next === 0xff) this.pos = i + 1;
          else {
            this.pos = i;
            this.inScan = false;
            break;
          }
        }
      }
      const i = this.pos;
      if (i + 1 >= buf.length) return -1;
      if (buf[i] !== 0xff) {
        // Not well-formed: fall back to the first EOI.
        const eoi = buf.indexOf(Buffer.from([0xff, EOI]), i);
        return eoi < 0 ? -1 : eoi + 2;
      }
      const marker = buf[i + 1];
      if (marker === 0xff) {
        this.pos = i + 1;
        continue;
      }
      if (marker === EOI) return i + 2;
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        this.pos = i + 2;
        continue;
      }
      if (i + 3 >= buf.length) return -1;
      this.pos = i + 2 + buf.readUInt16BE(i + 2);
      if (marker === SOS) this.inScan = true;
    }
  }
}

export interface ImageSize {
  width: number;
  height: number;
}

/** The frame size from a JPEG's SOF header (any SOF: baseline, progressive, ...), or null when it has none. */
export function jpegSize(jpeg: Buffer): ImageSize | null {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== SOI) return null;
  let i = 2;
  while (i + 3 < jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === SOS || marker === EOI) return null;
    const length = jpeg.readUInt16BE(i + 2);
    // SOF0..SOF15, but not DHT (C4), JPG (C8) or DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 8 >= jpeg.length) return null;
      return { height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return null;
}

/**
 * Whether a JPEG carries its Huffman tables (a DHT segment before its first scan). Many UVC grabbers send
 * MJPEG frames without them (the decoder is meant to use the standard tables), which image libraries
 * refuse: such a stream has to be re-encoded rather than passed through.
 */
export function jpegHasHuffmanTables(jpeg: Buffer): boolean {
  let i = 2;
  while (i + 3 < jpeg.length) {
    if (jpeg[i] !== 0xff) return false;
    const marker = jpeg[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xc4) return true;
    if (marker === SOS || marker === EOI) return false;
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  return false;
}
