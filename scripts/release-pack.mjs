#!/usr/bin/env node
// `npm run release:pack [-- --all]`: writes into release/ the tarballs that a
// release publishes: dynpack-<version>.tgz (the JS package, whose
// optionalDependencies name every platform package at the exact version, as
// `napi prepublish -t npm` writes them) and dynpack-<platform>-<version>.tgz
// (one prebuilt addon each). Without --all only this machine's platform is
// packed, from the addon `npm run build` left in the checkout; with --all
// (the release workflow, after `napi artifacts`) every `napi.targets` entry
// must have its addon in npm/<platform>/, or nothing is written.
//
// It also writes dynpack-<version>-<platform>-standalone.tgz for each of
// those platforms: the JS package with that platform's addon inside and no
// optionalDependencies, for installing from a file. Yarn 4 resolves every
// optional platform package of dynpack-<version>.tgz, so `yarn add -D
// ./dynpack-<version>.tgz` fails on the ones no registry it knows has
// (YN0035); the standalone tarball names none (`yarn add -D ./…-standalone.tgz`,
// `npm install ./…-standalone.tgz`). The loader (index.js) finds the addon
// next to it before it looks for a platform package.
//
// The release workflow publishes exactly the other files (`npm publish
// <tgz>`), platform packages first, so what this script writes is what users
// install; the standalone tarballs are release assets, never published.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const OUT = path.join(ROOT, 'release')
const STAGE = path.join(OUT, 'stage')

/** Fields of the checkout's package.json that only its developers use. */
const DEVELOPMENT_ONLY = ['scripts', 'devDependencies', 'overrides']

function readJson (file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

function fail (message) {
  process.stderr.write(`release:pack: ${message}\n`)
  process.exit(1)
}

/** The repository field provenance needs: the checkout's, else the GitHub repo the workflow runs in. */
function repositoryField (pkg) {
  if (pkg.repository) return pkg.repository
  const repo = process.env.GITHUB_REPOSITORY
  const server = process.env.GITHUB_SERVER_URL || 'https://github.com'
  return repo ? { type: 'git', url: `git+${server}/${repo}.git` } : undefined
}

/** Every platform package of npm/: `{ dir, pkg, addon }`, sorted by folder name. */
function platformPackages (root) {
  const dirs = fs.readdirSync(path.join(ROOT, 'npm')).sort()
  const found = dirs.map((dir) => {
    const pkg = readJson(path.join(ROOT, 'npm', dir, 'package.json'))
    return { dir, pkg, addon: pkg.main }
  })
  if (found.length !== root.napi.targets.length) {
    fail(`npm/ has ${found.length} platform folders but napi.targets lists ${root.napi.targets.length}; run \`npx napi create-npm-dirs\``)
  }
  for (const p of found) {
    if (p.pkg.version !== root.version) fail(`npm/${p.dir}/package.json has version ${p.pkg.version}, not ${root.version}; run \`npx napi version\``)
    // npm silently skips a platform package whose engines the running Node does not meet
    if (JSON.stringify(p.pkg.engines) !== JSON.stringify(root.engines)) fail(`npm/${p.dir}/package.json engines differ from package.json's; run \`npx napi create-npm-dirs\``)
  }
  return found
}

/** The platform folder name of this machine's addon, from `napi build --platform`'s file name. */
function hostPlatform (platforms) {
  const built = platforms.filter((p) => fs.existsSync(path.join(ROOT, p.addon)) || fs.existsSync(path.join(ROOT, 'npm', p.dir, p.addon)))
  if (built.length === 0) fail('no built addon (dynpack.<platform>.node) in the checkout; run `npm run build` first')
  const { platformId } = createRequire(import.meta.url)('../lib/addon.js')
  const id = platformId()
  const mine = built.find((p) => p.dir === id)
  if (!mine) fail(`this machine is ${id} but the built addons are ${built.map((p) => p.dir).join(', ')}`)
  return mine
}

/** `npm pack` of `dir` into release/; returns the tarball's file name. */
function npmPack (dir) {
  return npmPackInto(dir, OUT)
}

function npmPackInto (dir, destination) {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  })
  return JSON.parse(out)[0].filename
}

