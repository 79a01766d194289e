'use strict'
// What a folder given to dynpack is, for every command and API function (the
// one rule): a plugin with its export (dist-dynamic/, or the bundle/ of
// `backstage-cli package bundle`), an artifact folder, or
// a monorepo root whose Backstage plugin workspaces are found from the root
// package.json `workspaces` globs (any layout). Library code: the CLI and
// lib/api.js, lib/publish.js all call it; it requires nothing from either.

const fs = require('node:fs')
const path = require('node:path')
const { readInput, readInsideFolder, fsError } = require('./read-input.js')
const { dynpackError: fail, toDynpackError } = require('./errors.js')

/** The roles the RHDH packagers package; any other role is skipped. */
const PLUGIN_ROLES = new Set(['frontend-plugin', 'frontend-plugin-module', 'backend-plugin', 'backend-plugin-module'])

/** The app-config files the packagers read `pluginConfig` from, first match wins. */
const APP_CONFIG_FILES = ['app-config.janus-idp.yaml', 'app-config.backstage-community.yaml', 'app-config.yaml']

/** Fields of dist-dynamic/package.json copied into index.json, in the packagers' order. */
const METADATA_FIELDS = ['name', 'version', 'description', 'backstage', 'homepage', 'repository', 'license', 'maintainers', 'author', 'bugs', 'keywords']

/** Reads and parses a package.json; null when it does not exist. */
function readManifest (file) {
  const text = readInput(file, { bad: (why) => fail('E_INVALID_MANIFEST', `${file}: ${why}; fix package.json and run again`) })
  if (text === null) return null
  try {
    const json = JSON.parse(text)
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object')
    return json
  } catch (err) {
    throw fail('E_INVALID_MANIFEST', `${file}: ${err.message}; fix package.json and run again`)
  }
}

/**
 * The folder name a plugin gets in an image or an export, as the RHDH
 * packagers name it (the dist-dynamic package name minus `-dynamic`, minus a
 * leading `@`, with the first `/` replaced by `-`), refused with
 * E_INVALID_MANIFEST naming `file` when unusable (`@../../y` would put files
 * outside the export folder). The rule has one home, src/plugin.rs
 * (directory_name, check_directory): images and exports cannot disagree.
 */
function pluginDirectory (name, file = 'package.json') {
  const native = require('./addon.js').loadAddon()
  try {
    return native.pluginDirectory(name, file)
  } catch (e) {
    throw toDynpackError(e)
  }
}

/** index.json metadata for one plugin: `{ [dir]: {name, version, …} }`, undefined fields left out. */
function pluginMetadata (manifest) {
  const meta = {}
  for (const f of METADATA_FIELDS) if (manifest[f] !== undefined) meta[f] = manifest[f]
  return { [pluginDirectory(manifest.name)]: meta }
}

/** The plugin's app-config text and file, or null. */
function findAppConfig (sourceDir) {
  if (!sourceDir) return null
  for (const f of APP_CONFIG_FILES) {
    const file = path.join(sourceDir, f)
    const yaml = readInsideFolder(file, sourceDir, { bad: (why) => fail('E_NOT_A_FILE', `${file}: ${why}; make it a regular file or remove it`) })
    if (yaml === null) continue
    return { file, yaml }
  }
  return null
}

/** A plugin ready to package: where it is, its dist-dynamic manifest and its app-config. */
function pluginAt (distDynamic, source) {
  const file = path.join(distDynamic, 'package.json')
  const manifest = readManifest(file)
  if (!manifest) {
    throw fail('E_NO_PACKAGE_JSON', `${distDynamic}: no package.json; run the dynamic-plugin export again (e.g. \`npx @red-hat-developer-hub/cli plugin export\`)`)
  }
  if (typeof manifest.name !== 'string' || manifest.name === '' || typeof manifest.version !== 'string' || manifest.version === '') {
    throw fail('E_INVALID_MANIFEST', `${file}: needs a name and a version; run the dynamic-plugin export again`)
  }
  return {
    source,
    distDynamic,
    name: manifest.name,
    version: manifest.version,
    directory: pluginDirectory(manifest.name, file),
    manifest,
    appConfig: findAppConfig(source),
  }
}

function isDir (p) {
  try { return fs.statSync(p).isDirectory() } catch { return false }
}

/** The file `backstage-cli package bundle` leaves in its output folder. */
const BUNDLE_MARKER = '.bundle-output'

