'use strict'
// The contenders of each group: what runs, on which fixture, against which
// baseline. A contender is `{ id, label, fixture, spec(out) → {cmd, args, cwd} }`
// plus optional `baseline`, `vs` (the row it is compared with), `skip`
// (why it cannot run here), `input` (report MB/s of the fixture), `digest`
// (output digest from stdout), `before`/`after` (untimed set-up/clean-up).

const fs = require('node:fs')
const path = require('node:path')
const zlib = require('node:zlib')
const { execFileSync } = require('node:child_process')

const { monorepoPackages } = require('./fixtures')
const tools = require('./tools')
const { pushGroup } = require('./push')
const { incrementalGroup } = require('./incremental')
const { mirrorGroup, mirror1gGroup } = require('./mirror')

const OPS = path.join(__dirname, '..', 'ops')
const OCI_TAG = 'localhost/dynpack-bench/backend:v1'

/**
 * The groups to run. `ctx`: `{ opt, fx, cache, env, dyn, npmPack, podman, janus }`
 * where `fx(name)` returns a (generated on first use) fixture.
 */
function defineGroups ({ opt, fx, cache: CACHE, env, dyn, npmPack, podman, janus }) {
  const dynSkip = dyn.skip
  const dd = (name) => path.join(fx(name).dir, 'dist-dynamic')
  const node = (script, ...args) => ({ cmd: process.execPath, args: [path.join(OPS, script), ...args] })
  const avail = (...conds) => conds.map((c) => c && c.skip).find(Boolean)

  /** The uncompressed tar `npm pack` makes of the backend: input of the zlib floor. */
  const backendTar = () => {
    const file = path.join(CACHE, 'tars', `${path.basename(path.dirname(fx('backend').dir))}-backend.tar`)
    if (!fs.existsSync(file)) {
      const tmp = fs.mkdtempSync(path.join(CACHE, 'tar-'))
      execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: dd('backend'), stdio: 'ignore', env: { ...process.env, ...env } })
      const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'))
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(`${file}.partial`, zlib.gunzipSync(fs.readFileSync(path.join(tmp, tgz))))
      fs.renameSync(`${file}.partial`, file)
      fs.rmSync(tmp, { recursive: true, force: true })
    }
    return file
  }

  const npmCli = (name) => (out) => ({ cmd: 'npm', args: ['pack', '--ignore-scripts', '--json', '--pack-destination', out], cwd: dd(name) })
  const packRows = (name, prefix = 'pack') => [
    { id: `${prefix}-npm`, label: 'packDynamic `npm` (byte-identical)', skip: dynSkip, fixture: name, spec: (out) => node('pack-dynamic.js', dd(name), out, 'npm') },
    { id: `${prefix}-fast`, label: 'packDynamic `fast`', skip: dynSkip, fixture: name, spec: (out) => node('pack-dynamic.js', dd(name), out, 'fast') },
  ]
  const monoDirs = () => monorepoPackages(fx('monorepo').dir)

  return [
    {
      id: 'backend',
      title: 'backend',
      reps: opt.reps,
      contenders: [
        { id: 'npm-pack', label: '`npm pack` (CLI)', baseline: true, fixture: 'backend', input: true, spec: npmCli('backend') },
        { id: 'libnpmpack', label: 'libnpmpack, in-process', skip: npmPack.skip, fixture: 'backend', input: true, spec: (out) => node('libnpmpack.js', npmPack.dir, dd('backend'), out) },
        ...packRows('backend').map((c) => ({ ...c, input: true })),
        { id: 'zlib', label: 'zlib.gzipSync level 9 of the tar (floor)', fixture: 'backend', spec: () => node('zlib-gzip.js', backendTar()) },
      ],
    },
    {
      id: 'frontend',
      title: 'frontend',
      reps: opt.reps,
      contenders: [
        { id: 'npm-pack', label: '`npm pack` (CLI)', baseline: true, fixture: 'frontend', spec: npmCli('frontend') },
        { id: 'libnpmpack', label: 'libnpmpack, in-process', skip: npmPack.skip, fixture: 'frontend', spec: (out) => node('libnpmpack.js', npmPack.dir, dd('frontend'), out) },
        ...packRows('frontend'),
      ],
    },
    {
      id: 'monorepo',
      title: '20 plugins',
      reps: opt.reps,
      contenders: [
        { id: 'npm-pack-each', label: '`npm pack` in each, one after another', baseline: true, fixture: 'monorepo', spec: (out) => node('npm-pack-each.js', 'npm', out, ...monoDirs()) },
        { id: 'dynpack-cli', label: '`dynpack pack` of all 20 (CLI)', skip: dynSkip || dyn.cli.skip, fixture: 'monorepo', spec: (out) => ({ cmd: process.execPath, args: [dyn.cli.bin, 'pack', ...monoDirs(), '--pack-destination', out, '--json'] }) },
        { id: 'pack-many', label: 'packDynamic ×20 `npm`, Promise.all', skip: dynSkip, fixture: 'monorepo', spec: (out) => node('pack-dynamic-many.js', out, 'npm', ...monoDirs()) },
        { id: 'pack-many-fast', label: 'packDynamic ×20 `fast`, Promise.all', skip: dynSkip, fixture: 'monorepo', spec: (out) => node('pack-dynamic-many.js', out, 'fast', ...monoDirs()) },
      ],
    },
    {
      id: 'oci',
      title: 'OCI image',
      reps: opt.reps,
      contenders: [
        {
          id: 'podman',
          label: 'janus-idp `package-dynamic-plugins` (podman build) + `podman push oci:`',
          baseline: true,
          skip: avail(podman, janus),
          fixture: 'backend',
          note: () => `@janus-idp/cli ${janus.version}, podman ${podman.version}`,
          before: () => tools.sh('podman', ['rmi', '-f', OCI_TAG]),
          after: () => tools.sh('podman', ['rmi', '-f', OCI_TAG]),
          spec: (out) => node('podman-package.js', janus.bin, fx('backend').dir, OCI_TAG, path.join(out, 'layout')),
        },
        { id: 'build-oci', label: 'buildOciLayout', skip: dynSkip || (dyn.buildOciLayout.skip), fixture: 'backend', spec: (out) => node('oci-build.js', fx('backend').dir, path.join(out, 'layout'), OCI_TAG) },
      ],
    },
    {
      id: 'integrity',
      title: 'integrity',
      reps: opt.reps,
      contenders: [
        { id: 'sha512sum', label: '`sha512sum`', baseline: true, fixture: 'big-file', input: true, digest: (o) => 'sha512-' + Buffer.from(o.split(/\s/)[0], 'hex').toString('base64'), spec: () => ({ cmd: 'sha512sum', args: [path.join(fx('big-file').dir, 'big.bin')] }) },
        { id: 'compute-integrity', label: 'computeIntegrity', skip: dynSkip, fixture: 'big-file', input: true, spec: () => node('integrity.js', path.join(fx('big-file').dir, 'big.bin')) },
        { id: 'node-crypto', label: 'node:crypto sha512 (stream)', fixture: 'big-file', input: true, spec: () => node('node-crypto.js', path.join(fx('big-file').dir, 'big.bin')) },
      ],
    },
    {
      id: 'scaling',
      title: 'scaling',
      reps: opt.scaleReps,
      contenders: ['x4', 'x16'].flatMap((x) => [
        { id: `${x}-npm-pack`, label: `\`npm pack\`, backend ${x}`, fixture: `backend-${x}`, input: true, spec: npmCli(`backend-${x}`) },
        ...packRows(`backend-${x}`, x).map((c) => ({ ...c, label: `${c.label}, backend ${x}`, input: true, vs: `${x}-npm-pack` })),
      ]),
    },
    pushGroup({ opt, fx, cache: CACHE, dyn, node, podman, janus, ociTag: OCI_TAG, avail }),
    incrementalGroup({ opt, fx, cache: CACHE, dyn }),
    mirrorGroup({ opt, fx, cache: CACHE, dyn }),
    mirror1gGroup({ opt, cache: CACHE, dyn }),
  ].filter((g) => opt.only.includes(g.id))
}

module.exports = { defineGroups, OCI_TAG }
