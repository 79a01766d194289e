'use strict'
// RHDH Extensions catalog entities for the plugins dynpack packages.
//
// RHDH (1.9+) lists installable plugins from `Package` and `Plugin` entities
// (apiVersion extensions.backstage.io/v1alpha1) that its installer extracts
// from a catalog index image, with `dynamic-plugins.default.yaml` beside them.
// dynpack knows, when it pushes, packs or publishes, what those files need:
// the package.json fields, the role, the exact artifact RHDH installs (a
// digest-pinned oci:// reference, a tgz URL or name@version with its SRI
// integrity) and the plugin's app-config. This module turns that into the
// entity objects (catalogEntities), writes and merges the index folder
// (writeCatalog), checks a hand-curated folder (readCatalog) and builds the
// one-layer index image (buildCatalogIndex).
//
// Entities are validated with ajv against the published Extensions JSON
// schemas (lib/schemas/, source in its README); the index image is written by
// the Rust core (src/oci/folder_image.rs) with the plugin images' tar, deflate
// and layout code, and image references are parsed there too.

const fs = require('node:fs')
const path = require('node:path')

const API_VERSION = 'extensions.backstage.io/v1alpha1'
const ENTITIES = path.join('catalog-entities', 'extensions')
const DEFAULT_FILE = 'dynamic-plugins.default.yaml'
/** Backstage entity names: letters, digits, `-_.`, at most 63, starting and ending alphanumeric. */
const NAME_RE = /^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/
/** Backstage tags: lower-case words joined by `-`, at most 63 characters. */
const TAG_RE = /^(?=.{1,63}$)[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*$/
/** Fields of the `catalog` section a plugin's package.json may hold, and their types. */
const CATALOG_FIELDS = { name: 'string', title: 'string', description: 'string', categories: 'strings', highlights: 'strings', icon: 'string', tags: 'strings', lifecycle: 'string', support: 'support' }

function catalogError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

function yamlLib () {
  return require('yaml')
}

function readJson (file) {
  let text
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw catalogError('E_CATALOG_READ', `${file}: ${err.message}`)
  }
  try {
    const v = JSON.parse(text)
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object')
    return v
  } catch (err) {
    throw catalogError('E_CATALOG_READ', `${file}: ${err.message}; fix the file and run again`)
  }
}