/**
 * The export inside a plugin folder: its dist-dynamic/ (rhdh-cli, janus-cli)
 * or its bundle/ holding the `.bundle-output` marker (`backstage-cli package
 * bundle`); when both are there, the one written last (its package.json's
 * mtime), so that switching exporters needs no clean-up. Null when none.
 */
function exportedFolder (dir) {
  const candidates = [path.join(dir, 'dist-dynamic'), path.join(dir, 'bundle')]
    .filter((f, i) => i === 0 ? isDir(f) : fs.existsSync(path.join(f, BUNDLE_MARKER)))
  if (candidates.length < 2) return candidates[0] ?? null
  const written = (f) => { try { return fs.statSync(path.join(f, 'package.json')).mtimeMs } catch { return -1 } }
  return written(candidates[1]) > written(candidates[0]) ? candidates[1] : candidates[0]
}

/** Folders of built output a plugin package ships (bundled dependencies in node_modules/). */
const BUILT_OUTPUT = ['dist', 'dist-scalprum', 'node_modules']

/** Build configurations only a plugin's source folder has (never packed by its `files`). */
const BUILD_CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'webpack.config.js', 'webpack.config.ts', 'rollup.config.js', 'rollup.config.mjs', 'rollup.config.ts', 'vite.config.js', 'vite.config.ts', 'babel.config.js', 'babel.config.json']

/**
 * What one folder holds, judged by its content, never by its name alone:
 *  - 'plugin': it holds dist-dynamic/ or a bundle/ with `.bundle-output`
 *    (the plugin source with its export, `artifact`);
 *  - 'artifact': output to ship as it is. Either an exporter wrote it (the
 *    `.bundle-output` marker of `backstage-cli package bundle`, a package
 *    named `*-dynamic`, dist-scalprum/, or the folder dist-dynamic itself),
 *    or it is a plugin package of built output only: a published plugin
 *    unpacked (dist/, bundled node_modules/, no src/);
 *  - 'source': a Backstage plugin (a plugin backstage.role) that no exporter
 *    wrote, with its sources (`src/` or a build configuration) or without
 *    any built output: nothing to package until it is exported;
 *  - 'package': anything else, packed as it is (what `npm pack` would pack).
 * `evidence` names what decided, for messages. Monorepo roots are decided
 * before, by {@link resolveFolder}.
 */
function classifyFolder (dir, manifest) {
  if (fs.existsSync(path.join(dir, BUNDLE_MARKER))) return { kind: 'artifact', evidence: BUNDLE_MARKER }
  const exported = exportedFolder(dir)
  if (exported) return { kind: 'plugin', evidence: `${path.basename(exported)}/`, artifact: exported }
  if (manifest && /-dynamic$/.test(String(manifest.name))) return { kind: 'artifact', evidence: `the package ${manifest.name}` }
  if (isDir(path.join(dir, 'dist-scalprum'))) return { kind: 'artifact', evidence: 'dist-scalprum/' }
  if (path.basename(dir) === 'dist-dynamic') return { kind: 'artifact', evidence: 'the folder dist-dynamic' }
  const role = manifest?.backstage?.role
  if (!PLUGIN_ROLES.has(role)) return { kind: 'package', evidence: null }
  const sources = [isDir(path.join(dir, 'src')) ? 'src/' : null, ...BUILD_CONFIGS.filter((f) => fs.existsSync(path.join(dir, f)))].filter(Boolean)
  if (sources.length) return { kind: 'source', evidence: sources.join(', ') }
  const built = BUILT_OUTPUT.filter((f) => isDir(path.join(dir, f)))
  if (built.length === 0) return { kind: 'source', evidence: `no ${BUILT_OUTPUT.join(', ')}` }
  return { kind: 'artifact', evidence: `backstage.role '${role}', ${built.join(', ')}, no sources` }
}

/** The refusal of a plugin source folder, the same for every command and API function. */
function sourceWithoutExport (dir, evidence) {
  return fail('E_NO_DIST_DYNAMIC',
    `${dir}: a Backstage plugin's source folder (${evidence}) with no dist-dynamic/ folder (nor a bundle/): there is nothing to package yet. ` +
    'Run dynpack with --export to export it with the repository\'s rhdh-cli, or export it first (`npx @red-hat-developer-hub/cli plugin export` in that folder), then run dynpack there again or on its dist-dynamic folder')
}

