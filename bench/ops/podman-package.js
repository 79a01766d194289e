'use strict'
// Child: today's OCI path, the janus-idp CLI's package-dynamic-plugins (a
// staging copy + `podman build` of a FROM-scratch image), then `podman push`
// of that image to an `oci:` layout. Each step is timed.
// usage: node podman-package.js <janus-cli bin> <plugin folder> <tag> <oci layout | docker://host/repo:tag>

const { spawnSync } = require('node:child_process')
const { report, since } = require('../lib/measure')

const [cli, plugin, tag, layout] = process.argv.slice(2)

function run (cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) {
    process.stderr.write(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`)
    process.exit(1)
  }
  return r
}

const t0 = process.hrtime.bigint()
const pkg = run(process.execPath, [cli, 'package', 'package-dynamic-plugins', '--tag', tag], plugin)
// the CLI exits 0 even when the build failed: check that the image is there
if (/Error encountered/.test(pkg.stderr) || spawnSync('podman', ['image', 'exists', tag]).status !== 0) {
  process.stderr.write(`package-dynamic-plugins did not produce ${tag}:\n${pkg.stderr}`)
  process.exit(1)
}
const packageSeconds = since(t0)
const t1 = process.hrtime.bigint()
// a `docker://` destination: a loopback registry (the push group)
const dest = layout.startsWith('docker://') ? ['--tls-verify=false', tag, layout] : [tag, `oci:${layout}`]
run('podman', ['push', '--quiet', ...dest])
report({ seconds: since(t0), packageSeconds, pushSeconds: since(t1) })
