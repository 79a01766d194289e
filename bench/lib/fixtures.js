'use strict'
// The bench's inputs, generated deterministically and cached: plugin source
// folders with a `dist-dynamic/` shaped like what Backstage's export produces
// (a backend with ~140 bundled packages in node_modules, a frontend with
// dist-scalprum chunks), a monorepo of 20 plugins and one large file.
// A fixture is written to `<name>.partial` and renamed when complete, so a
// folder that exists is always whole.

const fs = require('node:fs')
const path = require('node:path')
const { Rng } = require('./prng')
const { generate, IDENTS, SYLLABLES } = require('./content')

/** Bump when the generator's output changes, so caches are rebuilt. */
const GENERATOR_VERSION = 2

const MB = 1e6

/** Sizes of the full run; the quick run divides them (see `scaleOf`). */
const BACKEND = { files: 4000, bytes: 60 * MB, packages: 140, bundles: 8 }
const FRONTEND = { files: 600, bytes: 20 * MB }
const MONOREPO_MB = [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.2, 1.5, 2, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10]
const BIG_FILE = 1024 * 1024 * 1024

const BIN_EXTS = ['.wasm', '.node', '.png', '.woff2']

function rmrf (p) { fs.rmSync(p, { recursive: true, force: true }) }

/** A unique, npm-valid package name. */
function packageName (rng, i) {
  const base = `${rng.pick(SYLLABLES)}-${rng.pick(SYLLABLES)}-${i}`
  return rng.next() < 0.3 ? `@bench-${rng.pick(['aws', 'smithy', 'opentelemetry', 'types', 'backstage'])}/${base}` : base
}

function version (rng) { return `${rng.int(0, 12)}.${rng.int(0, 40)}.${rng.int(0, 20)}` }

/**
 * Distributes `bytes` over files with log-normal sizes (median `median`),
 * capped at `cap`: many small files, a long tail, as in node_modules.
 */
function sizes (rng, count, bytes, median, cap, min = 40) {
  if (count <= 0) return []
  const raw = []
  for (let i = 0; i < count; i++) raw.push(rng.lognormal(median, 1.4))
  let out = raw
  for (let pass = 0; pass < 3; pass++) {
    const sum = out.reduce((a, b) => a + b, 0)
    const f = bytes / sum
    out = out.map((s) => Math.max(min, Math.min(cap, Math.round(s * f))))
  }
  return out
}

/** Picks an extension (content kind) the way real packages mix them. */
function fileKind (rng) {
  switch (rng.weighted({ js: 38, dts: 22, map: 20, json: 4, mjs: 4, cjs: 4, md: 3, bin: 1.5, css: 1 })) {
    case 'js': return { ext: '.js', kind: 'js' }
    case 'dts': return { ext: '.d.ts', kind: 'dts' }
    case 'map': return { ext: '.js.map', kind: 'map' }
    case 'json': return { ext: '.json', kind: 'json' }
    case 'mjs': return { ext: '.mjs', kind: 'js' }
    case 'cjs': return { ext: '.cjs', kind: 'js' }
    case 'md': return { ext: '.md', kind: 'md' }
    case 'css': return { ext: '.css', kind: 'css' }
    default: return { ext: rng.pick(BIN_EXTS), kind: 'bin' }
  }
}

const DIRS = ['lib', 'dist', 'dist/cjs', 'dist/esm', 'dist/types', 'build', 'lib/internal', 'dist/cjs/utils']

/** Files of one package below `prefix`: `count` files, `bytes` in total. */
function packageFiles (rng, prefix, count, bytes) {
  const entries = []
  const used = new Set()
  const dirs = DIRS.slice(0, rng.int(2, DIRS.length))
  const s = sizes(rng, count, bytes, 3000, 600 * 1000)
  for (let i = 0; i < count; i++) {
    const { ext, kind } = fileKind(rng)
    const dir = rng.pick(dirs)
    let name = rng.pick(IDENTS) + ext
    if (used.has(dir + '/' + name)) name = `${i}-${name}`
    used.add(dir + '/' + name)
    entries.push({ path: `${prefix}${dir}/${name}`, kind, size: s[i] })
  }
  return entries
}