/** The plugin files whose change makes an export stale, besides everything under src/. */
const SOURCE_FILES = ['package.json', 'config.d.ts']

/**
 * How much newer than the export a source file must be to be told: an edit
 * comes minutes later, while an exporter may touch its sources (and a script
 * writes both) within the same second.
 */
const STALE_MARGIN_MS = 2000

/** The newest mtime (ms) of a file or, recursively, of a folder's files; `{ file, mtimeMs }` or null. */
function newestFile (p) {
  let st
  try { st = fs.lstatSync(p) } catch { return null }
  if (!st.isDirectory()) return { file: p, mtimeMs: st.mtimeMs }
  let best = null
  let entries = []
  try { entries = fs.readdirSync(p) } catch { return null }
  for (const name of entries) {
    if (name === 'node_modules') continue
    const found = newestFile(path.join(p, name))
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found
  }
  return best
}

function readJson (file) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) } catch { return null }
}

/**
 * How `artifact` (a plugin's dist-dynamic/ or bundle/) relates to its source
 * folder `source`: `{ versions: { source, export } | null, newer: { file, mtimeMs } | null, exportedAt }`.
 * `versions` is set when the two package.json versions differ (the export
 * is of another release: refused, E_STALE_EXPORT); `newer` names the newest
 * of the plugin's src/, package.json and config.d.ts when it was changed
 * after the export was written (a warning: the export may miss it).
 */
function staleness (source, artifact) {
  const exported = path.join(artifact, 'package.json')
  let exportedAt
  try { exportedAt = fs.statSync(exported).mtimeMs } catch { return { versions: null, newer: null, exportedAt: null } }
  const src = readJson(path.join(source, 'package.json'))
  const out = readJson(exported)
  const versions = src && out && typeof src.version === 'string' && typeof out.version === 'string' && src.version !== out.version
    ? { source: src.version, export: out.version }
    : null
  let newer = null
  for (const f of ['src', ...SOURCE_FILES]) {
    const found = newestFile(path.join(source, f))
    if (found && found.mtimeMs > exportedAt + STALE_MARGIN_MS && (!newer || found.mtimeMs > newer.mtimeMs)) newer = found
  }
  return { versions, newer, exportedAt }
}

/** E_STALE_EXPORT for a version mismatch found by {@link staleness}. */
function staleError (source, artifact, versions) {
  return fail('E_STALE_EXPORT',
    `${artifact}: exported from version ${versions.export}, but ${path.join(source, 'package.json')} is version ${versions.source}; ` +
    'export the plugin again (run dynpack with --export), or pass --allow-stale (API: allowStale) to package the old export anyway')
}

/** The warning text for a source changed after its export. */
function staleWarning (source, artifact, newer) {
  return `${path.relative(source, newer.file) || newer.file} in ${source} changed after ${path.basename(artifact)}/ was exported ` +
    `(${new Date(newer.mtimeMs).toISOString()}); the export may not hold it: run with --export to export again`
}

/**
 * Refuses an export of another version than its source (E_STALE_EXPORT) and
 * says, through `warn`, when the source changed after the export; nothing
 * with `allowStale`, nor when the source is no Backstage plugin (no plugin
 * backstage.role): a folder holding some dist-dynamic/ is not its source.
 */
function checkExport (source, artifact, { allowStale = false, warn = defaultWarn } = {}) {
  if (allowStale || !source) return
  // only a Backstage plugin's source has an export to be stale
  let manifest = null
  try { manifest = readManifest(path.join(source, 'package.json')) } catch {}
  if (!PLUGIN_ROLES.has(manifest?.backstage?.role)) return
  const found = staleness(source, artifact)
  if (found.versions) throw staleError(source, artifact, found.versions)
  if (found.newer) warn(staleWarning(source, artifact, found.newer))
}

function defaultWarn (text) {
  process.emitWarning(text, { code: 'DYNPACK_STALE_EXPORT' })
}

