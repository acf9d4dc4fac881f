#!/usr/bin/env node
// The virtual device as its own program (`autopilot-hil sim` runs it). TypeScript runs directly through tsx.
import { register } from 'tsx/esm/api';
register();
await import('../sim/cli.ts');
