/**
 * @ocidx/cli: the `ocidx` command as a library: its command tree and runner, help, exit codes, output
 * formats and the services it runs on. The executable, the npm bin `bin/ocidx`, is a shell launcher that runs
 * the ESM bundle `bin/ocidx.mjs` (`bin.ts`), which runs the plain command lines of ls, get, put, verify, gc and
 * blob put on the fast path (`FastPath.ts`) and everything else through `main.ts`; both meet the process in
 * `Process.ts`, the one module that touches it.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as CliError from "./CliError.js"
export * as ExitCode from "./ExitCode.js"
export * as Flags from "./Flags.js"
export * as Help from "./Help.js"
export * as Output from "./Output.js"
export * as Progress from "./Progress.js"
export * as Stdio from "./Stdio.js"
export * as Store from "./Store.js"