/**
 * What a folder given to any dynpack command or API function means: the one
 * rule `pack`, `publish`, `package`, packDynamic, publishDynamic,
 * buildOciLayout and sbomOf share.
 * Resolves `dir` to `{ mode, root, folders: [{ dir, source }], skipped }`:
 *  - 'monorepo': package.json has `workspaces` of which at least one is a
 *    Backstage package (a backstage.role); one folder per plugin workspace with
 *    a dist-dynamic/ (`dir` is that dist-dynamic, `source` the workspace); the
 *    others are in `skipped: [{ path, reason }]`. A package whose workspaces
 *    hold no Backstage package (npm's own) is no monorepo: it is classified
 *    as any folder;
 *  - 'plugin': `dir` holds dist-dynamic/ or bundle/ (exportedFolder), which is the folder to use;
 *  - 'dist-dynamic': an artifact folder ({@link classifyFolder}), used as it is;
 *  - 'package': anything else, used as it is.
 * A plugin source folder without dist-dynamic/ is refused with
 * E_NO_DIST_DYNAMIC. Where a plugin folder is resolved to its export
 * ('plugin', 'monorepo'), an export of another version is refused with
 * E_STALE_EXPORT and a source changed since is told to `options.warn`
 * (default: a process warning, code DYNPACK_STALE_EXPORT); `options.allowStale`
 * skips both. `source` is the plugin folder around a dist-dynamic
 * folder (with its package.json and app-config), or null. A folder it cannot
 * read is answered 'package', so that the caller's own checks name the problem.
 */
function resolveFolder (dir, options = {}) {
  const root = path.resolve(dir)
  const single = (mode, folder, source) => ({ mode, root, folders: [{ dir: folder, source }], skipped: [] })
  if (!isDir(root)) return single('package', root, null)
  let manifest = null
  try { manifest = readManifest(path.join(root, 'package.json')) } catch {}
  if (manifest && manifest.workspaces !== undefined) {
    const mono = resolveWorkspaces(root, manifest)
    if (mono) {
      for (const f of mono.folders) checkExport(f.source, f.dir, options)
      return mono
    }
  }
  const { kind, evidence, artifact } = classifyFolder(root, manifest)
  if (kind === 'plugin') {
    checkExport(root, artifact, options)
    return single('plugin', artifact, root)
  }
  if (kind === 'source') throw sourceWithoutExport(root, evidence)
  if (kind === 'artifact') {
    // An export named directly is used as given: its staleness is checked where
    // the plugin folder is named (which every command's resolution of it passes).
    return single('dist-dynamic', root, besideSource(root, manifest))
  }
  return single('package', root, null)
}

/**
 * The plugin source folder an artifact folder was exported from, when it is
 * where the exporters write it: the folder around a dist-dynamic/, or around
 * a bundle/ holding `.bundle-output` of the same package name. Null otherwise
 * (a bundle written under --output-destination stands alone).
 */
function besideSource (dir, manifest) {
  const parent = path.dirname(dir)
  const base = path.basename(dir)
  if (base === 'dist-dynamic') return fs.existsSync(path.join(parent, 'package.json')) ? parent : null
  if (base === 'bundle' && fs.existsSync(path.join(dir, BUNDLE_MARKER))) {
    let around = null
    try { around = readManifest(path.join(parent, 'package.json')) } catch {}
    return around && manifest && around.name === manifest.name ? parent : null
  }
  return null
}

/**
 * The one folder an API function that takes a single plugin works on, by the
 * rule every command shares (resolveFolder): a plugin
 * folder means its dist-dynamic/ (said with a process warning, code
 * DYNPACK_DIST_DYNAMIC); a monorepo root is refused with E_MONOREPO, whose
 * `plugins` lists the dist-dynamic folders to pass one by one.
 */
function singleFolder (abs, fn, options = {}) {
  const resolved = resolveFolder(abs, options)
  if (resolved.mode === 'monorepo') {
    const list = resolved.folders.map((f) => path.relative(process.cwd(), f.dir) || '.')
    const e = fail('E_MONOREPO',
      `${abs} is a monorepo root (${list.length} exported plugin${list.length === 1 ? '' : 's'}${list.length ? ': ' + list.join(', ') : ''}); ` +
      `${fn} takes one plugin: call it for each of these folders, or run \`dynpack ${fn === 'publishDynamic' ? 'publish' : 'pack'}\` on the root`)
    e.plugins = resolved.folders.map((f) => f.dir)
    throw e
  }
  return resolved
}

