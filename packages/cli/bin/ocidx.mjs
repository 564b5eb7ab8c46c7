#!/usr/bin/env node
// The published entry point: the esbuild bundle starts several times faster than the tsc output.
import "../dist/ocidx.mjs"