/** `@scope/plugin-x-backend` → `scope-plugin-x-backend`, refused when no valid entity name comes out. */
function entityName (packageName, file, field = 'name') {
  const name = String(packageName).replace(/^@/, '').replace(/\//g, '-')
  if (!NAME_RE.test(name)) {
    throw catalogError('E_CATALOG_INVALID_NAME',
      `${file}: ${field} ${JSON.stringify(packageName)} does not make a valid catalog entity name (${JSON.stringify(name)}: letters, digits, '-', '_', '.', at most 63 characters, starting and ending with a letter or digit); set "catalog": { "name": "…" } in package.json`)
  }
  return name
}

/** The URL of a package.json `repository` / `bugs` field, as a browser opens it. */
function urlOf (value) {
  const raw = typeof value === 'string' ? value : value && typeof value.url === 'string' ? value.url : null
  if (!raw) return null
  const url = raw.replace(/^git\+/, '').replace(/^git:\/\//, 'https://').replace(/\.git$/, '')
  return /^https?:\/\//.test(url) ? url : null
}

function authorOf (value) {
  if (typeof value === 'string') return value.replace(/\s*[<(].*$/, '') || undefined
  if (value && typeof value.name === 'string') return value.name
  return undefined
}

/**
 * The Backstage release a plugin is built for: `version` of the nearest
 * `backstage.json` (what `backstage-cli versions:bump` writes at a monorepo
 * root) from the plugin folder up, not past a `workspaces` root or a git
 * checkout's top. undefined
 * when there is none: the `@backstage/*` package ranges do not name a
 * Backstage release, so nothing is guessed from them.
 */
function backstageVersion (source) {
  if (!source) return undefined
  let dir = path.resolve(source)
  for (;;) {
    const bj = readJson(path.join(dir, 'backstage.json'))
    if (bj) {
      if (typeof bj.version !== 'string' || !/^\d+\.\d+\.\d+/.test(bj.version)) {
        throw catalogError('E_CATALOG_INVALID_FIELD', `${path.join(dir, 'backstage.json')}: version must be a Backstage release such as "1.39.1", not ${JSON.stringify(bj.version)}`)
      }
      return bj.version
    }
    const pj = readJson(path.join(dir, 'package.json'))
    if ((pj && pj.workspaces !== undefined) || fs.existsSync(path.join(dir, '.git'))) return undefined
    const up = path.dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/** The `catalog` section of a package.json, checked field by field. */
function catalogSection (manifest, file) {
  const c = manifest && manifest.catalog
  if (c === undefined) return {}
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw catalogError('E_CATALOG_INVALID_FIELD', `${file}: catalog must be an object such as { "title": "…", "categories": ["…"] }`)
  }
  for (const [key, value] of Object.entries(c)) {
    const type = CATALOG_FIELDS[key]
    if (!type) throw catalogError('E_CATALOG_INVALID_FIELD', `${file}: catalog.${key} is not a catalog field (known: ${Object.keys(CATALOG_FIELDS).join(', ')})`)
    if (type === 'support') {
      checkSupport(value, `${file}: catalog`)
      continue
    }
    const ok = type === 'strings' ? Array.isArray(value) && value.every((v) => typeof v === 'string') : typeof value === type && value !== ''
    if (!ok) throw catalogError('E_CATALOG_INVALID_FIELD', `${file}: catalog.${key} must be ${type === 'strings' ? 'an array of strings' : 'a non-empty string'}`)
  }
  return c
}

/** A `support` given for both entities: what the Package or the Plugin schema accepts (levels mapped after). */
function checkSupport (support, what) {
  if (support === undefined || schemas().validateSupport(support)) return support
  const levels = [...new Set([...schemas().supportLevels.Package, ...schemas().supportLevels.Plugin])]
  throw catalogError('E_CATALOG_INVALID_FIELD', `${what}: support must be a string or { provider, level } with level one of ${levels.join(', ')}`)
}

/** Package support levels are `production` where Plugin entities say `generally-available`. */
function packageSupport (support) {
  if (support && typeof support === 'object' && support.level === 'generally-available') return { ...support, level: 'production' }
  return support
}

function pluginSupport (support) {
  if (support && typeof support === 'object' && support.level === 'production') return { ...support, level: 'generally-available' }
  return support
}

/** Lower-case tags Backstage accepts, from package.json keywords (others dropped). */
function tagsOf (keywords) {
  if (!Array.isArray(keywords)) return []
  const out = []
  for (const k of keywords) {
    const t = String(k).trim().toLowerCase().replace(/[\s_]+/g, '-')
    if (TAG_RE.test(t) && !out.includes(t)) out.push(t)
  }
  return out
}

function titleCase (id) {
  return String(id).split(/[-_.]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ')
}

/** Drops undefined values and empty arrays, so that the YAML shows only what is known. */
function compact (obj) {
  const out = {}
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue
    out[k] = v
  }
  return out
}

/**
 * Loads what one plugin contributes: its dist-dynamic manifest (`dir`), its
 * source folder's manifest (`source`, where `catalog`, `backstage.pluginId`
 * and the app-config live) and the artifact. `plugin` is
 * `{ dir, source?, dynamicArtifact, integrity?, pluginConfig? }`.
 */
function loadPlugin (plugin, i) {
  if (plugin === null || typeof plugin !== 'object') throw catalogError('E_INVALID_OPTION', `catalogEntities: plugins[${i}] must be an object { dir, source?, dynamicArtifact, integrity? }`)
  if (typeof plugin.dir !== 'string' || plugin.dir === '') throw catalogError('E_INVALID_OPTION', `catalogEntities: plugins[${i}].dir must name the plugin's dist-dynamic folder`)
  if (typeof plugin.dynamicArtifact !== 'string' || plugin.dynamicArtifact === '') {
    throw catalogError('E_INVALID_OPTION', `catalogEntities: plugins[${i}].dynamicArtifact must be what RHDH installs (oci://host/repo@sha256:…!dir, a tgz URL or name@version)`)
  }
  const dir = path.resolve(plugin.dir)
  const file = path.join(dir, 'package.json')
  const manifest = readJson(file)
  if (!manifest) throw catalogError('E_CATALOG_READ', `${file}: no package.json; pass the plugin's dist-dynamic folder`)
  const source = plugin.source ? path.resolve(plugin.source) : (path.basename(dir) === 'dist-dynamic' ? path.dirname(dir) : null)
  const sourceFile = source ? path.join(source, 'package.json') : null
  const sourceManifest = sourceFile ? readJson(sourceFile) : null
  const version = manifest.version
  if (typeof version !== 'string' || version === '') {
    throw catalogError('E_CATALOG_NO_VERSION', `${file}: version is missing; a catalog Package needs the version RHDH installs (run the dynamic-plugin export again, or set "version")`)
  }
  if (typeof manifest.name !== 'string' || manifest.name === '') throw catalogError('E_CATALOG_INVALID_NAME', `${file}: name is missing`)
  const packageName = sourceManifest && typeof sourceManifest.name === 'string' ? sourceManifest.name : manifest.name.replace(/-dynamic$/, '')
  const catalogFile = sourceManifest && sourceManifest.catalog !== undefined ? sourceFile : file
  const catalog = catalogSection(sourceManifest && sourceManifest.catalog !== undefined ? sourceManifest : manifest, catalogFile)
  const backstage = { ...(manifest.backstage ?? {}), ...(sourceManifest?.backstage ?? {}) }
  let pluginConfig = plugin.pluginConfig
  if (pluginConfig === undefined && source) {
    const { findAppConfig } = require('./folders.js')
    const found = findAppConfig(source)
    if (found) {
      const node = require('./yaml.js').parseAppConfig(found.yaml, found.file)
      pluginConfig = node ? node.toJSON() : undefined
    }
  }
  return {
    file,
    catalogFile,
    manifest,
    packageName,
    version,
    name: catalog.name !== undefined ? entityName(catalog.name, catalogFile, 'catalog.name') : entityName(packageName, sourceManifest ? sourceFile : file),
    role: typeof backstage.role === 'string' ? backstage.role : undefined,
    pluginId: typeof backstage.pluginId === 'string' && backstage.pluginId !== '' ? backstage.pluginId : undefined,
    pluginIdFile: sourceManifest?.backstage?.pluginId !== undefined ? sourceFile : file,
    catalog,
    source,
    dynamicArtifact: plugin.dynamicArtifact,
    integrity: plugin.integrity,
    pluginConfig: pluginConfig ?? undefined,
    supportedVersions: backstageVersion(source ?? dir),
  }
}

/** The Package entity of one loaded plugin. */
function packageEntity (p, pluginName, options) {
  const m = p.manifest
  const links = []
  const homepage = typeof m.homepage === 'string' && /^https?:\/\//.test(m.homepage) ? m.homepage : null
  if (homepage) links.push({ url: homepage, title: 'Homepage' })
  const repo = urlOf(m.repository)
  if (repo) links.push({ url: repo, title: 'Repository' })
  const bugs = urlOf(m.bugs)
  if (bugs) links.push({ url: bugs, title: 'Bugs' })
  const backstage = compact({ role: p.role, supportedVersions: p.supportedVersions })
  const appConfigExamples = p.pluginConfig && typeof p.pluginConfig === 'object' && !Array.isArray(p.pluginConfig)
    ? [{ title: 'Default configuration', content: p.pluginConfig }]
    : undefined
  return {
    apiVersion: API_VERSION,
    kind: 'Package',
    metadata: compact({
      name: p.name,
      namespace: options.namespace,
      title: p.packageName,
      description: typeof m.description === 'string' && m.description !== '' ? m.description : undefined,
      links,
      tags: tagsOf(m.keywords),
    }),
    spec: compact({
      packageName: p.packageName,
      dynamicArtifact: p.dynamicArtifact,
      integrity: p.integrity,
      version: p.version,
      backstage: Object.keys(backstage).length ? backstage : undefined,
      author: authorOf(m.author),
      support: packageSupport(p.catalog.support ?? options.support),
      lifecycle: p.catalog.lifecycle ?? options.lifecycle,
      partOf: [pluginName],
      appConfigExamples,
    }),
  }
}

/** Frontend first: its description is the one people see. */
const ROLE_ORDER = ['frontend-plugin', 'backend-plugin', 'frontend-plugin-module', 'backend-plugin-module']

function pluginEntity (name, members, options) {
  const sorted = [...members].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
  const pick = (field) => sorted.map((p) => p.catalog[field]).find((v) => v !== undefined)
  const given = (options.plugins && options.plugins[name]) || {}
  const first = sorted[0]
  const description = given.description ?? pick('description') ?? sorted.map((p) => p.manifest.description).find((d) => typeof d === 'string' && d !== '')
  const tags = [...new Set(sorted.flatMap((p) => p.catalog.tags ?? tagsOf(p.manifest.keywords)))].filter((t) => TAG_RE.test(t))
  const author = sorted.map((p) => authorOf(p.manifest.author)).find(Boolean)
  return {
    apiVersion: API_VERSION,
    kind: 'Plugin',
    metadata: compact({
      name,
      namespace: options.namespace,
      title: given.title ?? pick('title') ?? titleCase(first.pluginId ?? name),
      description,
      tags,
    }),
    spec: compact({
      icon: given.icon ?? pick('icon'),
      author,
      categories: given.categories ?? pick('categories'),
      highlights: given.highlights ?? pick('highlights'),
      support: pluginSupport(pick('support') ?? options.support),
      lifecycle: pick('lifecycle') ?? options.lifecycle,
      packages: sorted.map((p) => p.name).sort(),
    }),
  }
}

function rank (p) {
  const r = ROLE_ORDER.indexOf(p.role)
  return r < 0 ? ROLE_ORDER.length : r
}

/**
 * The Extensions catalog entities of `plugins` (one per dist-dynamic folder:
 * `{ dir, source?, dynamicArtifact, integrity?, pluginConfig? }`): one
 * `Package` per plugin package, one `Plugin` per Backstage plugin
 * (`backstage.pluginId`, else the package itself) listing its packages, and
 * the `dynamic-plugins.default.yaml` entries (disabled unless
 * `options.enable`). Options: `support` (a string or `{ provider, level }`),
 * `lifecycle`, `namespace`, `enable`, and `plugins: { <pluginName>: { title,
 * description, categories, icon, highlights } }` over the package.json
 * `catalog` sections. Throws E_CATALOG_* naming the file and field.
 */
function catalogEntities (plugins, options = {}) {
  options = options ?? {}
  if (!Array.isArray(plugins) || plugins.length === 0) throw catalogError('E_INVALID_OPTION', 'catalogEntities: pass an array of at least one plugin { dir, dynamicArtifact, … }')
  checkSupport(options.support, 'options')
  for (const key of ['lifecycle', 'namespace']) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || !NAME_RE.test(options[key]))) {
      throw catalogError('E_INVALID_OPTION', `catalogEntities: options.${key} must be a word such as ${key === 'lifecycle' ? 'production' : 'default'}`)
    }
  }
  const loaded = plugins.map(loadPlugin)
  const byName = new Map()
  for (const p of loaded) {
    const other = byName.get(p.name)
    if (other) {
      throw catalogError('E_CATALOG_DUPLICATE_NAME',
        `${other.file} and ${p.file}: both packages give the catalog entity name ${JSON.stringify(p.name)} (from name); give one a "catalog": { "name": "…" } in its package.json`)
    }
    byName.set(p.name, p)
  }
  const groups = new Map()
  for (const p of loaded) {
    const plugin = p.pluginId !== undefined ? entityName(p.pluginId, p.pluginIdFile, 'backstage.pluginId') : p.name
    if (!groups.has(plugin)) groups.set(plugin, [])
    groups.get(plugin).push(p)
  }
  const packages = loaded.map((p) => {
    const plugin = [...groups].find(([, members]) => members.includes(p))[0]
    return packageEntity(p, plugin, options)
  })
  const pluginEntities = [...groups].map(([name, members]) => pluginEntity(name, members, options))
  const defaults = loaded.map((p) => compact({
    package: p.dynamicArtifact,
    integrity: p.integrity,
    disabled: !options.enable,
    pluginConfig: p.pluginConfig,
  }))
  for (const e of [...packages, ...pluginEntities]) {
    const problem = entityProblem(e)
    if (problem) throw catalogError('E_INTERNAL', `generated ${e.kind} ${e.metadata.name} fails the Extensions schema (${problem}); this is a bug in dynpack`)
  }
  return { packages, plugins: pluginEntities, defaults, location: locationEntity(packages, pluginEntities) }
}

function locationEntity (packages, plugins) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Location',
    metadata: { name: 'extensions', description: 'The Extensions catalog entities of this index (written by dynpack)' },
    spec: {
      targets: [
        ...packages.map((e) => `./packages/${e.metadata.name}.yaml`).sort(),
        ...plugins.map((e) => `./plugins/${e.metadata.name}.yaml`).sort(),
      ],
    },
  }
}