/** A short sentence saying which folder a command uses, for the modes where it is not `dir` itself. */
function describeResolution (resolved, cwd = process.cwd()) {
  const rel = (p) => {
    const r = path.relative(cwd, p)
    return r === '' ? '.' : r.startsWith('..') || path.isAbsolute(r) ? p : r
  }
  if (resolved.mode === 'plugin') return `using ${rel(resolved.folders[0].dir)}, the dynamic plugin exported from ${rel(resolved.root)}`
  if (resolved.mode === 'monorepo') {
    const n = resolved.folders.length
    return `monorepo ${rel(resolved.root)}: ${n} exported plugin${n === 1 ? '' : 's'}${n ? ': ' + resolved.folders.map((f) => rel(f.source)).join(', ') : ''}`
  }
  return null
}

/**
 * The folders a command that takes several DIRs (`pack`, `publish`) works on:
 * each DIR resolved by {@link resolveFolder}, a monorepo root expanded to its
 * exported plugins, duplicates dropped. `note(text)` is told which folder was
 * used where it is not the DIR given, and which workspaces were skipped.
 * Returns `[{ dir, source }]`; E_NO_PLUGINS for a monorepo without any.
 */
function resolveFolders (dirs, { note = () => {}, cwd = process.cwd(), allowStale = false, warn } = {}) {
  const out = new Map()
  for (const d of dirs) {
    const resolved = resolveFolder(path.resolve(cwd, d), { allowStale, warn })
    for (const s of resolved.skipped) note(`skipping ${path.relative(cwd, path.join(resolved.root, s.path)) || '.'}: ${s.reason}`)
    if (resolved.mode === 'monorepo' && resolved.folders.length === 0) {
      throw fail('E_NO_PLUGINS', `${resolved.root}: none of the ${resolved.skipped.length} workspaces is an exported Backstage plugin (a plugin backstage.role and a dist-dynamic/ folder); export the plugins first`)
    }
    const said = describeResolution(resolved, cwd)
    if (said) note(said)
    for (const f of resolved.folders) if (!out.has(f.dir)) out.set(f.dir, f)
  }
  return [...out.values()]
}

/**
 * What `dynpack package` packages when run in `dir`:
 * `{ mode: 'monorepo'|'plugin'|'dist-dynamic', root, plugins, skipped: [{path, reason}] }`.
 * `plugins` is empty when no workspace of a monorepo is an exported plugin.
 */
function discoverPlugins (dir, options = {}) {
  const root = path.resolve(dir)
  let stat
  try {
    stat = fs.statSync(root)
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw fail('E_NOT_FOUND', `${root}: no such folder; check the path`)
    throw fsError(root, err)
  }
  if (!stat.isDirectory()) throw fail('E_NOT_A_DIRECTORY', `${root}: not a folder; pass the folder that holds package.json`)
  const manifest = readManifest(path.join(root, 'package.json'))
  if (!manifest) {
    throw fail('E_NO_PACKAGE_JSON', `${root}: no package.json; run dynpack in a plugin folder, its dist-dynamic folder or a monorepo root`)
  }
  const resolved = resolveFolder(root, options)
  if (resolved.mode === 'package') {
    throw fail('E_NO_DIST_DYNAMIC', `${root}: no dist-dynamic/ folder and not a dynamic plugin (no plugin backstage.role); run dynpack in a plugin folder after exporting it (\`npx @red-hat-developer-hub/cli plugin export\`), in its dist-dynamic folder or at a monorepo root`)
  }
  const plugins = resolved.folders.map((f) => pluginAt(f.dir, f.source))
  return { mode: resolved.mode, root, plugins, skipped: resolved.skipped }
}

function resolveWorkspaces (root, manifest) {
  const patterns = workspacePatterns(manifest.workspaces, path.join(root, 'package.json'))
  const folders = []
  const skipped = []
  let backstage = 0
  for (const ws of expandWorkspaces(root, patterns)) {
    const rel = path.relative(root, ws) || '.'
    const pkg = readManifest(path.join(ws, 'package.json'))
    const role = pkg?.backstage?.role
    if (role !== undefined) backstage++
    if (role === undefined) {
      skipped.push({ path: rel, reason: 'no backstage.role (not a Backstage plugin)' })
    } else if (!PLUGIN_ROLES.has(role)) {
      skipped.push({ path: rel, reason: `backstage.role '${role}' is not a plugin role` })
    } else {
      const artifact = exportedFolder(ws)
      if (artifact) folders.push({ dir: artifact, source: ws })
      else skipped.push({ path: rel, reason: 'no dist-dynamic/ folder (nor a bundle/); export it first (dynpack --export, or `npx @red-hat-developer-hub/cli plugin export` in that folder)' })
    }
  }
  // workspaces without any Backstage package (npm's own package.json lists its
  // development workspaces, which it does not ship): a package, not a monorepo
  return backstage === 0 ? null : { mode: 'monorepo', root, folders, skipped }
}

