'use strict'
// Tag templates: `dynpack package --tag quay.io/acme/{dir}:{version}` builds
// one image per plugin, as RHDH's own plugin images are published. This
// module is the one place that knows the placeholders; the expanded tag is
// then checked by buildOciLayout (src/oci/reference.rs) like any other tag.

/** The placeholders and what each stands for, for a plugin's dist-dynamic package.json. */
const PLACEHOLDERS = {
  dir: 'the plugin directory in the image (acme-plugin-todo-backend)',
  name: 'the package name without scope and -dynamic (plugin-todo-backend)',
  scope: 'the package scope without @ (acme; empty when unscoped)',
  version: 'the package version (1.2.0)',
}

const PATTERN = /\{([^{}]*)\}/g

function fail (message) {
  const e = new Error(message)
  e.code = 'E_INVALID_TAG'
  return e
}

/** Whether `text` has `{…}` placeholders, i.e. is a template. Unknown names are refused. */
function isTemplate (text) {
  let found = false
  for (const m of String(text).matchAll(PATTERN)) {
    if (!Object.hasOwn(PLACEHOLDERS, m[1])) {
      throw fail(`${text}: unknown placeholder {${m[1]}}; use ${Object.keys(PLACEHOLDERS).map((k) => `{${k}}`).join(', ')}`)
    }
    found = true
  }
  return found
}

/** The placeholder values of a plugin: `{ dir, name, scope, version }`. */
function placeholderValues ({ directory, name, version }) {
  const m = /^(?:@([^/]+)\/)?(.*)$/.exec(name)
  return {
    dir: directory,
    name: m[2].replace(/-dynamic$/, ''),
    scope: m[1] ?? '',
    version,
  }
}

/** `template` with the placeholders of `plugin` (`{ directory, name, version }`) filled in. */
function expandTemplate (template, plugin) {
  isTemplate(template)
  const values = placeholderValues(plugin)
  return template.replace(PATTERN, (_, key) => values[key])
}

module.exports = { PLACEHOLDERS, isTemplate, placeholderValues, expandTemplate }
