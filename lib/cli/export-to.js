'use strict'
// `dynpack package --export-to DIR`: the plugin folders the RHDH packagers
// stage (`npm pack` + `tar -x --strip-components=1`, rhdh-cli >= 1.11) and
// their index.json, written next to each other into DIR. Everything is built
// in a temporary folder inside DIR and renamed into place (see commit), so a
// failure leaves DIR as it was; index.json keeps the plugins already there.

const fs = require('node:fs')
const path = require('node:path')
const { extractTgz } = require('./untar.js')
const { pluginMetadata } = require('../folders.js')
const { readInput } = require('../read-input.js')

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
  const index = mergedIndex(exportDir, plugins)
  const staging = fs.mkdtempSync(path.join(exportDir, '.dynpack-export-'))
  let keepStaging = false
  try {
    const results = await Promise.all(plugins.map(async (p, i) => {
      const tgzDir = path.join(staging, `.tgz-${i}`)
      fs.mkdirSync(tgzDir)
      // 'fast' gives the same tar as 'npm' (only the gzip bytes differ), and we unpack it at once.
      const packed = await api.packDynamic(p.distDynamic, { destination: tgzDir, compression: 'fast', signal })
      const files = await extractTgz(packed.path, path.join(staging, p.directory))
      fs.rmSync(tgzDir, { recursive: true, force: true })
      const r = { directory: p.directory, path: path.join(exportDir, p.directory), files, unpackedSize: packed.unpackedSize }
      if (onPlugin) onPlugin(p, r)
      return r
    }))
    fs.writeFileSync(path.join(staging, 'index.json'), JSON.stringify(index, undefined, 2))
    commit(exportDir, staging, plugins.map((p) => p.directory))
    return results
  } catch (err) {
    keepStaging = Boolean(err.keepStaging)
    throw err
  } finally {
    if (!keepStaging) fs.rmSync(staging, { recursive: true, force: true })
  }
}

/**
 * index.json after this export: the entries already in `exportDir/index.json`
 * for plugins this run does not build stay (in their order, while their folder
 * is there), the rebuilt ones are replaced in place, new ones are appended, as
 * an OCI layout keeps the tags of other builds.
 */
function mergedIndex (exportDir, plugins) {
  const file = path.join(exportDir, 'index.json')
  const bad = (why) => {
    const e = new Error(`${file}: ${why}; this is not an export folder's index.json: remove it or choose another folder for --export-to`)
    e.code = 'E_DESTINATION'
    return e
  }
  const text = readInput(file, { bad })
  const fresh = new Map(plugins.map((p) => [p.directory, pluginMetadata(p.manifest)]))
  const index = []
  if (text !== null) {
    let old
    try { old = JSON.parse(text) } catch (err) { throw bad(`not valid JSON (${err.message})`) }
    if (!Array.isArray(old)) throw bad('not a JSON array')
    for (const entry of old) {
      const keys = entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.keys(entry) : []
      if (keys.length !== 1) throw bad('an entry is not an object with one plugin folder name as its key')
      const dir = keys[0]
      if (fresh.has(dir)) {
        index.push(fresh.get(dir))
        fresh.delete(dir)
      } else if (isPluginFolder(path.join(exportDir, dir), exportDir)) {
        index.push(entry)
      }
    }
  }
  index.push(...fresh.values())
  return index
}

/** True for a real folder directly inside `exportDir` (not a link, not a path that leaves it). */
function isPluginFolder (p, exportDir) {
  if (path.dirname(p) !== exportDir || path.basename(p).startsWith('.')) return false
  try { return fs.lstatSync(p).isDirectory() } catch { return false }
}

/**
 * Moves the new plugin folders and index.json from `staging` into
 * `exportDir`, the old ones aside into `staging`. A rename that fails undoes
 * the ones done before it (in reverse order), so the folder is left old or
 * new, never mixed, and the error is E_DESTINATION. index.json, replaced last
 * by one atomic rename, is what readers go by. When the undo itself fails the
 * error has `keepStaging`: the old content is then still in `staging`.
 */
function commit (exportDir, staging, directories) {
  const done = []
  const move = (from, to) => {
    fs.renameSync(from, to)
    done.push([from, to])
  }
  try {
    for (const name of directories) {
      const final = path.join(exportDir, name)
      if (fs.existsSync(final) || isLink(final)) move(final, path.join(staging, `.old-${name}`))
      move(path.join(staging, name), final)
    }
    const index = path.join(exportDir, 'index.json')
    if (fs.existsSync(index) || isLink(index)) {
      fs.linkSync(index, path.join(staging, '.old-index.json'))
      done.push([path.join(staging, '.old-index.json'), index])
    }
    fs.renameSync(path.join(staging, 'index.json'), index)
  } catch (err) {
    const undoFailures = []
    for (const [from, to] of done.reverse()) {
      try { fs.renameSync(to, from) } catch (e) { undoFailures.push(`${to} -> ${from}: ${e.message}`) }
    }
    const e = new Error(undoFailures.length
      ? `${exportDir}: replacing the exported plugins failed (${err.message}), and so did putting the old ones back (${undoFailures.join('; ')}); the previous content is in ${staging}`
      : `${exportDir}: replacing the exported plugins failed (${err.message}); the folder was left as it was`)
    e.code = 'E_DESTINATION'
    e.keepStaging = undoFailures.length > 0
    throw e
  }
}

function isLink (p) {
  try { return fs.lstatSync(p).isSymbolicLink() } catch { return false }
}

module.exports = { exportPlugins }
