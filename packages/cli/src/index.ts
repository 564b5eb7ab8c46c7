/**
 * @ocidx/cli: the `ocidx` command as a library: its command tree and runner, exit codes, output formats
 * and the services it runs on. The executable is `bin/ocidx.mjs`.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as CliError from "./CliError.js"
export * as ExitCode from "./ExitCode.js"
export * as Flags from "./Flags.js"
export * as Output from "./Output.js"
export * as Progress from "./Progress.js"
export * as Stdio from "./Stdio.js"
export * as Store from "./Store.js"
