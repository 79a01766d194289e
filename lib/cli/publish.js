'use strict'
// `dynpack publish`: publishes dynamic plugins to a private npm registry, in
// parallel, each as the exact tarball `npm pack` makes, and prints what RHDH
// needs to install them: the dynamic-plugins.yaml entries and an .npmrc.

const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, json, displayPath } = require('./report.js')
const { findAppConfig, resolveFolders } = require('../folders.js')
const { pluginsYaml, parseAppConfig } = require('../yaml.js')
const { EXPORT_OPTIONS, exportUsage, cliExport } = require('./export-step.js')

const OPTIONS = {
  registry: { type: 'string' },
  tag: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'allow-public-registry': { type: 'boolean' },
  timeout: { type: 'string' },
  catalog: { type: 'string' },
  enable: { type: 'boolean' },
  ...EXPORT_OPTIONS,
}

/** How many plugins are published at once: each one runs an npm process. */
const CONCURRENCY = 4

const usage = `Usage: dynpack publish [DIR...] [--registry URL] [--tag DIST_TAG] [--dry-run] [--json]
                       [--allow-public-registry]

Publishes each DIR (default: the current folder; a dist-dynamic folder, a
plugin folder that contains dist-dynamic/, or a monorepo root: every exported
plugin workspace) to an npm registry: the very
tarball \`npm pack\` makes of it, so the integrity printed is the one the
registry serves. Uploading is done by \`npm publish\`, so logging in works as
with npm (\`npm login\`, \`//host/:_authToken=...\` in an .npmrc, environment).
Plugins are published in parallel; one failing does not stop the others.

The registry is --registry, else publishConfig.registry of
dist-dynamic/package.json, else npm's configuration in the dist-dynamic folder
(the scope's registry first). The public npm registry is refused: a dynamic
plugin is a run-time artifact for RHDH and belongs in a private registry or an
OCI image.

Prints the dynamic-plugins.yaml entries (package: <name>@<version>, integrity)
and the .npmrc RHDH's plugin installer needs to reach the registry.

Options:
      --registry URL            publish to URL
      --tag DIST_TAG            the dist-tag to publish under (default:
                                publishConfig.tag, else npm's \`tag\`, latest)
      --dry-run                 do everything but the upload (npm still checks
                                that the version is not taken)
      --json                    print a JSON array: one object per DIR, with
                                "ok" and either the result or "error"
      --allow-public-registry   allow registry.npmjs.org (or its mirrors)
      --timeout SECONDS         give up on a registry that does not answer
                                after SECONDS (default 120), with
                                E_PUBLISH_TIMEOUT; after 5 s a note says
                                what dynpack is waiting for
      --catalog DIR             write the RHDH Extensions catalog entities of
                                the published packages into DIR (merged with
                                what is there) and DIR/dynamic-plugins.default.yaml
                                (docs/extensions-catalog.md)
      --enable                  with --catalog: list the plugins enabled there
${exportUsage(32)}
  -q, --quiet                   no warnings or notes on stderr
      --verbose                 say where each registry setting came from
  -h, --help                    show this help

Exit status: 0 when every plugin was published, 1 when one was not, 2 on a
usage error. Errors: E_PUBLIC_REGISTRY, E_PUBLISH_AUTH (not logged in, wrong
token), E_PUBLISH_CONFLICT (the version exists), E_PUBLISH_FAILED.`

const REGISTRY_SOURCES = { option: '--registry', publishConfigScope: "publishConfig's scope registry", publishConfig: 'publishConfig.registry', npmConfig: "npm's configuration" }

