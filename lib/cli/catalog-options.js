'use strict'
// The catalog options of `package`, `pack` and `publish` (`--catalog DIR`, `--enable`,
// `--catalog-index REF`): the command-line side of lib/catalog.js.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { catalogEntities, writeCatalog, catalogSummary } = require('../catalog.js')
const { buildCatalogIndex } = require('../api.js')
const { usageError } = require('./args.js')

/**
 * `--catalog DIR` (and `--enable`, and `--catalog-index REF` on `package
 * --push`) of a command, or null when none is given. `plugins` are the
 * command's plugins `[{ dir, source? }]`: their entities are made once with a
 * placeholder artifact now, so that bad input (E_CATALOG_*) stops the command
 * before anything is built, packed or published. `finish(items, ctx)` then
 * writes the folder from the real artifacts (`[{ dir, source?,
 * dynamicArtifact, integrity? }]`), builds and pushes the index when asked,
 * and resolves to the JSON report `{ dir, packages, plugins, index }`, whose
 * (non-enumerable) `print()` prints the summary: stdout, or stderr with --json.
 */
function cliCatalog (values, { cwd, command, plugins }) {
  const indexRef = values['catalog-index']
  if (values.catalog === undefined && indexRef === undefined) {
    if (values.enable) throw usageError('--enable sets the plugins of --catalog DIR enabled: it needs --catalog', command)
    return null
  }
  if (indexRef !== undefined && !values.push) throw usageError('--catalog-index pushes the index after the plugin images: it needs --push', command)
  const options = { enable: Boolean(values.enable) }
  catalogEntities(plugins.map((p) => ({ dir: p.dir, source: p.source ?? undefined, dynamicArtifact: 'pending' })), options)
  return {
    async finish (items, { report, json, signal, passphrase, registry = {} }) {
      const temp = values.catalog === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-catalog-')) : null
      try {
        const dir = temp ?? path.resolve(cwd, values.catalog)
        const written = writeCatalog(dir, catalogEntities(items, options))
        const out = { dir: temp ? null : written.dir, packages: written.packages, plugins: written.plugins, index: null }
        let ref
        if (indexRef !== undefined) {
          const built = await buildCatalogIndex(dir, {
            ...registry,
            tag: indexRef,
            push: true,
            signKey: values['sign-key'] === undefined ? undefined : path.resolve(cwd, values['sign-key']),
            passphrase,
            signal,
          })
          ref = built.pushed.reference
          out.index = { tag: built.tag, manifestDigest: built.manifestDigest, reference: ref, signed: built.signed ?? null }
          report.note(`pushed the catalog index ${ref}${built.signed ? ` (signed: ${built.signed.signatureTag})` : ''}`)
        }
        const lines = catalogSummary(temp ? { ...written, dir: null } : written, { cwd, indexRef: ref })
        // Printed once the command's own report is out: stdout, or stderr beside a JSON report.
        Object.defineProperty(out, 'print', {
          value: () => (json ? lines.forEach((l) => report.note(l.replace(/\n/g, ' '))) : report.out('\n' + lines.join('\n'))),
        })
        return out
      } finally {
        if (temp) fs.rmSync(temp, { recursive: true, force: true })
      }
    },
  }
}

module.exports = { cliCatalog }