// ---------------------------------------------------------------------------
// Validation: ajv with the published schemas (lib/schemas/), compiled once on
// first use, plus what RHDH's catalog needs beyond them.

const SCHEMA_FILES = { Package: 'packages.json', Plugin: 'plugins.json' }
const SUPPORT_POINTERS = { Package: '#/$defs/ExtensionsPackageSpec/properties/support', Plugin: '#/$defs/ExtensionsPluginSpec/properties/support' }
let compiled = null

/** The compiled validators: `validateEntity` (either kind), `validateSupport`, and each kind's support levels. */
function schemas () {
  if (compiled) return compiled
  const Ajv = require('ajv')
  const ajv = new Ajv({ allErrors: true })
  const ids = {}
  for (const [kind, file] of Object.entries(SCHEMA_FILES)) {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, 'schemas', file), 'utf8'))
    ajv.addSchema(schema)
    ids[kind] = schema.$id
  }
  const byKind = (kind, extra = {}) => ({
    if: { type: 'object', properties: { kind: { const: kind } }, required: ['kind'] },
    then: { allOf: [{ $ref: ids[kind] }, extra] },
  })
  const validateEntity = ajv.compile({
    type: 'object',
    // RHDH's catalog refuses what the schemas leave open: another apiVersion or kind, an invalid entity name.
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { enum: Object.keys(ids) },
      metadata: { type: 'object', properties: { name: { type: 'string', pattern: NAME_RE.source } } },
    },
    required: ['apiVersion', 'kind'],
    allOf: [
      byKind('Package'),
      // A Plugin's packages: entity names, checked against packages/ by readCatalog.
      byKind('Plugin', { type: 'object', properties: { spec: { type: 'object', properties: { packages: { type: 'array', items: { type: 'string' } } } } } }),
    ],
  })
  const validateSupport = ajv.compile({ anyOf: Object.keys(ids).map((kind) => ({ $ref: ids[kind] + SUPPORT_POINTERS[kind] })) })
  const supportLevels = {}
  for (const kind of Object.keys(ids)) {
    const schema = ajv.getSchema(ids[kind] + SUPPORT_POINTERS[kind]).schema
    supportLevels[kind] = schema.oneOf.find((s) => s.type === 'object').properties.level.enum
  }
  // dynamic-plugins.default.yaml: what RHDH's installer reads of it.
  const validateDefaults = ajv.compile({
    type: 'object',
    properties: { plugins: { type: 'array', items: { type: 'object', properties: { package: { type: 'string' } }, required: ['package'] } } },
  })
  compiled = { validateEntity, validateSupport, validateDefaults, supportLevels }
  return compiled
}

