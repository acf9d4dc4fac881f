#!/usr/bin/env node
// Runs one TypeScript file of the project (used by npm scripts such as `npm run bench`).
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
register();
const file = process.argv[2];
if (!file) { console.error('usage: run-ts.js FILE.ts [args...]'); process.exit(64); }
process.argv.splice(2, 1);
await import(pathToFileURL(resolve(file)).href);
