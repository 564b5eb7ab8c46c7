#!/usr/bin/env node
// The ESM entry point, which bin/ocidx (the npm bin) runs: the esbuild bundle starts several times faster than
// the tsc output.
import "../dist/ocidx.mjs"