/** The package.json the export step writes into a backend's dist-dynamic. */
function backendManifest (name, deps) {
  return {
    name: `${name}-dynamic`,
    version: '0.1.0',
    description: 'A generated Backstage backend plugin for dynpack benchmarks',
    main: 'dist/index.cjs.js',
    types: 'dist/index.d.ts',
    license: 'Apache-2.0',
    files: ['dist', 'config.d.ts', 'app-config.janus-idp.yaml'],
    backstage: { role: 'backend-plugin', pluginId: name.split('/').pop(), pluginPackages: [name] },
    dependencies: deps,
    bundleDependencies: true,
  }
}

/**
 * Plans a backend dist-dynamic: own dist bundle + map, and `packages`
 * bundled packages (10% nested under another one), with `bundles` large
 * (1-3 MB) files among them. Returns the JSON files and the content entries.
 */
function planBackend (seed, { files, bytes, packages, bundles }) {
  const rng = new Rng(`backend:${seed}`)
  const name = `@bench/plugin-${seed}-backend`
  const entries = []
  const json = {}
  const own = Math.min(60, Math.floor(files * 0.015) + 4)
  const bundleBytes = []
  for (let i = 0; i < bundles; i++) bundleBytes.push(rng.int(1000, 3000) * 1000)
  const mainBytes = Math.min(2500 * 1000, Math.round(bytes * 0.04))
  entries.push({ path: 'dist/index.cjs.js', kind: 'js', size: mainBytes })
  entries.push({ path: 'dist/index.cjs.js.map', kind: 'map', size: Math.round(mainBytes * 1.3) })
  entries.push({ path: 'dist/index.d.ts', kind: 'dts', size: 12000 })
  entries.push({ path: 'dist/configSchema.json', kind: 'json', size: 4000 })
  entries.push({ path: 'config.d.ts', kind: 'dts', size: 1500 })
  entries.push({ path: 'README.md', kind: 'md', size: 3000 })
  entries.push(...packageFiles(rng, 'dist/', own, bytes * 0.01))
  let fixed = entries.reduce((a, e) => a + e.size, 0) + bundleBytes.reduce((a, b) => a + b, 0)

  // bundled packages: names, nesting and per-package share of files and bytes
  const pkgs = []
  for (let i = 0; i < packages; i++) {
    const nested = i > 10 && rng.next() < 0.1 ? pkgs[rng.int(0, pkgs.length - 1)] : null
    const p = { name: packageName(rng, i), version: version(rng), parent: nested && !nested.parent ? nested : null, deps: {} }
    p.dir = p.parent ? `${p.parent.dir}node_modules/${p.name}/` : `node_modules/${p.name}/`
    if (p.parent) p.parent.deps[p.name] = `^${p.version}`
    pkgs.push(p)
  }
  for (const p of pkgs) {
    for (let k = rng.int(0, 3); k > 0; k--) {
      const d = rng.pick(pkgs)
      if (d !== p && !d.parent) p.deps[d.name] = `^${d.version}`
    }
  }
  for (let i = 0; i < bundles; i++) {
    const p = pkgs[(i * 7919 + 3) % pkgs.length]
    entries.push({ path: `${p.dir}dist/bundle${i}.min.js`, kind: 'js', size: bundleBytes[i] })
  }
  const perPkgFiles = sizes(rng, packages, Math.max(packages * 4, files - entries.length - packages * 3), 18, 400, 1)
  const perPkgBytes = sizes(rng, packages, Math.max(packages * 1000, bytes - fixed), 150 * 1000, 4 * MB)
  for (let i = 0; i < packages; i++) {
    const p = pkgs[i]
    json[`${p.dir}package.json`] = { name: p.name, version: p.version, description: `${p.name} (generated)`, main: 'lib/index.js', license: 'MIT', dependencies: p.deps }
    entries.push({ path: `${p.dir}README.md`, kind: 'md', size: rng.int(500, 6000) })
    entries.push({ path: `${p.dir}LICENSE`, kind: 'license', size: 0 })
    entries.push(...packageFiles(rng, p.dir, Math.max(1, Math.round(perPkgFiles[i])), perPkgBytes[i]))
    fixed += perPkgBytes[i]
  }
  const deps = {}
  for (const p of pkgs) if (!p.parent) deps[p.name] = `^${p.version}`
  json['package.json'] = backendManifest(name, deps)
  json['../package.json'] = {
    name, version: '0.1.0', main: 'src/index.ts', license: 'Apache-2.0',
    backstage: { role: 'backend-plugin', pluginId: name.split('/').pop() },
  }
  // JSON is YAML: a small, valid app-config for the printed pluginConfig (dynpack refuses invalid YAML).
  json['../app-config.yaml'] = { bench: { pluginId: name.split('/').pop(), schedule: { frequency: { minutes: 30 } }, enabled: true } }
  return { id: `backend:${seed}`, json, entries }
}

