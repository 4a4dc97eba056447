#!/usr/bin/env node
// Runs a TypeScript entry point of this project (bench, scratch scripts).
import { registerTypeScript } from './typescript.js';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

registerTypeScript();
const [entry, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...rest];
await import(pathToFileURL(resolve(entry)).href);
