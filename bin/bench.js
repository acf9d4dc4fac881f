#!/usr/bin/env node
// `npm run bench`: runs the TypeScript bench directly (tsx), like the package's command.
import { register } from 'tsx/esm/api';
register();
await import('../bench/run.ts');
