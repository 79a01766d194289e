'use strict'
// Exporting plugin sources into dynamic plugins (the CLI's --export): finding
// the exporter, running it in each plugin folder, checking what it wrote.
// Which export is stale is lib/folders.js's rule. Library code: it requires
// nothing from the CLI. The exporter is always one
// the repository installed (rhdh-cli, janus-cli) or the command the user
// gave; nothing is downloaded.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { dynpackError: fail } = require('./errors.js')
const folders = require('./folders.js')

/** The exporters looked for in node_modules/.bin, in this order. */
const EXPORTERS = [
  { bin: 'rhdh-cli', args: ['plugin', 'export'], pkg: '@red-hat-developer-hub/cli' },
  { bin: 'janus-cli', args: ['package', 'export-dynamic-plugin'], pkg: '@janus-idp/cli' },
]

/** Lines of a failed exporter's log printed in E_EXPORT_FAILED. */
const LOG_TAIL_LINES = 20

/** How long an exporter may take to stop after SIGTERM before it is killed. */
const KILL_GRACE_MS = 5000

/**
 * How many exports run at once by default: webpack builds take about 2 GiB
 * and a core each, so one per core and per 2 GiB of memory, at least one.
 */
function defaultJobs () {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  return Math.max(1, Math.min(cores, Math.floor(os.totalmem() / (2 * 1024 ** 3))))
}

/** `node_modules/.bin` folders from `dir` up to the file system root, nearest first, as npm and yarn find bins. */
function binDirs (dir) {
  const out = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const bin = path.join(d, 'node_modules', '.bin')
    if (isDir(bin)) out.push(bin)
    if (path.dirname(d) === d) return out
  }
}

function isDir (p) {
  try { return fs.statSync(p).isDirectory() } catch { return false }
}

function isExecutable (file) {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * The exporter to run in `pluginDir`: `command` (a shell command line, run
 * with the repository's node_modules/.bin folders on PATH, as a package
 * script would) when given, else the repository's rhdh-cli, else janus-cli.
 * Resolves `{ label, argv, path }`; E_NO_EXPORTER says how to add one.
 */
function findExporter (pluginDir, command) {
  const bins = binDirs(pluginDir)
  const PATH = [...bins, process.env.PATH ?? ''].join(path.delimiter)
  if (command !== undefined) {
    if (typeof command !== 'string' || command.trim() === '') throw fail('E_INVALID_OPTION', 'the exporter must be a command line, e.g. \'backstage-cli package bundle\'')
    return { label: command, argv: ['/bin/sh', '-c', command], path: PATH }
  }
  for (const e of EXPORTERS) {
    for (const dir of bins) {
      const file = path.join(dir, e.bin)
      if (isExecutable(file)) return { label: `${e.bin} ${e.args.join(' ')}`, argv: [file, ...e.args], path: PATH }
    }
  }
  throw fail('E_NO_EXPORTER',
    `${pluginDir}: no exporter installed (looked for ${EXPORTERS.map((e) => e.bin).join(' and ')} in node_modules/.bin from there up); ` +
    `add one to the repository (\`npm install --save-dev ${EXPORTERS[0].pkg}\` or \`yarn add -D ${EXPORTERS[0].pkg}\` at its root), ` +
    'or name another with --exporter \'CMD …\' (e.g. --exporter \'backstage-cli package bundle\')')
}

/** The last `n` lines of a log file. */
function logTail (file, n = LOG_TAIL_LINES) {
  let text
  try { text = fs.readFileSync(file, 'utf8') } catch { return '' }
  return text.replace(/\s+$/, '').split('\n').slice(-n).join('\n')
}

/**
 * Runs the exporter in each plugin folder, `jobs` at a time, each one's
 * output (stdout and stderr) in `<logDir>/<n>-<folder name>.log`. A plugin
 * whose exporter exits non-zero, or exits 0 without writing an export
 * (`exported(source)` returning null), fails with E_EXPORT_FAILED naming the
 * plugin, its log and the log's tail; the others still run. On `signal`'s
 * abort every running exporter's process group gets SIGTERM (SIGKILL after
 * 5 s) and the call rejects with E_ABORTED once they are gone.
 * Resolves `[{ source, ok, ms, log, error }]` in the order given.
 */
async function runExports (sources, { command, jobs = defaultJobs(), signal, env = process.env, exported, onStart = () => {}, onDone = () => {} } = {}) {
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw fail('E_INVALID_OPTION', `jobs must be a whole number of at least 1, not ${jobs}`)
  if (signal?.aborted) throw fail('E_ABORTED', 'the operation was aborted')
  // Found before any export starts: a missing exporter fails the run, not each plugin.
  const plans = sources.map((source) => ({ source, exporter: findExporter(source, command) }))
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-export-'))
  const results = new Array(plans.length)
  const running = new Set()
  const onAbort = () => { for (const child of running) stop(child) }
  signal?.addEventListener('abort', onAbort, { once: true })
  let next = 0
  const worker = async () => {
    while (next < plans.length && !signal?.aborted) {
      const i = next++
      const { source, exporter } = plans[i]
      const log = path.join(logDir, `${i + 1}-${path.basename(source)}.log`)
      onStart({ source, exporter: exporter.label, index: i, total: plans.length })
      const started = Date.now()
      const status = await runOne(exporter, source, log, env, running)
      const ms = Date.now() - started
      let error = null
      if (signal?.aborted) error = fail('E_ABORTED', 'the operation was aborted')
      else if (status.error) error = exportFailed(source, exporter, log, `could not be started (${status.error.message})`)
      else if (status.code !== 0) error = exportFailed(source, exporter, log, status.signal ? `was killed by ${status.signal}` : `exited with status ${status.code}`)
      else if (exported && !exported(source)) error = exportFailed(source, exporter, log, 'exited 0 but wrote no dist-dynamic/package.json (nor a bundle/ with .bundle-output)')
      results[i] = { source, ok: !error, ms, log, error }
      onDone(results[i])
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, plans.length) }, worker))
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (signal?.aborted) throw fail('E_ABORTED', 'the operation was aborted')
  // The logs of a run where every export succeeded are of no use; failed ones stay for reading.
  if (results.every((r) => r.ok)) fs.rmSync(logDir, { recursive: true, force: true })
  return results
}

