#!/usr/bin/env bash
# Rebuild static/govuk/govuk-frontend.min.css (and refresh govuk-frontend.min.js)
# from GOV.UK Frontend's Sass.
#
# Why build it ourselves instead of copying dist/govuk/govuk-frontend.min.css?
# Feedback Portal is a London council service, not a service.gov.uk service:
# the GDS Transport font (and the Crown / Royal Arms artwork) may only be used
# on GOV.UK. The prebuilt CSS has @font-face rules for GDS Transport and a
# url() to the crest, so we compile it with a system font stack instead and
# ship no font files and no Crown images. Settings: static/govuk-frontend.scss.
#
# Needs node + npm (registry access only). Usage: bash static/build-govuk-css.sh
# After running, update the sha256 lines in static/VENDORED.txt.
set -euo pipefail

GOVUK_FRONTEND_VERSION=6.3.0   # must match Python govuk-frontend-jinja 4.1.0
SASS_VERSION=1.108.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/govuk-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "govuk-frontend@${GOVUK_FRONTEND_VERSION}" >/dev/null
mkdir govuk-frontend
tar -xzf "govuk-frontend-${GOVUK_FRONTEND_VERSION}.tgz" -C govuk-frontend --strip-components=1
npm init -y >/dev/null
npm install --silent --no-audit --no-fund --save-exact "sass@${SASS_VERSION}" >/dev/null

# --load-path "$work" makes `@use "govuk-frontend/dist/govuk"` resolve to the
# unpacked tarball; --load-path "$here" finds _govuk-url-handlers.scss.
# --quiet-deps hides GOV.UK's own deprecation warnings.
npx --no-install sass --no-source-map --style=compressed --quiet-deps \
  --load-path "$work" --load-path "$here" \
  "$here/govuk-frontend.scss" "$work/govuk-frontend.min.css"

if grep -Eq '\.woff|@font-face|govuk-crest' "$work/govuk-frontend.min.css"; then
  echo "error: compiled CSS still references a font file or the crest" >&2
  exit 1
fi

mkdir -p "$here/govuk"
cp "$work/govuk-frontend.min.css" "$here/govuk/govuk-frontend.min.css"
cp govuk-frontend/dist/govuk/govuk-frontend.min.js "$here/govuk/govuk-frontend.min.js"
# Deliberately NOT copied from dist/govuk/assets/: fonts/ (GDS Transport) and
# images/ + manifest.json (every file there is the GOV.UK crown, the crest or
# the GOV.UK logo).

echo "wrote $here/govuk/govuk-frontend.min.css and govuk-frontend.min.js"
(cd "$here" && sha256sum govuk/govuk-frontend.min.css govuk/govuk-frontend.min.js)