/** The dotted field of an ajv error (`spec.appConfigExamples[0].content`), as path parts. */
function errorField (err) {
  const parts = err.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (err.keyword === 'additionalProperties') parts.push(err.params.additionalProperty)
  if (err.keyword === 'required') parts.push(err.params.missingProperty)
  return parts
}

function dotted (parts) {
  return parts.reduce((s, p) => (/^\d+$/.test(p) ? `${s}[${p}]` : s ? `${s}.${p}` : p), '') || 'the entity'
}

/**
 * ajv's errors as one sentence per field. The alternatives of a `oneOf`
 * fail at once (a string, or an object whose level is wrong): a field's
 * type errors are joined, and an error on a field whose subfield also
 * failed is left out, so the deepest problem is the one named.
 */
function describeErrors (errors, entity) {
  const groups = new Map()
  for (const err of errors) {
    if (['oneOf', 'anyOf', 'allOf', 'if', '$ref'].includes(err.keyword)) continue
    const parts = errorField(err)
    const key = JSON.stringify(parts)
    if (!groups.has(key)) groups.set(key, { parts, errors: [] })
    groups.get(key).errors.push(err)
  }
  const all = [...groups.values()]
  const deeper = (a, b) => b.parts.length > a.parts.length && a.parts.every((p, i) => b.parts[i] === p)
  const problems = []
  for (const g of all) {
    if (all.some((other) => deeper(g, other))) continue
    const field = dotted(g.parts)
    const types = g.errors.filter((e) => e.keyword === 'type').map((e) => [e.params.type].flat().join(' or '))
    if (types.length) {
      problems.push(`${field} must be ${[...new Set(types)].join(' or ')}`)
      continue
    }
    const err = g.errors[0]
    const value = g.parts.reduce((v, p) => (v == null ? v : v[p]), entity)
    switch (err.keyword) {
      case 'additionalProperties': problems.push(`${field} is not allowed`); break
      case 'required': problems.push(`${field} is required`); break
      case 'enum': problems.push(`${field} must be one of ${err.params.allowedValues.join(', ')}, not ${JSON.stringify(value)}`); break
      case 'const': problems.push(`${field} must be ${err.params.allowedValue}, not ${JSON.stringify(value)}`); break
      case 'pattern': problems.push(`${field} ${JSON.stringify(value)} is not a valid entity name (letters, digits, '-', '_', '.', at most 63 characters, starting and ending with a letter or digit)`); break
      default: problems.push(`${field} ${err.message}`)
    }
  }
  return problems.join('; ')
}