/** Runs `fn` on every item with at most `limit` at once; resolves like Promise.allSettled, in order. */
async function settleAll (items, limit, fn) {
  const results = new Array(items.length)
  let next = 0
  async function worker () {
    while (next < items.length) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

async function run (argv, io) {
  const { values, positionals } = parse('publish', argv, OPTIONS)
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  await cliExport(values, positionals.length ? positionals : ['.'], { cwd, report, signal: io.signal, env: io.env, command: 'publish' })
  const dirs = resolveFolders(positionals.length ? positionals : ['.'], { cwd, note: (t) => report.note(t), allowStale: Boolean(values['allow-stale']), warn: (t) => report.warn(t) }).map((f) => f.dir)
  const dryRun = Boolean(values['dry-run'])
  const { _rhdhNpmrc: rhdhNpmrc, _locate: locatePlugin, _describeUrl: describeUrl } = require('../publish.js')
  if (values.registry !== undefined && !/^https?:\/\/[^/\s]+/i.test(values.registry)) {
    throw usageError(`--registry ${describeUrl(values.registry)}: expected an http(s) URL such as https://npm.example.com/`, 'publish')
  }
  if (values.tag !== undefined && !/^[^\s/@%][^\s/%]*$/.test(values.tag)) {
    throw usageError(`--tag ${JSON.stringify(values.tag)}: a dist-tag is one word such as latest, next or rc`, 'publish')
  }
  let timeout
  if (values.timeout !== undefined) {
    if (!/^[0-9]+$/.test(values.timeout) || Number(values.timeout) === 0) throw usageError(`--timeout ${JSON.stringify(values.timeout)}: expected a number of seconds such as 300`, 'publish')
    timeout = Number(values.timeout) * 1000
  }
  const { publishDynamic } = require('../api.js')
  const catalog = require('./catalog-options.js').cliCatalog(values, { cwd, command: 'publish', plugins: dirs.map((dir) => ({ dir })) })

  // The app-configs printed afterwards are checked before anything is published.
  const configs = new Map()
  for (const dir of dirs) {
    let located
    try { located = locatePlugin(dir) } catch { continue } // publishDynamic reports it
    const appConfig = findAppConfig(located.sourceDir)
    configs.set(located.distDir, appConfig && parseAppConfig(appConfig.yaml, appConfig.file))
  }

  const live = report.liveProgress()
  const settled = await settleAll(dirs, CONCURRENCY, async (dir) => {
    report.progress(`publishing ${dir}`)
    const r = await publishDynamic(dir, {
      registry: values.registry,
      tag: values.tag,
      dryRun,
      allowPublicRegistry: Boolean(values['allow-public-registry']),
      env: io.env ?? process.env,
      signal: io.signal,
      timeout,
      onProgress: live.callback(displayPath(cwd, dir)),
      onWait: (w) => report.note(`${w.package}: waiting for ${w.waitingFor} (giving up after ${w.timeout / 1000} s)`),
    })
    for (const w of r.warnings) report.warn(`${r.package}: ${w}`)
    report.detail(`dynpack: ${r.package}: registry ${r.registry} from ${REGISTRY_SOURCES[r.registrySource]}, tag ${r.tag}`)
    return r
  }).finally(() => live.end())

  const ok = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value)
  const failed = settled.map((s, i) => ({ dir: dirs[i], error: s.reason })).filter((f) => f.error)

  if (catalog && dryRun) report.note('--dry-run: the catalog is not written (its packages are not published)')
  const catalogReport = catalog && !dryRun && ok.length > 0 && await catalog.finish(ok.map((r) => ({ dir: r.dir, source: r.source, dynamicArtifact: r.package, integrity: r.integrity })), { report, json: values.json })
  if (values.json) {
    io.stdout.write(json(settled.map((s, i) => s.status === 'fulfilled'
      ? { ok: true, ...s.value }
      : { ok: false, dir: dirs[i], error: { code: s.reason.code ?? 'E_INTERNAL', message: s.reason.message } })))
  } else if (ok.length) {
    const verb = dryRun ? 'would publish' : 'published'
    for (const r of ok) report.out(`${verb} ${r.package} to ${r.registry} with tag ${r.tag}`)
    const entries = ok.map((r) => ({ package: r.package, integrity: r.integrity, pluginConfig: configs.get(r.dir) }))
    report.out('\n# dynamic-plugins.yaml entries:\n' + pluginsYaml(entries))
    report.out([
      '',
      "# .npmrc for RHDH's plugin installer. Helm chart: a Secret named",
      '# <release>-dynamic-plugins-npmrc with this text under the key .npmrc.',
      '# Operator: mount it into the install-dynamic-plugins init container and',
      '# set NPM_CONFIG_USERCONFIG to its path.',
    ].join('\n') + '\n' + rhdhNpmrc(ok.map((r) => ({ name: r.name, registry: r.registry }))))
  }

  if (catalogReport) catalogReport.print()
  if (failed.length === 0) return 0
  if (dirs.length === 1) throw failed[0].error
  for (const f of failed) {
    io.stderr.write(`dynpack: ${f.error.code ?? 'E_INTERNAL'}: ${path.relative(cwd, f.dir) || '.'}: ${String(f.error.message).replace(/\s*\n\s*/g, ' ')}\n`)
  }
  const codes = new Set(failed.map((f) => f.error.code))
  const e = new Error(`${failed.length} of ${dirs.length} plugins were not published (see above)` +
    (ok.length ? `; ${dryRun ? 'would publish' : 'published'}: ${ok.map((r) => r.package).join(', ')}` : ''))
  e.code = codes.size === 1 && [...codes][0] ? [...codes][0] : 'E_PUBLISH_FAILED'
  throw e
}

module.exports = { name: 'publish', summary: 'publish dynamic plugins to a private npm registry, with their integrity', usage, run }
