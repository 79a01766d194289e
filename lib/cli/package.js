'use strict'
// `dynpack package`: one OCI image (and/or exported plugin folders) for the
// plugin in the current folder or every plugin workspace of a monorepo, with
// the dynamic-plugins.yaml snippet and the `skopeo copy` that pushes it.
// Options follow rhdh-cli `plugin package` / janus `package package-dynamic-plugins`.

const fs = require('node:fs')
const path = require('node:path')
const { parse, keyValues, usageError } = require('./args.js')
const { Reporter, formatBytes, displayPath, shellQuote, json } = require('./report.js')
const { discoverPlugins } = require('./discover.js')
const { exportPlugins } = require('./export-to.js')
const { pluginsYaml } = require('./yaml.js')
const { REGISTRY_OPTIONS, pushBuilt } = require('./push.js')

const OPTIONS = {
  tag: { type: 'string', short: 't' },
  output: { type: 'string', short: 'o' },
  archive: { type: 'string' },
  'export-to': { type: 'string' },
  platform: { type: 'string', allowEmpty: true },
  annotation: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'allow-prefix-dirs': { type: 'boolean' },
  push: { type: 'boolean' },
  ...REGISTRY_OPTIONS,
  // Accepted so that scripts written for the RHDH packagers run unchanged.
  'container-tool': { type: 'string' },
  'use-docker': { type: 'boolean' },
  'force-export': { type: 'boolean' },
  'preserve-temp-dir': { type: 'boolean' },
}

/** What the packagers' options that dynpack has no use for would have done. */
const IGNORED = {
  'container-tool': 'dynpack writes the image itself, no container tool is used',
  'use-docker': 'dynpack writes the image itself, no container tool is used',
  'force-export': 'dynpack does not run the export; it packages the existing dist-dynamic/ folders',
  'preserve-temp-dir': 'dynpack keeps no temporary folder',
}

const usage = `Usage: dynpack package [DIR] [--tag IMAGE:TAG] [--output DIR | --archive FILE]
                       [--export-to DIR] [--platform OS/ARCH]
                       [--annotation KEY=VALUE]... [--label KEY=VALUE]... [--json]

Packages Backstage dynamic plugins into one OCI image, without podman or docker.
DIR (default: the current folder) is
  - a plugin folder with dist-dynamic/ (exported by \`npx @red-hat-developer-hub/cli plugin export\`),
  - a dist-dynamic folder, or
  - a monorepo root: every workspace (root package.json "workspaces", any layout)
    with a plugin backstage.role and a dist-dynamic/ folder goes into the image;
    the others are skipped with a note.
Then prints the \`skopeo copy\` command that pushes the image and an example
dynamic-plugins.yaml (by tag, and by digest as a comment), with each plugin's
pluginConfig taken from app-config.janus-idp.yaml, app-config.backstage-community.yaml
or app-config.yaml in its folder.

Options:
  -t, --tag IMAGE:TAG       the image reference, e.g. quay.io/acme/plugins:1.0.0
                            (required unless --export-to is given)
  -o, --output DIR          write the OCI image layout to DIR (default: dist-oci,
                            next to dist-dynamic/ or at the monorepo root)
      --archive FILE        write an OCI archive (a tar of the layout) instead
      --export-to DIR       write each plugin folder and index.json to DIR, as the
                            packagers' --export-to does; the snippet then uses
                            ./local-plugins/<dir>. With --tag an image is built too.
      --platform OS/ARCH    the image platform (default: linux/amd64)
      --annotation K=V...   add manifest annotations (repeat the option, or list
                            several K=V after it)
      --label K=V...        add image config labels (likewise)
      --allow-prefix-dirs   accept plugin directories where one is a prefix of
                            another (plugin-x + plugin-x-backend), with a warning:
                            RHDH up to 1.10 installs both for either reference
      --push                push the image(s) to the registry after building (all
                            in parallel; a failure does not stop the others) and
                            print dynamic-plugins.yaml pinned by digest
      --authfile FILE       with --push: the auth.json read first
      --creds U:P           with --push: credentials instead of any auth file
      --cert-dir DIR        with --push: CA and client certificates for the registry
      --tls-verify=false    with --push: accept any certificate, fall back to HTTP
      --json                print a JSON report instead of text
  -q, --quiet               print only the dynamic-plugins.yaml snippet, no notes
      --verbose             print progress and details on stderr
  -h, --help                show this help

Accepted and ignored, with a note, so that scripts written for
\`rhdh-cli plugin package\` run unchanged: --container-tool, --use-docker,
--force-export, --preserve-temp-dir. dynpack does not run the plugin export:
export the plugins first (e.g. \`npx @red-hat-developer-hub/cli plugin export\`).

Exit status: 0 on success, 1 when packaging failed, 2 on a usage error.`