/**
 * Why `entity` fails its Extensions schema (Package or Plugin), or null:
 * ajv with the published schemas, plus the apiVersion, kind and entity
 * name RHDH's catalog needs.
 */
function entityProblem (entity) {
  const validate = schemas().validateEntity
  return validate(entity) ? null : describeErrors(validate.errors, entity)
}

// ---------------------------------------------------------------------------
// The folder: catalog-entities/extensions/{packages,plugins}/*.yaml, all.yaml,
// dynamic-plugins.default.yaml.

const YAML_OUT = { lineWidth: 0, minContentWidth: 0, indentSeq: true }

function toYaml (value) {
  return new (yamlLib().Document)(value, { version: '1.2' }).toString(YAML_OUT)
}

function parseYamlFile (file) {
  const text = fs.readFileSync(file, 'utf8')
  const doc = yamlLib().parseDocument(text, { uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length) throw catalogError('E_CATALOG_INVALID_ENTITY', `${file}: not valid YAML (${doc.errors[0].message.split('\n')[0]})`)
  return doc.toJSON()
}

function listYaml (dir) {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile() && /\.ya?ml$/.test(d.name)).map((d) => d.name).sort()
  } catch (err) {
    if (err.code === 'ENOENT') return []
    throw catalogError('E_CATALOG_READ', `${dir}: ${err.message}`)
  }
}

/**
 * Reads a catalog folder (`DIR` holding catalog-entities/extensions/ and
 * maybe dynamic-plugins.default.yaml) and checks every entity: the schema,
 * kind matching its folder, unique names, Plugin packages that exist.
 * Returns `{ packages, plugins, defaults, files }` (each entity with `file`
 * in a symbol-free `files` map: name → file). Throws E_CATALOG_INVALID_ENTITY
 * or E_CATALOG_DUPLICATE_NAME naming the file and field.
 */
function readCatalog (dir) {
  const root = path.resolve(dir)
  const base = path.join(root, ENTITIES)
  const out = { packages: [], plugins: [], defaults: [], files: {} }
  for (const [folder, kind, list] of [['packages', 'Package', out.packages], ['plugins', 'Plugin', out.plugins]]) {
    const seen = new Map()
    for (const f of listYaml(path.join(base, folder))) {
      if (f === 'all.yaml') continue
      const file = path.join(base, folder, f)
      const entity = parseYamlFile(file)
      const problem = entityProblem(entity)
      if (problem) throw catalogError('E_CATALOG_INVALID_ENTITY', `${file}: ${problem}; fix the entity (the Extensions ${folder} schema)`)
      if (entity.kind !== kind) throw catalogError('E_CATALOG_INVALID_ENTITY', `${file}: kind is ${entity.kind}, but files in ${folder}/ must be ${kind} entities`)
      const name = entity.metadata.name
      if (seen.has(name)) throw catalogError('E_CATALOG_DUPLICATE_NAME', `${seen.get(name)} and ${file}: both define the ${kind} metadata.name ${JSON.stringify(name)}`)
      seen.set(name, file)
      out.files[`${folder}/${name}`] = file
      list.push(entity)
    }
  }
  const names = new Set(out.packages.map((e) => e.metadata.name))
  for (const p of out.plugins) {
    for (const [i, ref] of (p.spec.packages ?? []).entries()) {
      if (!names.has(ref)) throw catalogError('E_CATALOG_INVALID_ENTITY', `${out.files[`plugins/${p.metadata.name}`]}: spec.packages[${i}] names the Package ${JSON.stringify(ref)}, which is not in packages/`)
    }
  }
  const defaultFile = path.join(root, DEFAULT_FILE)
  if (fs.existsSync(defaultFile)) {
    const doc = parseYamlFile(defaultFile)
    const validate = schemas().validateDefaults
    if (!validate(doc)) throw catalogError('E_CATALOG_INVALID_ENTITY', `${defaultFile}: ${describeErrors(validate.errors, doc).replace(/^the entity/, 'the file')}; it lists plugins as { package, … }`)
    out.defaults = doc.plugins ?? []
  }
  return out
}

