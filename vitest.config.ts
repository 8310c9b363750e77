import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not the build output. Exact matches, so that
    // '@tlog/client' does not also capture '@tlog/client/node'.
    alias: [
      { find: /^@tlog\/merkle$/, replacement: src('merkle/src/index.ts') },
      { find: /^@tlog\/server$/, replacement: src('server/src/index.ts') },
      { find: /^@tlog\/client$/, replacement: src('client/src/index.ts') },
      { find: /^@tlog\/client\/node$/, replacement: src('client/src/node.ts') },
      { find: /^@tlog\/files$/, replacement: src('files/src/index.ts') },
      { find: /^@tlog\/events$/, replacement: src('events/src/index.ts') },
      { find: /^@tlog\/witness$/, replacement: src('witness/src/index.ts') },
      { find: /^@tlog\/witness\/node$/, replacement: src('witness/src/node.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