async function run (argv, io) {
  const { values, positionals } = parse('package', argv, OPTIONS, { max: 1, variadic: ['annotation', 'label'] })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  checkUsage(values)
  for (const [flag, why] of Object.entries(IGNORED)) {
    if (values[flag] !== undefined) report.note(`ignoring --${flag}: ${why}`)
  }
  const annotations = keyValues(values.annotation, 'annotation', 'package')
  const labels = keyValues(values.label, 'label', 'package')
  const exportTo = values['export-to'] !== undefined ? path.resolve(cwd, values['export-to']) : null

  const found = discoverPlugins(path.resolve(cwd, positionals[0] ?? '.'))
  for (const s of found.skipped) report.note(`skipping ${s.path}: ${s.reason}`)
  if (found.plugins.length === 0) {
    const e = new Error(`${found.root}: none of the ${found.skipped.length} workspaces is an exported Backstage plugin (a plugin backstage.role and a dist-dynamic/ folder); export the plugins first`)
    e.code = 'E_NO_PLUGINS'
    throw e
  }

  const api = require('../api.js')
  const image = values.tag === undefined
    ? null
    : await buildImage(api, found, { ...values, annotations, labels }, { cwd, report, signal: io.signal })
  const exported = exportTo === null
    ? null
    : await exportPlugins(api, found.plugins, exportTo, {
      signal: io.signal,
      onPlugin: (p, x) => report.progress(`exported ${p.directory}: ${x.files} files, ${formatBytes(x.unpackedSize)}`),
    })
  const pushFailures = values.push ? await pushBuilt([image], values, { cwd, report, signal: io.signal }) : []
  const plugins = pluginReports(found.plugins, image, exported)

  if (values.json) {
    io.stdout.write(json({
      mode: found.mode,
      root: found.root,
      image: image && {
        output: image.output,
        archive: image.archive,
        tag: values.tag,
        refName: image.result.refName,
        manifestDigest: image.result.manifestDigest,
        configDigest: image.result.configDigest,
        layerDigest: image.result.layerDigest,
        diffId: image.result.diffId,
        layerSize: image.result.layerSize,
        push: image.push,
        pushed: image.pushed ?? null,
      },
      exportTo,
      plugins,
      skipped: found.skipped,
      warnings: image ? image.warnings : [],
    }))
  } else {
    report.out(textReport({ cwd, tag: values.tag, quiet: values.quiet, image, exported, exportTo, plugins }))
  }
  for (const f of pushFailures) io.stderr.write(`dynpack: ${f.error.code ?? 'E_INTERNAL'}: ${f.label}: ${String(f.error.message).replace(/\s*\n\s*/g, ' ')}\n`)
  return pushFailures.length > 0 ? 1 : 0
}

function checkUsage (values) {
  if (values.output !== undefined && values.archive !== undefined) {
    throw usageError('--output and --archive exclude each other', 'package')
  }
  if (values.tag === undefined) {
    if (values.output !== undefined || values.archive !== undefined) {
      throw usageError(`--${values.output !== undefined ? 'output' : 'archive'} needs --tag IMAGE:TAG`, 'package')
    }
    if (values.push) throw usageError('--push needs --tag IMAGE:TAG', 'package')
    if (values['export-to'] === undefined) {
      throw usageError('pass --tag IMAGE:TAG to build an image, or --export-to DIR to write the plugin folders', 'package')
    }
  }
}

/** Builds the image; resolves `{ result, output, archive, push, warnings }`. */
async function buildImage (api, found, values, { cwd, report, signal }) {
  const archive = values.archive !== undefined
  const besideDistDynamic = found.mode === 'dist-dynamic' && found.plugins[0].source ? found.plugins[0].source : found.root
  const output = path.resolve(cwd, archive ? values.archive : (values.output ?? path.join(besideDistDynamic, 'dist-oci')))
  mkdirParent(output)
  const count = found.plugins.length
  report.progress(`packaging ${count} plugin${count === 1 ? '' : 's'} into ${displayPath(cwd, output)}`)
  const options = { output, archive, tag: values.tag, annotations: values.annotations, labels: values.labels, allowPrefixDirectories: !!values['allow-prefix-dirs'], signal }
  if (values.platform) options.platform = values.platform // "" (the packagers' "no --platform") gives the default
  const started = Date.now()
  const result = await api.buildOciLayout(found.plugins.map((p) => p.distDynamic), options)
  for (const p of result.plugins) {
    const stats = p.files != null ? `${p.files} files, ${formatBytes(p.unpackedSize ?? 0)}` : `${p.name}@${p.version}`
    report.progress(`added ${p.directory}: ${stats}`)
  }
  const warnings = result.warnings.map(String)
  for (const w of warnings) report.warn(w)
  report.detail(`built ${result.output} in ${Date.now() - started} ms: manifest ${result.manifestDigest}, layer ${result.layerDigest} (${formatBytes(result.layerSize)})`)
  const source = `${archive ? 'oci-archive' : 'oci'}:${displayPath(cwd, result.output)}:${result.refName}`
  return { result, output: result.output, archive, push: ['skopeo', 'copy', '--preserve-digests', source, `docker://${values.tag}`], warnings }
}