/** A key order that does not depend on how the object was built: the YAML is stable. */
function ordered (entity) {
  const metaOrder = ['name', 'namespace', 'title', 'description', 'labels', 'annotations', 'tags', 'links']
  const specOrder = ['packageName', 'dynamicArtifact', 'integrity', 'version', 'backstage', 'author', 'support', 'lifecycle', 'partOf', 'icon', 'categories', 'highlights', 'packages', 'appConfigExamples']
  const sortBy = (obj, order) => {
    const keys = Object.keys(obj).sort((a, b) => {
      const x = order.indexOf(a)
      const y = order.indexOf(b)
      return (x < 0 ? order.length : x) - (y < 0 ? order.length : y) || a.localeCompare(b)
    })
    return Object.fromEntries(keys.map((k) => [k, obj[k]]))
  }
  return { apiVersion: entity.apiVersion, kind: entity.kind, metadata: sortBy(entity.metadata, metaOrder), spec: sortBy(entity.spec, specOrder) }
}

/**
 * Writes `generated` (catalogEntities' result) into the catalog folder
 * `dir`, merged with what is there: entities and default entries of other
 * plugins are kept, those of the same packages replaced; a Plugin entity
 * keeps the packages an earlier run listed that still exist. The new folder
 * is assembled beside the old one and renamed into place, so a reader never
 * sees half of it. Resolves to `{ dir, packages, plugins, files }` (names).
 */
function writeCatalog (dir, generated) {
  const root = path.resolve(dir)
  fs.mkdirSync(root, { recursive: true })
  // Two runs into one folder (CI jobs sharing a workspace) would each write
  // back what they read, and one plugin would be lost: the second waits.
  let lock
  try {
    lock = require('./addon.js').loadAddon().lockFolder(root)
  } catch (err) {
    throw require('./errors.js').toDynpackError(err)
  }
  try {
    return mergeInto(root, generated)
  } finally {
    lock.release()
  }
}

/** writeCatalog's work, under the folder's lock. */
function mergeInto (root, generated) {
  const old = readCatalog(root)
  const packages = new Map(old.packages.map((e) => [e.metadata.name, e]))
  const replacedArtifacts = new Set()
  for (const e of generated.packages) {
    const before = packages.get(e.metadata.name)
    if (before && before.spec.dynamicArtifact) replacedArtifacts.add(before.spec.dynamicArtifact)
    packages.set(e.metadata.name, e)
  }
  const plugins = new Map(old.plugins.map((e) => [e.metadata.name, e]))
  for (const e of generated.plugins) {
    const before = plugins.get(e.metadata.name)
    const kept = (before?.spec.packages ?? []).filter((n) => packages.has(n) && !e.spec.packages.includes(n))
    plugins.set(e.metadata.name, kept.length ? { ...e, spec: { ...e.spec, packages: [...e.spec.packages, ...kept].sort() } } : e)
  }
  const newArtifacts = new Set(generated.defaults.map((d) => d.package))
  const defaults = [
    ...old.defaults.filter((d) => !replacedArtifacts.has(d.package) && !newArtifacts.has(d.package)),
    ...generated.defaults,
  ].sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0))

  const temp = fs.mkdtempSync(path.join(root, '.dynpack-catalog-'))
  try {
    const base = path.join(temp, ENTITIES)
    for (const folder of ['packages', 'plugins']) fs.mkdirSync(path.join(base, folder), { recursive: true })
    const sortedPackages = [...packages.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    const sortedPlugins = [...plugins.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    for (const e of sortedPackages) fs.writeFileSync(path.join(base, 'packages', `${e.metadata.name}.yaml`), toYaml(ordered(e)))
    for (const e of sortedPlugins) fs.writeFileSync(path.join(base, 'plugins', `${e.metadata.name}.yaml`), toYaml(ordered(e)))
    fs.writeFileSync(path.join(base, 'all.yaml'), toYaml(locationEntity(sortedPackages, sortedPlugins)))
    fs.writeFileSync(path.join(temp, DEFAULT_FILE), '# Written by dynpack: the plugins of this catalog index, pinned by digest; RHDH\n' +
      "# replaces the first entry of `includes` in dynamic-plugins.yaml with this file.\n" + toYaml({ plugins: defaults.map(orderedDefault) }))
    // Swap in: the old entities folder goes aside first, so that each rename is atomic.
    const target = path.join(root, ENTITIES)
    const aside = path.join(temp, 'old')
    fs.mkdirSync(path.dirname(target), { recursive: true })
    const hadTarget = fs.existsSync(target)
    if (hadTarget) fs.renameSync(target, aside)
    try {
      fs.renameSync(base, target)
    } catch (err) {
      if (hadTarget) fs.renameSync(aside, target)
      throw catalogError('E_DESTINATION', `${target}: cannot replace it (${err.message}); the catalog is unchanged`)
    }
    fs.renameSync(path.join(temp, DEFAULT_FILE), path.join(root, DEFAULT_FILE))
  } finally {
    fs.rmSync(temp, { recursive: true, force: true })
  }
  return {
    dir: root,
    packages: [...packages.keys()].sort(),
    plugins: [...plugins.keys()].sort(),
    defaults: defaults.length,
  }
}

function orderedDefault (d) {
  const out = { package: d.package }
  if (d.integrity !== undefined) out.integrity = d.integrity
  out.disabled = d.disabled === undefined ? true : d.disabled
  for (const [k, v] of Object.entries(d)) if (!(k in out)) out[k] = v
  return out
}

/**
 * The CLI's `--catalog DIR`: entities of what a command just produced,
 * merged into DIR. `items`: `[{ dir, source?, dynamicArtifact, integrity?, pluginConfig? }]`.
 * Returns writeCatalog's result plus the text lines of the printed summary.
 */
function updateCatalog (dir, items, options = {}) {
  const generated = catalogEntities(items, options)
  const written = writeCatalog(dir, generated)
  return { ...written, generated }
}

/**
 * The lines a command prints about a catalog folder (`written`: `{ dir,
 * packages, plugins }`): what it holds and the RHDH setting that reads its
 * index image `indexRef` (when built), or how to build one.
 */
function catalogSummary (written, { cwd = process.cwd(), indexRef } = {}) {
  const relative = written.dir ? path.relative(cwd, written.dir) : ''
  const rel = !written.dir ? null : relative === '' ? '.' : relative.startsWith('..') ? written.dir : relative
  const ref = indexRef ?? 'REGISTRY/REPOSITORY:TAG'
  const counts = `${written.packages.length} Package, ${written.plugins.length} Plugin entit${written.plugins.length === 1 ? 'y' : 'ies'}`
  return [
    indexRef
      ? `The catalog index image ${indexRef} holds ${rel ? `${rel}/ (${counts}, ${DEFAULT_FILE})` : `${counts} and ${DEFAULT_FILE}`}. In RHDH, set`
      : `Wrote the Extensions catalog ${rel}/ (${counts}, ${DEFAULT_FILE}). Build and push its index image with\n  dynpack catalog-index ${rel} --tag ${ref} --push\nthen set, in RHDH,`,
    `  CATALOG_INDEX_IMAGE=${ref}`,
    `      the main index: these entities, and ${DEFAULT_FILE} in place of RHDH's own plugin list, or`,
    `  EXTRA_CATALOG_INDEX_IMAGES=${indexRef ? catalogIndexName(indexRef) : 'REPOSITORY'}=${ref}`,
    "      entities only, beside RHDH's own index (comma-separated name=ref pairs)",
    'in the environment of the install-dynamic-plugins init container (Helm and Operator: docs/extensions-catalog.md).',
  ]
}

/** The `name` of an EXTRA_CATALOG_INDEX_IMAGES `name=ref` pair: the last segment of the image's repository. */
function catalogIndexName (ref) {
  return parseReference(ref).repository.split('/').pop()
}

// ---------------------------------------------------------------------------
// The catalog index image: one gzip layer with dynamic-plugins.default.yaml and
// catalog-entities/ at its root, written by the Rust core (buildFolderImage:
// sorted entries, root owners, fixed modes and times, the plugin layers'
// pinned deflate) into an OCI image layout pushOciImage pushes.

/** The files of the index: [{ path (posix, relative), file }], regular files only, dot-names skipped. */
function indexEntries (root) {
  const entries = []
  const defaultFile = path.join(root, DEFAULT_FILE)
  const st = fs.statSync(defaultFile, { throwIfNoEntry: false })
  if (st && st.isFile()) entries.push({ path: DEFAULT_FILE, file: defaultFile })
  const walk = (rel) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue
      const childRel = `${rel}/${d.name}`
      if (d.isDirectory()) walk(childRel)
      else if (d.isFile()) entries.push({ path: childRel, file: path.join(root, childRel) })
    }
  }
  if (fs.existsSync(path.join(root, 'catalog-entities'))) walk('catalog-entities')
  return entries
}

