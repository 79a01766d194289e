'use strict'
// `dynpack catalog-index DIR --tag REF`: the RHDH catalog index image of a
// catalog folder (written by --catalog, or curated by hand), every entity
// checked first; pushed and signed on request.

const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, json, formatBytes, displayPath } = require('./report.js')
const { REGISTRY_OPTIONS, REGISTRY_HELP, registryOptions } = require('./push.js')

const OPTIONS = {
  tag: { type: 'string', short: 't' },
  output: { type: 'string', short: 'o' },
  push: { type: 'boolean' },
  check: { type: 'boolean' },
  'sign-key': { type: 'string' },
  'source-date-epoch': { type: 'string' },
  json: { type: 'boolean' },
  ...REGISTRY_OPTIONS,
}

const usage = `Usage: dynpack catalog-index DIR --tag IMAGE:TAG [--output LAYOUT] [--push]
                             [--check] [--sign-key FILE] [--json] [registry options]

Builds the RHDH catalog index image of the folder DIR: one reproducible layer
holding DIR/dynamic-plugins.default.yaml and DIR/catalog-entities/ at its
root, as RHDH's plugin installer reads it from CATALOG_INDEX_IMAGE (entities
and the default plugin list) or EXTRA_CATALOG_INDEX_IMAGES (entities only).
DIR is what --catalog DIR on \`dynpack package\`, \`pack\` or \`publish\` writes,
or a folder a team curates by hand. Every Package and Plugin entity under
catalog-entities/extensions/ is checked against the Extensions schema first,
names must be unique, and a Plugin's packages must exist; nothing is written
or pushed otherwise.

Options:
  -t, --tag IMAGE:TAG       the index image, e.g. quay.io/acme/catalog-index:1.0
  -o, --output LAYOUT       write the OCI image layout there: a new or empty
                            folder, or a layout whose other tags are kept
                            (default: dist-catalog-index beside DIR; with
                            --push and no --output, a temporary folder)
      --push                push the image to its registry
      --check               first check that every spec.dynamicArtifact
                            resolves: the oci:// image holds the plugin, the
                            tgz URL serves bytes of spec.integrity, npm finds
                            name@version with that integrity
      --sign-key FILE       with --push: sign the index with this cosign key
                            (passphrase: COSIGN_PASSWORD), as \`dynpack sign\`
      --source-date-epoch SECONDS
                            the image timestamps (default: $SOURCE_DATE_EPOCH,
                            else 0)
      --json                print the result object
${REGISTRY_HELP}
  -q, --quiet               print only the pushed reference
      --verbose             more details on errors
  -h, --help                show this help

Exit status: 0 on success, 1 on failure, 2 on a usage error.`

async function run (argv, io) {
  const { values, positionals } = parse('catalog-index', argv, OPTIONS, { min: 1, max: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  if (values.tag === undefined) throw usageError('--tag IMAGE:TAG is required (the catalog index image)', 'catalog-index')
  if (values['sign-key'] !== undefined && !values.push) throw usageError('--sign-key signs the pushed index: it needs --push', 'catalog-index')
  let sourceDateEpoch
  if (values['source-date-epoch'] !== undefined) {
    if (!/^[0-9]+$/.test(values['source-date-epoch'])) throw usageError('--source-date-epoch takes whole seconds since 1970', 'catalog-index')
    sourceDateEpoch = Number(values['source-date-epoch'])
  }
  const dir = path.resolve(cwd, positionals[0])
  const options = { tag: values.tag, push: Boolean(values.push), check: Boolean(values.check), signal: io.signal, ...registryOptions(values, cwd, 'catalog-index') }
  if (sourceDateEpoch !== undefined) options.sourceDateEpoch = sourceDateEpoch
  if (values.output !== undefined) options.output = path.resolve(cwd, values.output)
  else if (!values.push) options.output = path.join(path.dirname(dir), 'dist-catalog-index')
  if (values['sign-key'] !== undefined) {
    options.signKey = path.resolve(cwd, values['sign-key'])
    const passphrase = await require('./sign.js').unlockKey(options.signKey, io)
    if (passphrase !== undefined) options.passphrase = passphrase
  }
  const { catalogSummary } = require('../catalog.js')
  const { buildCatalogIndex } = require('../api.js')
  const r = await buildCatalogIndex(dir, options)
  if (values.json) {
    io.stdout.write(json(r))
    return 0
  }
  for (const n of r.notes) report.note(n)
  const where = r.output ? ` in ${displayPath(cwd, r.output)}` : ''
  report.note(`built the catalog index ${r.tag}${where}: ${r.packages.length} Package, ${r.plugins.length} Plugin entities, layer ${formatBytes(r.layerSize)}, manifest ${r.manifestDigest}`)
  const ref = r.pushed ? r.pushed.reference : null
  if (r.pushed) report.note(`pushed ${r.pushed.reference}`)
  if (r.signed) report.note(`signed ${r.signed.reference}: ${r.signed.signatureTag}`)
  if (values.quiet) {
    if (ref) io.stdout.write(ref + '\n')
    return 0
  }
  report.out(catalogSummary({ dir, packages: r.packages, plugins: r.plugins }, { cwd, indexRef: ref ?? r.tag }).join('\n'))
  return 0
}

module.exports = { name: 'catalog-index', summary: 'build (and push) an RHDH Extensions catalog index image from a catalog folder', usage, run }
