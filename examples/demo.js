#!/usr/bin/env node
'use strict'
// `npm run demo`: generates the example monorepo (make-examples.js), then uses
// the dynpack command line on it, as a user would, writing into examples/out/:
//   1. `dynpack pack`: npm-identical tarballs and their dynamic-plugins.yaml
//      entries for an HTTP plugin registry;
//   2. `dynpack verify`: the integrity check RHDH does before installing;
//   3. `dynpack package`: one OCI image layout with both plugins (no podman or
//      docker) and the plugin folders for a local-plugins mount, the command
//      that pushes the image (`dynpack push`, or skopeo) and the config.
//
// Usage: node examples/demo.js [DIR]   (default: examples/ itself; the README
// test runs it in a temporary folder)

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { makeExamples } = require('./make-examples.js')

const bin = path.join(__dirname, '..', 'bin', 'dynpack.js')
const home = process.argv[2] ? path.resolve(process.argv[2]) : __dirname
const ex = makeExamples(home)
const out = path.join(home, 'out')
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out)

const rel = (p) => path.relative(home, p)

/** Runs `dynpack ...args` in examples/, showing the command; stops the demo if it fails. */
function dynpack (args, { capture = false } = {}) {
  process.stdout.write(`\n$ npx dynpack ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: home,
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
  })
  if (capture && r.stdout) process.stdout.write(r.stdout)
  if (r.status !== 0) {
    process.stderr.write(`\ndemo: \`dynpack ${args[0]}\` failed (exit status ${r.status ?? r.signal})\n`)
    process.exit(r.status || 1)
  }
  return r.stdout
}

console.log(`Example monorepo: ${rel(ex.root) || 'examples'}/ (workspaces plugins/*): ` +
  `${rel(ex.backend)} (backend-plugin), ${rel(ex.frontend)} (frontend-plugin), ${rel(ex.common)} (common-library)`)

dynpack(['pack', rel(ex.backendDistDynamic), rel(ex.frontendDistDynamic), '--pack-destination', 'out/tgz', '--base-url', 'http://plugin-registry:8080'])

const tgz = path.join('out', 'tgz', fs.readdirSync(path.join(out, 'tgz')).sort()[0])
const sri = dynpack(['integrity', tgz], { capture: true }).trim()
dynpack(['verify', tgz, sri])

dynpack(['package', '--tag', 'quay.io/acme/todo-plugins:1.2.0', '--output', 'out/oci', '--export-to', 'out/local-plugins'])

console.log(`Everything is in ${path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out) || '.'}/: tgz/ (the tarballs), oci/ (the OCI image layout) ` +
  'and local-plugins/ (the plugin folders and index.json).')