function exportFailed (source, exporter, log, what) {
  const tail = logTail(log)
  const e = fail('E_EXPORT_FAILED',
    `${source}: the export (\`${exporter.label}\`) ${what}; its output is in ${log}` +
    (tail ? `, which ends with:\n${tail.split('\n').map((l) => '  ' + l).join('\n')}` : ' (empty)'))
  e.plugin = source
  e.log = log
  return e
}

/** Runs one exporter in its own process group; resolves `{ code, signal, error }`. */
function runOne (exporter, cwd, log, env, running) {
  return new Promise((resolve) => {
    const fd = fs.openSync(log, 'w')
    let child
    try {
      child = spawn(exporter.argv[0], exporter.argv.slice(1), {
        cwd,
        env: { ...env, PATH: exporter.path },
        stdio: ['ignore', fd, fd],
        // Its own process group: stop() then reaches webpack's workers and anything else it started.
        detached: process.platform !== 'win32',
      })
    } catch (error) {
      fs.closeSync(fd)
      resolve({ error })
      return
    }
    running.add(child)
    let done = false
    const finish = (result) => {
      if (done) return
      done = true
      running.delete(child)
      clearTimeout(child.dynpackKill)
      fs.closeSync(fd)
      resolve(result)
    }
    child.on('error', (error) => finish({ error }))
    child.on('exit', (code, sig) => finish({ code, signal: sig }))
  })
}

/** SIGTERM to an exporter's process group, SIGKILL if it is still there after KILL_GRACE_MS. */
function stop (child) {
  const kill = (sig) => {
    try {
      if (process.platform !== 'win32') process.kill(-child.pid, sig)
      else child.kill(sig)
    } catch {}
  }
  kill('SIGTERM')
  child.dynpackKill = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS)
  child.dynpackKill.unref?.()
}

/**
 * The plugin source folders among the DIRs a command was given: a plugin
 * folder (a plugin backstage.role, with or without its export), or each
 * plugin workspace of a monorepo root. Artifact folders and other packages
 * have none: there is nothing to export there.
 */
function pluginSources (dirs, cwd = process.cwd()) {
  const { readManifest, classifyFolder, expandWorkspaces, workspacePatterns, PLUGIN_ROLES } = folders
  const out = new Set()
  const manifestOf = (dir) => { try { return readManifest(path.join(dir, 'package.json')) } catch { return null } }
  for (const d of dirs) {
    const abs = path.resolve(cwd, d)
    if (!isDir(abs)) continue
    const manifest = manifestOf(abs)
    if (manifest && manifest.workspaces !== undefined) {
      const workspaces = expandWorkspaces(abs, workspacePatterns(manifest.workspaces, path.join(abs, 'package.json')))
        .map((ws) => ({ ws, role: manifestOf(ws)?.backstage?.role }))
      if (workspaces.some((w) => w.role !== undefined)) {
        for (const w of workspaces) if (PLUGIN_ROLES.has(w.role)) out.add(w.ws)
        continue
      }
    }
    const { kind } = classifyFolder(abs, manifest)
    if (kind === 'plugin' || kind === 'source') out.add(abs)
  }
  return [...out]
}

/**
 * `--export` / `--force-export` of the commands: exports the plugins of
 * `dirs` whose export is missing or stale (every one with `force`), by
 * {@link runExports}. Resolves `{ sources, exported: [{ source, ms }] }`;
 * rejects with E_EXPORT_FAILED (every failed plugin named, with its log's
 * tail) when an export failed, once all have finished.
 */
async function exportPlugins (dirs, { cwd = process.cwd(), force = false, command, jobs, signal, env, onStart, onDone } = {}) {
  const { exportedFolder, staleness } = folders
  const sources = pluginSources(dirs, cwd)
  const todo = force
    ? sources
    : sources.filter((s) => {
      const artifact = exportedFolder(s)
      if (!artifact) return true
      const found = staleness(s, artifact)
      return Boolean(found.versions || found.newer)
    })
  if (todo.length === 0) return { sources, exported: [] }
  const started = new Map()
  const results = await runExports(todo, {
    command,
    jobs,
    signal,
    env,
    onStart: (e) => { started.set(e.source, Date.now()); if (onStart) onStart(e) },
    onDone,
    // An export counts when written by this run (a few ms of clock granularity allowed).
    exported: (source) => {
      const artifact = exportedFolder(source)
      if (!artifact) return false
      try { return fs.statSync(path.join(artifact, 'package.json')).mtimeMs >= started.get(source) - 50 } catch { return false }
    },
  })
  const failed = results.filter((r) => !r.ok)
  if (failed.length === 1) throw failed[0].error
  if (failed.length > 1) {
    const e = fail('E_EXPORT_FAILED', `${failed.length} of ${results.length} exports failed:\n` + failed.map((f) => f.error.message).join('\n'))
    e.plugins = failed.map((f) => f.source)
    throw e
  }
  return { sources, exported: results.map((r) => ({ source: r.source, ms: r.ms })) }
}

module.exports = { EXPORTERS, exportPlugins, pluginSources, defaultJobs, findExporter, runExports, binDirs }