/** The addon file of platform `p`: from npm/<platform>/ (napi artifacts) with --all, else the checkout's build. */
function addonFile (p, all) {
  const places = [path.join(ROOT, 'npm', p.dir, p.addon), path.join(ROOT, p.addon)]
  const addon = (all ? places : places.reverse()).find((f) => fs.existsSync(f))
  if (!addon) fail(`npm/${p.dir}/${p.addon} is missing; download every build artifact and run \`npx napi artifacts\``)
  return addon
}

function stagePlatform (p, root, addon) {
  const dir = path.join(STAGE, p.dir)
  fs.mkdirSync(dir, { recursive: true })
  const pkg = { ...p.pkg }
  const repository = repositoryField(root)
  if (repository) pkg.repository = repository
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  fs.copyFileSync(path.join(ROOT, 'npm', p.dir, 'README.md'), path.join(dir, 'README.md'))
  fs.copyFileSync(addon, path.join(dir, p.addon))
  return dir
}

/** The package.json of the JS package, as published: no development fields, exact optionalDependencies. */
function rootManifest (root, platforms) {
  const pkg = { ...root }
  for (const field of DEVELOPMENT_ONLY) delete pkg[field]
  pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [p.pkg.name, root.version]))
  const repository = repositoryField(root)
  if (repository) pkg.repository = repository
  return pkg
}

function stageJs (dir, root, pkg) {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  for (const entry of [...root.files, 'README.md', 'LICENSE']) {
    const from = path.join(ROOT, entry)
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true })
  }
  return dir
}

function stageRoot (root, platforms) {
  return stageJs(path.join(STAGE, 'dynpack'), root, rootManifest(root, platforms))
}

/**
 * The JS package with platform `p`'s addon beside index.js (where the loader
 * looks first) and no optionalDependencies; `os`/`cpu`/`libc` are the
 * platform package's, so npm refuses it on another machine instead of
 * installing a CLI that cannot load.
 */
function stageStandalone (p, root, platforms, addon) {
  const pkg = rootManifest(root, platforms)
  delete pkg.optionalDependencies
  for (const field of ['os', 'cpu', 'libc']) if (p.pkg[field]) pkg[field] = p.pkg[field]
  pkg.files = [...pkg.files, p.addon]
  const dir = stageJs(path.join(STAGE, `standalone-${p.dir}`), root, pkg)
  fs.copyFileSync(addon, path.join(dir, p.addon))
  return dir
}

/** The file name of platform `p`'s standalone tarball. */
function standaloneName (version, platform) {
  return `dynpack-${version}-${platform}-standalone.tgz`
}

function main (argv) {
  const all = argv.includes('--all')
  const unknown = argv.filter((a) => a !== '--all')
  if (unknown.length) fail(`unknown argument ${unknown[0]}; the only option is --all`)
  const root = readJson(path.join(ROOT, 'package.json'))
  const platforms = platformPackages(root)
  const wanted = all ? platforms : [hostPlatform(platforms)]

  const addons = wanted.map((p) => addonFile(p, all)) // all present, or nothing is touched

  fs.rmSync(STAGE, { recursive: true, force: true })
  fs.mkdirSync(OUT, { recursive: true })
  for (const f of fs.readdirSync(OUT)) if (f.endsWith('.tgz')) fs.rmSync(path.join(OUT, f))
  const dirs = [...wanted.map((p, i) => stagePlatform(p, root, addons[i])), stageRoot(root, platforms)]
  const written = dirs.map(npmPack)
  for (const [i, p] of wanted.entries()) {
    // npm names it dynpack-<version>.tgz, as the JS package: packed alone, then renamed
    const alone = path.join(STAGE, 'standalone-out')
    fs.mkdirSync(alone, { recursive: true })
    const file = npmPackInto(stageStandalone(p, root, platforms, addons[i]), alone)
    const name = standaloneName(root.version, p.dir)
    fs.renameSync(path.join(alone, file), path.join(OUT, name))
    written.push(name)
  }
  fs.rmSync(STAGE, { recursive: true, force: true })
  for (const f of written) process.stdout.write(`release/${f}\n`)
}

main(process.argv.slice(2))
