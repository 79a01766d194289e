'use strict'
// The export step of \`package\`, \`pack\` and \`publish\` (--export,
// --force-export, --exporter, --jobs, --allow-stale): options, help lines,
// and the run before the command resolves its DIRs (lib/export.js does the work).

const path = require('node:path')
const { usageError } = require('./args.js')

/** The options `package`, `pack` and `publish` take for exporting (util.parseArgs format). */
const EXPORT_OPTIONS = {
  export: { type: 'boolean' },
  'force-export': { type: 'boolean' },
  exporter: { type: 'string' },
  jobs: { type: 'string' },
  'allow-stale': { type: 'boolean' },
}

/** Their lines in a command's --help, the descriptions starting at column `column`. */
function exportUsage (column) {
  const rows = [
    ['--export', 'first export the plugins whose dist-dynamic/ is missing or stale, with the repository\'s rhdh-cli (else janus-cli) from node_modules/.bin, in each plugin folder'],
    ['--force-export', 'export every plugin first (rhdh-cli\'s name)'],
    ['--exporter \'CMD ...\'', 'with --export: run CMD instead (a shell command, the repository\'s bins on PATH), e.g. \'backstage-cli package bundle\''],
    ['--jobs N', 'with --export: run N exports at once (default: one per core and per 2 GiB of memory)'],
    ['--allow-stale', 'package an export whose version differs from its plugin\'s package.json (E_STALE_EXPORT otherwise)'],
  ]
  const lines = []
  for (const [flag, text] of rows) {
    let line = ('      ' + flag).padEnd(column)
    if (line.length > column) { lines.push(line.trimEnd()); line = ' '.repeat(column) }
    for (const word of text.split(' ')) {
      if (line.length + word.length > 78 && line.trim().length > 0 && line.length > column) { lines.push(line.trimEnd()); line = ' '.repeat(column) }
      line += word + ' '
    }
    lines.push(line.trimEnd())
  }
  return lines.join('\n')
}

/**
 * The CLI's export step, run before the command resolves its DIRs:
 * nothing without --export/--force-export (and --exporter, --jobs refused
 * alone); else {@link exportPlugins} with progress lines on a terminal.
 */
async function cliExport (values, dirs, { cwd, report, signal, env, command }) {
  const asked = Boolean(values.export || values['force-export'])
  for (const flag of ['exporter', 'jobs']) {
    if (values[flag] !== undefined && !asked) throw usageError(`--${flag} needs --export (or --force-export)`, command)
  }
  if (!asked) return null
  let jobs
  if (values.jobs !== undefined) {
    if (!/^[1-9][0-9]{0,3}$/.test(values.jobs)) throw usageError(`--jobs ${JSON.stringify(values.jobs)}: expected a number of exports to run at once, e.g. 2`, command)
    jobs = Number(values.jobs)
  }
  const rel = (p) => path.relative(cwd, p) || '.'
  const result = await require('../export.js').exportPlugins(dirs, {
    cwd,
    force: Boolean(values['force-export']),
    command: values.exporter,
    jobs,
    signal,
    env,
    onStart: (e) => report.progress(`exporting ${rel(e.source)} (${e.index + 1}/${e.total}) with ${e.exporter}`),
    onDone: (r) => { if (r.ok) report.progress(`exported ${rel(r.source)} in ${(r.ms / 1000).toFixed(1)} s`) },
  })
  if (result.exported.length === 0 && result.sources.length > 0) report.note(`every export is up to date (${result.sources.length} plugin${result.sources.length === 1 ? '' : 's'}); --force-export exports them anyway`)
  return result
}

module.exports = { EXPORT_OPTIONS, exportUsage, cliExport }