function workspacePatterns (workspaces, file) {
  const list = Array.isArray(workspaces) ? workspaces : workspaces?.packages
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw fail('E_INVALID_MANIFEST', `${file}: workspaces must be a list of globs or { packages: [...] }; fix package.json and run again`)
  }
  return list
}

/**
 * The workspace folders (with a package.json) matched by npm/yarn workspace
 * globs, sorted. Supports `*`, `?`, `**`, `[...]`, `{a,b}` and `!negations`;
 * never descends into node_modules, dist-dynamic or dot folders.
 */
function expandWorkspaces (root, patterns) {
  const found = new Set()
  const negated = []
  for (const raw of patterns) {
    const neg = raw.startsWith('!')
    const pattern = normalizePattern(neg ? raw.slice(1) : raw)
    if (pattern === '') continue
    let res
    try {
      res = segmentRegexes(pattern)
    } catch (err) {
      throw fail('E_INVALID_WORKSPACES', `${path.join(root, 'package.json')}: the workspaces glob ${JSON.stringify(raw)} is invalid (${err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '').toLowerCase()}); fix it in package.json`)
    }
    if (neg) { negated.push(res); continue }
    walk(root, '', res, found)
  }
  const rels = [...found].filter((rel) => !negated.some((re) => matchPath(rel.split('/'), re)))
  return rels.sort().map((rel) => path.join(root, rel))
}

function normalizePattern (p) {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '').replace(/\/{2,}/g, '/')
}

function segmentRegexes (pattern) {
  return pattern.split('/').map((seg) => (seg === '**' ? '**' : globRegex(seg)))
}

function globRegex (seg) {
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1)
      if (end < 0) { re += '\\['; continue }
      re += '[' + seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']'
      i = end
    } else if (c === '{') {
      const end = seg.indexOf('}', i + 1)
      if (end < 0) { re += '\\{'; continue }
      re += '(?:' + seg.slice(i + 1, end).split(',').map((a) => globRegex(a).source.slice(1, -1)).join('|') + ')'
      i = end
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&')
  }
  return new RegExp('^' + re + '$')
}

function matchPath (segs, res) {
  if (res.length === 0) return segs.length === 0
  if (res[0] === '**') {
    for (let k = 0; k <= segs.length; k++) if (matchPath(segs.slice(k), res.slice(1))) return true
    return false
  }
  return segs.length > 0 && res[0].test(segs[0]) && matchPath(segs.slice(1), res.slice(1))
}

const SKIP_DIRS = new Set(['node_modules', 'dist-dynamic'])

function walk (root, rel, res, found) {
  if (res.length === 0) {
    if (fs.existsSync(path.join(root, rel, 'package.json'))) found.add(rel)
    return
  }
  const [head, ...rest] = res
  if (head === '**') walk(root, rel, rest, found)
  let entries
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true })
  } catch {
    return
  }
  for (const ent of entries) {
    if (ent.name.startsWith('.') || SKIP_DIRS.has(ent.name)) continue
    const child = rel ? `${rel}/${ent.name}` : ent.name
    // a bundle's package.json is an export, not a workspace
    if (fs.existsSync(path.join(root, child, BUNDLE_MARKER))) continue
    // `**` does not descend into symlinked folders (as node-glob's `**`), so a
    // link loop cannot hang the walk; a link named by a segment is followed.
    if (head === '**') {
      if (ent.isDirectory()) walk(root, child, res, found)
    } else if (head.test(ent.name) && (ent.isDirectory() || (ent.isSymbolicLink() && isDir(path.join(root, child))))) {
      walk(root, child, rest, found)
    }
  }
}

module.exports = {
  discoverPlugins,
  resolveFolder,
  classifyFolder,
  singleFolder,
  resolveFolders,
  describeResolution,
  expandWorkspaces,
  pluginAt,
  pluginDirectory,
  pluginMetadata,
  findAppConfig,
  exportedFolder,
  checkExport,
  staleness,
  BUNDLE_MARKER,
  readManifest,
  workspacePatterns,
  PLUGIN_ROLES,
  APP_CONFIG_FILES,
}