/** Plans a frontend dist-dynamic: dist/ (ESM) and dist-scalprum/ chunks. */
function planFrontend (seed, { files, bytes }) {
  const rng = new Rng(`frontend:${seed}`)
  const name = `@bench/plugin-${seed}`
  const entries = []
  const hash = () => rng.u32().toString(16).padStart(8, '0')
  const esm = Math.max(2, Math.round(files * 0.15))
  const chunks = Math.max(2, Math.round(files * 0.35))
  const media = Math.max(1, Math.round(files * 0.03))
  const esmSizes = sizes(rng, esm, bytes * 0.15, 8000, 900 * 1000)
  for (let i = 0; i < esm; i++) {
    const base = i === 0 ? 'index' : `${rng.pick(IDENTS)}-${hash()}`
    entries.push({ path: `dist/esm/${base}.esm.js`, kind: 'js', size: esmSizes[i] })
    entries.push({ path: `dist/esm/${base}.esm.js.map`, kind: 'map', size: Math.round(esmSizes[i] * 1.4) })
  }
  entries.push({ path: 'dist/index.d.ts', kind: 'dts', size: 20000 })
  entries.push({ path: 'dist-scalprum/plugin-manifest.json', kind: 'json', size: 3000 })
  entries.push({ path: `dist-scalprum/bench.plugin-${seed}.${hash()}.js`, kind: 'js', size: 30000 })
  const chunkSizes = sizes(rng, chunks, bytes * 0.25, 15000, 2500 * 1000)
  for (let i = 0; i < chunks; i++) {
    const base = `${rng.int(100, 9999)}.${hash()}`
    entries.push({ path: `dist-scalprum/static/${base}.chunk.js`, kind: 'js', size: chunkSizes[i] })
    entries.push({ path: `dist-scalprum/static/${base}.chunk.js.map`, kind: 'map', size: Math.round(chunkSizes[i] * 1.3) })
  }
  for (let i = 0; i < Math.max(1, Math.round(files * 0.02)); i++) {
    entries.push({ path: `dist-scalprum/static/css/${hash()}.css`, kind: 'css', size: rng.int(2000, 40000) })
  }
  const mediaSizes = sizes(rng, media, bytes * 0.05, 20000, 800 * 1000)
  for (let i = 0; i < media; i++) {
    entries.push({ path: `dist-scalprum/static/media/${rng.pick(IDENTS)}.${hash()}${rng.pick(['.png', '.woff2'])}`, kind: 'bin', size: mediaSizes[i] })
  }
  entries.push({ path: 'README.md', kind: 'md', size: 4000 })
  const json = {
    'package.json': {
      name: `${name}-dynamic`,
      version: '0.1.0',
      description: 'A generated Backstage frontend plugin for dynpack benchmarks',
      main: 'dist/esm/index.esm.js',
      types: 'dist/index.d.ts',
      license: 'Apache-2.0',
      files: ['dist', 'dist-scalprum'],
      backstage: { role: 'frontend-plugin', pluginId: seed },
    },
    '../package.json': { name, version: '0.1.0', license: 'Apache-2.0', backstage: { role: 'frontend-plugin', pluginId: seed } },
  }
  return { id: `frontend:${seed}`, json, entries }
}

/** Writes a planned plugin: `dir` is the plugin source folder, files go to dir/dist-dynamic. */
function writePlugin (dir, plan, stats) {
  const dd = path.join(dir, 'dist-dynamic')
  const made = new Set()
  const put = (rel, data) => {
    const file = path.join(dd, rel)
    const parent = path.dirname(file)
    if (!made.has(parent)) { fs.mkdirSync(parent, { recursive: true }); made.add(parent) }
    fs.writeFileSync(file, data)
    if (!rel.startsWith('../')) { stats.files++; stats.bytes += data.length }
  }
  for (const [rel, obj] of Object.entries(plan.json)) put(rel, JSON.stringify(obj, null, 2) + '\n')
  for (const e of plan.entries) put(e.path, generate(e.kind, `${plan.id}:${e.path}`, e.size))
}