/** The Rust reference parser (src/oci/reference.rs): `{ repository, tag, digest, refName }`, or E_INVALID_TAG. */
function parseReference (ref) {
  try {
    return require('./addon.js').loadAddon().parseImageReference(ref)
  } catch (err) {
    throw require('./errors.js').toDynpackError(err)
  }
}

/**
 * Checks that every `dynamicArtifact` of `catalog` (readCatalog's result)
 * resolves: an oci:// reference to an image of its registry holding the
 * `!dir` plugin, a URL that answers with bytes of the given integrity, a
 * `name@version` that npm (with its configuration here) finds with that
 * integrity. Resolves to notes; rejects with E_CATALOG_UNRESOLVED.
 */
async function checkArtifacts (catalog, options, api) {
  const problems = []
  const notes = []
  for (const e of catalog.packages) {
    const a = e.spec.dynamicArtifact
    const file = catalog.files[`packages/${e.metadata.name}`]
    if (!a) continue
    try {
      if (a.startsWith('oci://')) {
        const r = await api.inspectOciImage(a, { ...registryOnly(options), signal: options.signal })
        const dir = a.includes('!') ? a.slice(a.lastIndexOf('!') + 1) : null
        const dirs = (r.plugins ?? []).map((p) => p.directory)
        if (dir && !dirs.includes(dir)) problems.push(`${file}: spec.dynamicArtifact ${a}: the image holds ${dirs.join(', ') || 'no plugin'}, not ${dir}`)
      } else if (/^https?:\/\//.test(a)) {
        const res = await fetch(a, { signal: options.signal })
        if (!res.ok) { problems.push(`${file}: spec.dynamicArtifact ${a}: HTTP ${res.status}`); continue }
        const body = Buffer.from(await res.arrayBuffer())
        if (e.spec.integrity && !(await api.verifyIntegrity(body, e.spec.integrity))) problems.push(`${file}: spec.integrity does not match the bytes of ${a}`)
      } else {
        // name@version: asked of the registry npm is configured for (as RHDH's installer, with its .npmrc).
        const served = await npmIntegrity(a, options)
        if (served === null) problems.push(`${file}: spec.dynamicArtifact ${a}: npm finds no such version`)
        else if (e.spec.integrity && served !== e.spec.integrity) problems.push(`${file}: spec.integrity is not the integrity the npm registry serves for ${a} (${served})`)
        else notes.push(`${file}: ${a} resolves with npm's configuration here; RHDH's installer needs the same registry in its .npmrc`)
      }
    } catch (err) {
      problems.push(`${file}: spec.dynamicArtifact ${a}: ${err.code ?? 'E_INTERNAL'}: ${err.message}`)
    }
  }
  if (problems.length) throw catalogError('E_CATALOG_UNRESOLVED', problems.join('; '))
  return notes
}

