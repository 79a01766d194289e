'use strict'
// `dynpack pack`: `npm pack --ignore-scripts` for one or many dist-dynamic
// folders at once, with npm's output (file names, or `--json`), and the
// dynamic-plugins.yaml entries for serving the tarballs over HTTP.

const fs = require('node:fs')
const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, formatBytes, displayPath, json } = require('./report.js')
const { readManifest, findAppConfig, resolveFolders } = require('../folders.js')
const { pluginsYaml, parseAppConfig } = require('../yaml.js')
const { EXPORT_OPTIONS, exportUsage, cliExport } = require('./export-step.js')

const OPTIONS = {
  'pack-destination': { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  catalog: { type: 'string' },
  enable: { type: 'boolean' },
  fast: { type: 'boolean' },
  'base-url': { type: 'string' },
  sbom: { type: 'boolean' },
  ...EXPORT_OPTIONS,
}

const usage = `Usage: dynpack pack [DIR...] [--pack-destination DIR] [--json] [--dry-run] [--fast]
                    [--base-url URL] [--sbom]

Packs each DIR (default: the current folder) exactly as \`npm pack
--ignore-scripts\` does: same files, same bytes, same integrity. DIR is a
dist-dynamic folder, a plugin folder holding dist-dynamic/ (that is packed,
with a note), a monorepo root (every exported plugin workspace), or any
other package folder (packed as it is). Folders are packed in parallel. Prints each file name on stdout, as
npm does, and its integrity (the \`integrity:\` of dynamic-plugins.yaml) on
stderr. Lifecycle scripts are never run.

Options:
      --pack-destination DIR  write the .tgz files to DIR (created if missing;
                              default: the current folder)
      --json                  print npm's \`npm pack --json\` array instead (same
                              objects; with --base-url each also has "package")
      --dry-run               compute everything, write nothing
      --fast                  gzip on all cores: deterministic, but not npm's
                              bytes, so the integrity differs from npm's
      --base-url URL          also print the dynamic-plugins.yaml entries
                              (package: URL/<file>, integrity) for serving the
                              destination folder over HTTP
      --catalog DIR           with --base-url: write the RHDH Extensions catalog
                              entities of the tarballs into DIR (merged with
                              what is there) and DIR/dynamic-plugins.default.yaml
                              (docs/extensions-catalog.md)
      --enable                with --catalog: list the plugins enabled there
      --sbom                  also write <file>.tgz.cdx.json beside each tarball:
                              the CycloneDX 1.6 SBOM of the packed files
                              (SOURCE_DATE_EPOCH sets its timestamp)
${exportUsage(30)}
  -q, --quiet                 no notes on stderr
      --verbose               list each tarball's contents on stderr, like npm
  -h, --help                  show this help

Exit status: 0 on success, 1 when a folder could not be packed, 2 on a usage error.`

/**
 * The file the tgz of a manifest is written under. The rule is src/pack.rs's
 * tarball_file_name (every `/` and `\` made `-`), called through the addon:
 * the `filename` npm reports replaces only the first `/`, so it is not the
 * file on disk for names such as `@x/a/b` or `a\b`.
 */
function tarballFileName (m) {
  return require('../api.js')._native.tarballFileName(String(m.name), String(m.version))
}

function parseBaseUrl (value) {
  let url
  try {
    url = new URL(value)
  } catch {
    throw usageError(`--base-url ${JSON.stringify(value)} is not an absolute URL (e.g. http://plugin-registry:8080)`, 'pack')
  }
  if (url.search || url.hash) throw usageError(`--base-url ${JSON.stringify(value)} must not have a query or a fragment`, 'pack')
  return url.href.replace(/\/+$/, '')
}

/** `<base>/<file>` with the file name percent-encoded where a URL path needs it. */
function fileUrl (base, filename) {
  return `${base}/${encodeURIComponent(filename).replace(/%2B/g, '+')}`
}

async function run (argv, io) {
  const { values, positionals } = parse('pack', argv, OPTIONS)
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const baseUrl = values['base-url'] !== undefined ? parseBaseUrl(values['base-url']) : null
  await cliExport(values, positionals.length ? positionals : ['.'], { cwd, report, signal: io.signal, env: io.env, command: 'pack' })
  const folders = resolveFolders(positionals.length ? positionals : ['.'], { cwd, note: (t) => report.note(t), allowStale: Boolean(values['allow-stale']), warn: (t) => report.warn(t) })
  const dirs = folders.map((f) => f.dir)
  if (values.catalog !== undefined && baseUrl === null) throw usageError('--catalog needs --base-url URL: the catalog names the URL RHDH downloads each tarball from', 'pack')
  const catalog = require('./catalog-options.js').cliCatalog(values, { cwd, command: 'pack', plugins: folders })
  const destination = path.resolve(cwd, values['pack-destination'] ?? '.')

  // Two folders writing the same file name would overwrite each other.
  const names = new Map()
  for (const dir of dirs) {
    const m = readManifest(path.join(dir, 'package.json'))
    if (!m || typeof m.name !== 'string' || typeof m.version !== 'string') continue
    const f = tarballFileName(m)
    if (names.has(f)) throw usageError(`${names.get(f)} and ${dir} both pack to ${f}`, 'pack')
    names.set(f, dir)
  }
  if (!values['dry-run'] && values['pack-destination'] !== undefined) {
    try {
      fs.mkdirSync(destination, { recursive: true })
    } catch (err) {
      const e = new Error(`${destination}: cannot create the destination (${err.message}); pass a writable folder to --pack-destination`)
      e.code = 'E_DESTINATION'
      throw e
    }
  }

  // The app-configs printed with --base-url are checked before anything is written.
  const configs = baseUrl === null ? [] : folders.map(({ dir, source }) => {
    const appConfig = findAppConfig(source ?? dir)
    return appConfig && parseAppConfig(appConfig.yaml, appConfig.file)
  })
  const api = require('../api.js')
  const options = { destination, dryRun: Boolean(values['dry-run']), compression: values.fast ? 'fast' : 'npm', signal: io.signal }
  if (values.sbom) options.sbom = true
  const live = report.liveProgress()
  const results = await Promise.all(folders.map(async ({ dir, source }) => {
    const r = await api.packDynamic(dir, { ...options, onProgress: live.callback(displayPath(cwd, source ?? dir)) })
    report.progress(`packed ${r.id}: ${r.entryCount} files, ${formatBytes(r.unpackedSize)} -> ${r.filename} (${formatBytes(r.size)})`)
    return r
  })).finally(() => live.end())

  for (const r of results) report.detail(npmNotice(r))

  const reports = results.map(({ path: _written, ...r }) => {
    if (baseUrl) r.package = fileUrl(baseUrl, tarballFileName(r))
    return r
  })
  const catalogReport = catalog && await catalog.finish(folders.map((f, i) => ({ ...f, dynamicArtifact: reports[i].package, integrity: reports[i].integrity })), { report, json: values.json })
  if (values.json) {
    io.stdout.write(json(reports))
    if (catalogReport) catalogReport.print()
    return 0
  }
  report.out(results.map((r) => r.filename).join('\n'))
  // What dynamic-plugins.yaml needs beside each tarball; stdout keeps npm's file names for scripts.
  if (!baseUrl) {
    const width = Math.max(...results.map((r) => r.filename.length))
    for (const r of results) report.note(`${r.filename.padEnd(width)}  integrity: ${r.integrity}`)
  }
  for (const r of results) if (r.sbom) report.note(`wrote the SBOM ${displayPath(cwd, r.sbom)}`)
  if (baseUrl) {
    const entries = reports.map((r, i) => ({ package: r.package, integrity: r.integrity, pluginConfig: configs[i] }))
    report.out(`\n# dynamic-plugins.yaml entries, once ${displayPath(cwd, destination)} is served at ${baseUrl}/:\n` + pluginsYaml(entries))
  }
  if (catalogReport) catalogReport.print()
  return 0
}

/** The "Tarball Contents/Details" summary npm prints on stderr. */
function npmNotice (r) {
  const lines = [`📦  ${r.id}`, 'Tarball Contents']
  for (const f of r.files) {
    if (!f.path.startsWith('node_modules/')) lines.push(`${formatBytes(f.size).padEnd(8)} ${f.path}`)
  }
  if (r.bundled.length) lines.push('Bundled Dependencies', ...r.bundled)
  lines.push('Tarball Details',
    `name: ${r.name}`,
    `version: ${r.version}`,
    `filename: ${r.filename}`,
    `package size: ${formatBytes(r.size)}`,
    `unpacked size: ${formatBytes(r.unpackedSize)}`,
    `shasum: ${r.shasum}`,
    `integrity: ${r.integrity}`,
    `bundled deps: ${r.bundled.length}`,
    `total files: ${r.entryCount}`)
  return lines.map((l) => `dynpack: ${l}`).join('\n')
}

module.exports = { name: 'pack', summary: '`npm pack` for dist-dynamic folders, byte for byte, in parallel', usage, run }
