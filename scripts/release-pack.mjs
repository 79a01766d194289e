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
// The release workflow publishes exactly these files (`npm publish <tgz>`),
// platform packages first, so what this script writes is what users install.

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
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', OUT], {
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

function stageRoot (root, platforms) {
  const dir = path.join(STAGE, 'dynpack')
  fs.mkdirSync(dir, { recursive: true })
  const pkg = { ...root }
  for (const field of DEVELOPMENT_ONLY) delete pkg[field]
  pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [p.pkg.name, root.version]))
  const repository = repositoryField(root)
  if (repository) pkg.repository = repository
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  for (const entry of [...root.files, 'README.md', 'LICENSE']) {
    const from = path.join(ROOT, entry)
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true })
  }
  return dir
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
  fs.rmSync(STAGE, { recursive: true, force: true })
  for (const f of written) process.stdout.write(`release/${f}\n`)
}

main(process.argv.slice(2))
