/**
 * What `ocidx` prints for `--help` and for usage errors: @effect/cli's help pages and messages, with usage
 * lines that name the whole command (`ocidx blob put ...`, where @effect/cli prints `$ put ...`), and ANSI
 * styles only for a terminal that wants them (a pipe, a file, or `NO_COLOR` get plain text).
 *
 * @since 0.1.0
 */
import type * as CliConfig from "@effect/cli/CliConfig"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as Doc from "@effect/printer/Doc"
import * as AnsiDoc from "@effect/printer-ansi/AnsiDoc"
import * as Option from "effect/Option"

/**
 * A command and the subcommands it dispatches to, by name.
 *
 * @since 0.1.0
 * @category model
 */
export interface CommandTree {
  readonly name: string
  readonly descriptor: CommandDescriptor.Command<unknown>
  readonly subcommands: ReadonlyArray<CommandTree>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const tree = (
  descriptor: CommandDescriptor.Command<unknown>,
  subcommands: ReadonlyArray<CommandTree> = []
): CommandTree => {
  const [name = ""] = CommandDescriptor.getNames(descriptor)
  return { name, descriptor, subcommands }
}

/**
 * Where a command line leads: the commands it names, from the root down, and the first word that names no
 * command where one was expected (`frob` in `ocidx frob --help`).
 *
 * @since 0.1.0
 * @category model
 */
export interface Located {
  readonly path: readonly [CommandTree, ...Array<CommandTree>]
  readonly unknown: Option.Option<string>
}

// Options accepted before a subcommand's name that take a value: the global lock timeout and @effect/cli's
// built-ins. Their values are not command names.
const optionsWithValue = new Set(["--lock-timeout", "--log-level", "--completions"])

/**
 * Follows `args` (without the executable) down `root`'s subcommands.
 *
 * @since 0.1.0
 * @category parsing
 */
export const locate = (root: CommandTree, args: ReadonlyArray<string>): Located => {
  const path: [CommandTree, ...Array<CommandTree>] = [root]
  let current = root
  for (let i = 0; i < args.length && current.subcommands.length > 0; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") break
    if (arg.startsWith("-")) {
      if (optionsWithValue.has(arg)) i++
      continue
    }
    const next = current.subcommands.find((subcommand) => subcommand.name === arg)
    if (next === undefined) return { path, unknown: Option.some(arg) }
    path.push(next)
    current = next
  }
  return { path, unknown: Option.none() }
}

const commandLine = (path: ReadonlyArray<CommandTree>): string => path.map((command) => command.name).join(" ")

/**
 * The message for a word that names no command, and what to run instead.
 *
 * @since 0.1.0
 * @category rendering
 */
export const unknownCommand = (located: Located, word: string): string => {
  const parent = commandLine(located.path)
  const named = located.path.length === 1 ? word : `${commandLine(located.path.slice(1))} ${word}`
  return `unknown command '${named}'; run '${parent} --help' to see the commands`
}

/**
 * The help page of the last command on `path`, as @effect/cli lays it out, with usage lines that start with
 * the full command (`ocidx blob put`).
 *
 * @since 0.1.0
 * @category rendering
 */
export const page = (
  path: Located["path"],
  options: { readonly version: string; readonly config: CliConfig.CliConfig }
): HelpDoc.HelpDoc => {
  const [root] = path
  const command = path[path.length - 1] ?? root
  // getUsage starts with the command's own name: the commands above it come first.
  const prefix = path.length > 1 ? `${commandLine(path.slice(0, -1))} ` : ""
  const usage = Usage.enumerate(CommandDescriptor.getUsage(command.descriptor), options.config).reduce(
    (lines, line) => HelpDoc.sequence(lines, HelpDoc.p(Span.concat(Span.text(prefix), line))),
    HelpDoc.empty
  )
  return HelpDoc.blocks([
    HelpDoc.h1(Span.code(root.name)),
    HelpDoc.p(`${root.name} ${options.version}`),
    HelpDoc.sequence(HelpDoc.h1("USAGE"), usage),
    CommandDescriptor.getHelp(command.descriptor, options.config)
  ])
}

/**
 * Lays out a help page or message, with its styles as ANSI escapes when `colors`, as plain text otherwise.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (doc: HelpDoc.HelpDoc, colors: boolean): string => {
  const styled = HelpDoc.toAnsiDoc(doc)
  return colors ? AnsiDoc.render(styled, { style: "pretty" }) : Doc.render(Doc.unAnnotate(styled), { style: "pretty" })
}
