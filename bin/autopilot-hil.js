#!/usr/bin/env node
// The package's command. It runs the TypeScript sources directly (tsx), so there is no build step to forget.
import { register } from 'tsx/esm/api';
register();
await import('../agent/cli.ts');
