'use strict'
// `dynpack package --export-to DIR`: the plugin folders the RHDH packagers
// stage (`npm pack` + `tar -x --strip-components=1`, rhdh-cli >= 1.11) and
// their index.json, written next to each other into DIR. Everything is built
// in a temporary folder inside DIR and renamed into place, so a failure
// leaves DIR as it was.

const fs = require('node:fs')
const path = require('node:path')
const { extractTgz } = require('./untar.js')
const { pluginMetadata } = require('./discover.js')

function conflictError (message) {
  const e = new Error(message)
  e.code = 'E_PLUGIN_CONFLICT'
  return e
}

/**
 * Writes `DIR/<directory>/` for every plugin and `DIR/index.json`.
 * Resolves to `[{ directory, path, files, unpackedSize }]` in plugin order.
 */
async function exportPlugins (api, plugins, exportDir, { signal, onPlugin } = {}) {
  const seen = new Map()
  for (const p of plugins) {
    if (p.directory === 'index.json') {
      throw conflictError(`${p.distDynamic}: its directory "index.json" clashes with the export's index.json; rename the package`)
    }
    if (seen.has(p.directory)) {
      throw conflictError(`${p.distDynamic} and ${seen.get(p.directory)} both export to ${p.directory}/; rename one of the packages`)
    }
    seen.set(p.directory, p.distDynamic)
  }
  try {
    fs.mkdirSync(exportDir, { recursive: true })
  } catch (err) {
    const e = new Error(`${exportDir}: cannot create the export folder (${err.message}); pass a writable folder to --export-to`)
    e.code = 'E_DESTINATION'
    throw e
  }
  const staging = fs.mkdtempSync(path.join(exportDir, '.dynpack-export-'))
  try {
    const results = await Promise.all(plugins.map(async (p, i) => {
      const tgzDir = path.join(staging, `.tgz-${i}`)
      fs.mkdirSync(tgzDir)
      // 'fast' gives the same tar as 'npm' (only the gzip bytes differ), and we unpack it at once.
      const packed = await api.packDynamic(p.distDynamic, { destination: tgzDir, compression: 'fast', signal })
      const files = extractTgz(packed.path, path.join(staging, p.directory))
      fs.rmSync(tgzDir, { recursive: true, force: true })
      const r = { directory: p.directory, path: path.join(exportDir, p.directory), files, unpackedSize: packed.unpackedSize }
      if (onPlugin) onPlugin(p, r)
      return r
    }))
    const index = plugins.map((p) => pluginMetadata(p.manifest))
    fs.writeFileSync(path.join(staging, 'index.json'), JSON.stringify(index, undefined, 2))
    for (const name of [...plugins.map((p) => p.directory), 'index.json']) {
      const final = path.join(exportDir, name)
      if (fs.existsSync(final) || isLink(final)) fs.renameSync(final, path.join(staging, `.old-${name}`))
      fs.renameSync(path.join(staging, name), final)
    }
    return results
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

function isLink (p) {
  try { return fs.lstatSync(p).isSymbolicLink() } catch { return false }
}

module.exports = { exportPlugins }