/** One JSON-ready object per plugin, every key present. */
function pluginReports (found, image, exported) {
  const built = new Map((image ? image.result.plugins : []).map((p) => [p.directory, p]))
  return found.map((p) => {
    const b = built.get(p.directory)
    if (image && !b) throw internal(`buildOciLayout returned no reference for ${p.directory}`)
    return {
      directory: p.directory,
      name: p.name,
      version: p.version,
      source: p.source,
      distDynamic: p.distDynamic,
      package: b ? b.reference : null,
      digestPackage: b ? b.digestReference : null,
      localPackage: exported ? `./local-plugins/${p.directory}` : null,
      pluginConfig: p.appConfig ? { file: p.appConfig.file, yaml: p.appConfig.yaml } : null,
    }
  })
}

/** What a person reads: what was written, how to push it, the snippet(s). `--quiet`: the snippet(s) only. */
function textReport ({ cwd, tag, quiet, image, exported, exportTo, plugins }) {
  // Pushed: the digest is known to exist remotely, so pin it.
  const imageYaml = image && pluginsYaml(plugins.map((p) => ({
    package: image.pushed ? p.digestPackage : p.package,
    comments: [`package: ${image.pushed ? p.package : p.digestPackage}`],
    pluginConfig: p.pluginConfig?.yaml,
  })))
  const localYaml = exported && pluginsYaml(plugins.map((p) => ({ package: p.localPackage, pluginConfig: p.pluginConfig?.yaml })))
  if (quiet) return [imageYaml, localYaml].filter(Boolean).join('---\n')

  const n = plugins.length
  const width = Math.max(...plugins.map((p) => p.directory.length))
  const lines = []
  if (image) {
    lines.push(`Built ${image.archive ? 'OCI archive' : 'OCI image layout'} ${displayPath(cwd, image.output)} for ${tag} ` +
      `(${n} plugin${n === 1 ? '' : 's'}, layer ${formatBytes(image.result.layerSize)}, manifest ${image.result.manifestDigest}):`,
    ...plugins.map((p) => `  ${p.directory.padEnd(width)}  ${p.name}@${p.version}`), '')
    if (image.pushed) {
      lines.push(`Pushed ${image.pushed.reference}.`, '',
        'Here is an example dynamic-plugins.yaml for these plugins, pinned by digest (the tag form is commented):',
        imageYaml)
    } else {
      lines.push('Push it with:', '  ' + image.push.map(shellQuote).join(' '), '',
        'Here is an example dynamic-plugins.yaml for these plugins (swap the commented line in to pin the digest):',
        imageYaml)
    }
  }
  if (exported) {
    lines.push(`Wrote ${n} plugin folder${n === 1 ? '' : 's'} and index.json to ${displayPath(cwd, exportTo)}:`,
      ...exported.map((x) => `  ${x.directory.padEnd(width)}  ${x.files} files, ${formatBytes(x.unpackedSize)}`), '',
      'Here is an example dynamic-plugins.yaml for these plugins:',
      localYaml)
  }
  return lines.join('\n')
}

/** Creates the folder that will hold `output`, so that `--output out/oci` works in a fresh checkout. */
function mkdirParent (output) {
  try {
    fs.mkdirSync(path.dirname(output), { recursive: true })
  } catch (err) {
    const e = new Error(`${path.dirname(output)}: cannot create the output's folder (${err.message}); pass a writable location`)
    e.code = 'E_DESTINATION'
    throw e
  }
}

function internal (message) {
  const e = new Error(message)
  e.code = 'E_INTERNAL'
  return e
}

module.exports = { name: 'package', summary: 'package plugins into an OCI image (no podman/docker) and print dynamic-plugins.yaml', usage, run }
