'use strict'
// The `dynpack` dispatcher. Every module `lib/cli/<command>.js` that exports
// `{ name, summary, usage, run(args, io) }` is a subcommand; other modules
// (helpers) export no `run` and are ignored. A command module that fails to
// load only breaks its own command.
//
// Contract for `run(args, io)`: `args` are the arguments after the
// subcommand; `io` is `{ stdout, stderr, cwd, env, isTTY, signal }`. It
// resolves to an exit status (0 on success). To fail it throws an Error with
// a `code`: the dispatcher prints `dynpack: <code>: <message>` on stderr and
// exits 1, or 2 for `E_USAGE`. `--help` is handled here, before `run`.

const fs = require('node:fs')
const path = require('node:path')
const { errnoCode } = require('../read-input.js')
const { escapeControls } = require('./report.js')

/** Commands listed first in `dynpack --help`; others follow alphabetically. */
const ORDER = ['package', 'pack', 'integrity', 'verify']

function version () {
  return require('../../package.json').version
}

/** Loads `lib/cli/<name>.js` if it is a command module; throws its load error. */
function loadCommand (name) {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return null
  const file = path.join(__dirname, `${name}.js`)
  if (!fs.existsSync(file)) return null
  const mod = require(file)
  return mod && typeof mod.run === 'function' && mod.name === name ? mod : null
}

/** Every loadable command module, in help order, and the files that failed to load. */
function allCommands () {
  const commands = []
  const broken = []
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.js')).sort()) {
    try {
      const mod = loadCommand(f.slice(0, -3))
      if (mod) commands.push(mod)
    } catch (err) {
      broken.push({ file: f, error: err })
    }
  }
  const rank = (c) => (ORDER.includes(c.name) ? ORDER.indexOf(c.name) : ORDER.length)
  commands.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
  return { commands, broken }
}

function generalHelp (verbose) {
  const { commands, broken } = allCommands()
  const width = Math.max(...commands.map((c) => c.name.length))
  const lines = [
    'Usage: dynpack <command> [options]',
    '',
    'Packages Backstage dynamic plugins for Red Hat Developer Hub: npm-identical',
    'tarballs with their integrity, and OCI images without podman or docker.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `dynpack <command> --help` for its options.',
    '',
    'Options:',
    '  -h, --help      show this help',
    '  -V, --version   print the version',
  ]
  if (verbose) for (const b of broken) lines.push('', `(lib/cli/${b.file} failed to load: ${b.error.message})`)
  return lines.join('\n') + '\n'
}

/** The arguments before a `--` terminator, where --help and --verbose count. */
function optionArgs (args) {
  const end = args.indexOf('--')
  return end < 0 ? args : args.slice(0, end)
}

function exitStatus (code) {
  return code === 'E_USAGE' ? 2 : 1
}

/** Turns whatever a command threw into `{code, message}` for the one stderr line. */
function describe (err) {
  if (err && typeof err.code === 'string' && /^E_[A-Z0-9_]+$/.test(err.code)) return { code: err.code, message: err.message }
  if (err && err.syscall && err.code) {
    return { code: errnoCode(err), message: `${err.path ?? err.syscall}: ${err.message}` }
  }
  const message = err && err.message ? err.message : String(err)
  if (/native binding|\.node\b/.test(message)) {
    return { code: 'E_NO_ADDON', message: `the dynpack native addon could not be loaded (${message.split('\n')[0]}); reinstall dynpack, or run \`npm run build\` in a source checkout` }
  }
  return { code: 'E_INTERNAL', message: `${message}; this is a bug in dynpack, please report it with the output of --verbose` }
}

/**
 * Runs the command line `argv` (without `node` and the script) with `io`
 * and resolves to the exit status. Never throws.
 */
async function main (argv, io) {
  const verbose = optionArgs(argv).includes('--verbose')
  try {
    const [first, ...rest] = argv
    if (first === undefined) {
      io.stderr.write(generalHelp(false))
      return 2
    }
    if (first === '--version' || first === '-V') {
      io.stdout.write(version() + '\n')
      return 0
    }
    if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
      io.stdout.write(generalHelp(verbose))
      return 0
    }
    if (first === 'help') return main([rest[0], '--help'], io)
    if (first.startsWith('-')) {
      throw usage(`unknown option ${first}; options go after the command`)
    }
    const command = loadCommand(first)
    if (!command) {
      const names = allCommands().commands.map((c) => c.name)
      const guess = require('./args.js').closest(first, names)
      throw usage(`unknown command ${JSON.stringify(first)}${guess ? `; did you mean \`dynpack ${guess}\`?` : ''}; the commands are ${names.join(', ')}`)
    }
    const opts = optionArgs(rest)
    if (opts.includes('--help') || opts.includes('-h')) {
      io.stdout.write(command.usage.replace(/\n?$/, '\n'))
      return 0
    }
    const status = await command.run(rest, io)
    return Number.isInteger(status) ? status : 0
  } catch (err) {
    const { code, message } = describe(err)
    // The message may quote an input (a file or entry name): shown inert.
    io.stderr.write(`dynpack: ${code}: ${escapeControls(message.replace(/\s*\n\s*/g, ' '))}\n`)
    if (verbose && code !== 'E_USAGE' && err && err.stack) io.stderr.write(err.stack + '\n')
    return exitStatus(code)
  }
}

function usage (message) {
  const e = new Error(message + '; see `dynpack --help`')
  e.code = 'E_USAGE'
  return e
}

module.exports = { main, allCommands, loadCommand }
