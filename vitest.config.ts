import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: end-to-end files each start a virtual device and OCR workers; keep them from fighting.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