/** `dist.integrity` of `spec` (name@version) from the npm registry npm is configured for; null when npm finds none. */
function npmIntegrity (spec, { env = process.env, signal } = {}) {
  const { execFile } = require('node:child_process')
  return new Promise((resolve, reject) => {
    execFile('npm', ['view', spec, 'dist.integrity', '--json'], { env, signal, timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err && /E404|is not in this registry|No match found/.test(String(stderr))) return resolve(null)
      if (err) return reject(catalogError('E_CATALOG_UNRESOLVED', `npm view ${spec}: ${String(stderr).trim().split('\n').pop() || err.message}`))
      const text = stdout.trim()
      if (text === '') return resolve(null)
      const value = JSON.parse(text)
      resolve(Array.isArray(value) ? value[value.length - 1] : value)
    })
  })
}

function registryOnly (o) {
  const out = {}
  for (const k of ['authfile', 'creds', 'certDir', 'tlsVerify']) if (o[k] !== undefined) out[k] = o[k]
  return out
}

/**
 * Builds the catalog index image of the folder `dir` (dynamic-plugins.default.yaml
 * and catalog-entities/, as writeCatalog leaves them or as a team curates
 * them): every entity is checked first (readCatalog), with `check: true`
 * every dynamicArtifact is resolved (checkArtifacts), then the one-layer
 * image is written to the layout `output` and, with `push: true`, pushed to
 * `tag` (and signed with `signKey`). Options: `tag` (required), `output`,
 * `sourceDateEpoch`, `push`, `check`, `signKey`, `passphrase`, registry
 * options (`authfile`, `creds`, `certDir`, `tlsVerify`), `signal`.
 * Resolves to `{ output, refName, manifestDigest, layerDigest, layerSize,
 * files, packages, plugins, pushed?, signed? }`. `api` is lib/api.js, passed in
 * by it (it requires this module, so this one cannot require it back).
 */
async function buildCatalogIndex (dir, options, api) {
  options = options ?? {}
  options = options ?? {}
  if (typeof dir !== 'string' || dir === '') throw catalogError('E_INVALID_OPTION', 'buildCatalogIndex: dir must name the catalog folder')
  if (typeof options.tag !== 'string') throw catalogError('E_INVALID_TAG', 'buildCatalogIndex: options.tag must name the index image, e.g. quay.io/acme/catalog-index:1.0')
  const tag = options.tag
  parseReference(tag)
  const root = path.resolve(dir)
  if (!fs.existsSync(path.join(root, ENTITIES))) {
    throw catalogError('E_CATALOG_EMPTY', `${root}: no ${ENTITIES}/ folder; write one with --catalog on package, pack or publish, or curate it by hand`)
  }
  const catalog = readCatalog(root)
  if (catalog.packages.length === 0 && catalog.plugins.length === 0) throw catalogError('E_CATALOG_EMPTY', `${path.join(root, ENTITIES)}: no Package or Plugin entity`)
  const notes = options.check ? await checkArtifacts(catalog, options, api) : []
  let epoch = options.sourceDateEpoch
  if (epoch === undefined && process.env.SOURCE_DATE_EPOCH) epoch = Number(process.env.SOURCE_DATE_EPOCH)
  if (epoch === undefined) epoch = 0
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw catalogError('E_INVALID_OPTION', 'sourceDateEpoch (or SOURCE_DATE_EPOCH) must be whole seconds since 1970')
  const temp = options.output === undefined ? fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'dynpack-index-')) : null
  try {
    const written = await api._run(options.signal, (token) => api._native.buildFolderImage(indexEntries(root), {
      output: path.resolve(options.output ?? temp),
      tag,
      labels: { 'io.backstage.catalog-index': 'extensions' },
      createdBy: 'dynpack catalog-index',
      sourceDateEpoch: epoch,
    }, token))
    const result = {
      output: temp ? null : written.output,
      refName: written.refName,
      manifestDigest: written.manifestDigest,
      layerDigest: written.layerDigest,
      layerSize: written.layerSize,
      files: written.files,
      tag,
      packages: catalog.packages.map((e) => e.metadata.name),
      plugins: catalog.plugins.map((e) => e.metadata.name),
      notes,
    }
    if (options.push) {
      result.pushed = await api.pushOciImage(written.output, { ...registryOnly(options), tag, refName: written.refName, signal: options.signal })
      if (options.signKey) {
        const signOptions = { ...registryOnly(options), key: options.signKey, signal: options.signal }
        if (options.passphrase !== undefined) signOptions.passphrase = options.passphrase
        result.signed = await api.signOciImage(result.pushed.reference, signOptions)
      }
    }
    return result
  } finally {
    if (temp) fs.rmSync(temp, { recursive: true, force: true })
  }
}

module.exports = {
  catalogEntities,
  writeCatalog,
  readCatalog,
  updateCatalog,
  catalogSummary,
  catalogIndexName,
  buildCatalogIndex,
  entityProblem,
  entityName,
  ENTITIES,
  DEFAULT_FILE,
}