function scaled (base, k) {
  return {
    files: Math.max(20, Math.round(base.files * k)),
    bytes: base.bytes * k,
    packages: base.packages ? Math.max(3, Math.round(base.packages * k)) : undefined,
    bundles: base.bundles ? Math.max(1, Math.round(base.bundles * k)) : undefined,
  }
}

/** What each fixture is, by name; `scale` is 1 for the full run. */
function catalog (scale) {
  return {
    backend: { describe: 'backend plugin', make: (dir, st) => writePlugin(dir, planBackend('bench', scaled(BACKEND, scale)), st) },
    'backend-x4': { describe: 'backend plugin x4', make: (dir, st) => writePlugin(dir, planBackend('bench-x4', scaled(BACKEND, scale * 4)), st) },
    'backend-x16': { describe: 'backend plugin x16', make: (dir, st) => writePlugin(dir, planBackend('bench-x16', scaled(BACKEND, scale * 16)), st) },
    frontend: { describe: 'frontend plugin', make: (dir, st) => writePlugin(dir, planFrontend('bench', scaled(FRONTEND, scale)), st) },
    monorepo: {
      describe: 'monorepo of 20 plugins',
      make: (dir, st) => {
        fs.mkdirSync(dir, { recursive: true })
        fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench-monorepo', private: true, workspaces: ['plugins/*'] }, null, 2) + '\n')
        MONOREPO_MB.forEach((mb, i) => {
          const id = `p${String(i + 1).padStart(2, '0')}`
          const bytes = mb * MB * scale
          const plan = i % 2 === 0
            ? planBackend(id, { files: Math.max(20, Math.round(mb * 65 * scale)), bytes, packages: Math.max(2, Math.round(mb * 2.3 * scale)), bundles: mb >= 5 ? 1 : 0 })
            : planFrontend(id, { files: Math.max(10, Math.round(mb * 30 * scale)), bytes })
          writePlugin(path.join(dir, 'plugins', id), plan, st)
        })
      },
    },
    'big-file': {
      describe: 'one large file',
      make: (dir, st) => {
        fs.mkdirSync(dir, { recursive: true })
        const total = Math.round(BIG_FILE * scale)
        const rng = new Rng('big-file')
        const chunk = Buffer.alloc(16 * 1024 * 1024)
        const fd = fs.openSync(path.join(dir, 'big.bin'), 'w')
        for (let done = 0; done < total;) {
          const n = Math.min(chunk.length, total - done)
          rng.fill(chunk)
          fs.writeSync(fd, chunk, 0, n)
          done += n
        }
        fs.closeSync(fd)
        st.files = 1; st.bytes = total
      },
    },
  }
}

/**
 * Returns the fixture `name` under `root` (bench/.cache/fixtures), generating
 * it first when absent. Returns `{ dir, files, bytes, seconds }`.
 */
function ensureFixture (root, name, { scale = 1, log = () => {} } = {}) {
  const variant = `v${GENERATOR_VERSION}-s${scale}`
  const dir = path.join(root, variant, name)
  const meta = path.join(root, variant, `${name}.json`)
  if (fs.existsSync(dir) && fs.existsSync(meta)) return { dir, ...JSON.parse(fs.readFileSync(meta, 'utf8')), cached: true }
  const spec = catalog(scale)[name]
  if (!spec) throw new Error(`unknown fixture ${name}`)
  const partial = `${dir}.partial`
  rmrf(partial); rmrf(dir)
  log(`generating ${spec.describe} (${name}) ...`)
  const t0 = process.hrtime.bigint()
  const stats = { files: 0, bytes: 0 }
  spec.make(partial, stats)
  fs.renameSync(partial, dir)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  fs.writeFileSync(meta, JSON.stringify({ files: stats.files, bytes: stats.bytes, seconds }) + '\n')
  log(`  ${stats.files} files, ${(stats.bytes / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s`)
  return { dir, ...stats, seconds, cached: false }
}

/** The dist-dynamic folders of a monorepo fixture, in plugin order. */
function monorepoPackages (dir) {
  const plugins = path.join(dir, 'plugins')
  return fs.readdirSync(plugins).sort().map((p) => path.join(plugins, p, 'dist-dynamic'))
}

module.exports = { ensureFixture, monorepoPackages, GENERATOR_VERSION }
