#!/usr/bin/env bash
# Prepare this Debian machine for building CPython from source, and fetch the source.
#
#   bash .ci/setup-from-source.sh DIR        (as root; idempotent)
#
# 1. Installs the build dependencies that are missing (see docs/runtime-store.md).
# 2. Makes Debian's source packages reachable: adds deb-src entries mirroring the
#    machine's own Debian entries (same mirrors, suites and keyring), unless some are
#    configured already.
# 3. Downloads Debian's source package of CPython (default python3.11, or
#    $CPYTHON_SOURCE_PACKAGE) into DIR. Its *.orig.tar.xz is the pristine upstream
#    tarball; apt checks it against the signed Sources index.
#
# Each step is skipped when its result is already there, so a rerun costs seconds.
set -euo pipefail

dest=${1:?usage: setup-from-source.sh DIR}
package=${CPYTHON_SOURCE_PACKAGE:-python3.11}
build_deps=(build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libsqlite3-dev
            libbz2-dev liblzma-dev libreadline-dev libncurses-dev uuid-dev libgdbm-dev tk-dev)
deb_src_file=/etc/apt/sources.list.d/buildpack-python-deb-src.sources

if [ "$(id -u)" != 0 ]; then
  echo "setup-from-source.sh: run as root (it installs packages and adds apt sources)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
updated=""
apt_update() {
  if [ -z "$updated" ]; then
    apt-get update -qq
    updated=1
  fi
}

# --- 1. build dependencies -------------------------------------------------------
missing=()
for pkg in "${build_deps[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "-----> Installing CPython build dependencies: ${missing[*]}"
  apt_update
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. deb-src entries --------------------------------------------------------------
# The Debian stanzas (deb822 .sources files) for this release's suites, as deb-src.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")
deb822_sources() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && [ "$file" != "$deb_src_file" ] || continue
    awk -v codename="$codename" '
      function flush() {
        if (stanza != "" && is_deb && has_suite && enabled) printf "%s\n", stanza
        stanza = ""; is_deb = 0; has_suite = 0; enabled = 1
      }
      BEGIN { enabled = 1 }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      /^Types:/ { if ($0 ~ /[ \t]deb([ \t]|$)/) is_deb = 1; stanza = stanza "Types: deb-src\n"; next }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i ~ ("^" codename "(-[a-z]+)?$")) has_suite = 1 }
      /^Enabled:[ \t]*no/ { enabled = 0 }
      { stanza = stanza $0 "\n" }
      END { flush() }
    ' "$file"
  done
}
# The same for one-line sources.list entries, converted to deb822.
one_line_sources() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v codename="$codename" '
      $1 == "deb" {
        opts = ""; i = 2
        if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
        if ($(i + 1) !~ ("^" codename "(-[a-z]+)?$")) next
        comps = ""; for (j = i + 2; j <= NF; j++) comps = comps " " $j
        signed = ""
        if (match(opts, /signed-by=[^] ]+/)) signed = "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10) "\n"
        printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n%s\n", $i, $(i + 1), comps, signed
      }
    ' "$file"
  done
}
has_other_deb_src() {
  grep -sqE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
    grep -lsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources | grep -qv "^$deb_src_file\$"
}
if ! has_other_deb_src; then
  wanted="# Written by buildpack-python .ci/setup-from-source.sh: deb-src for the Debian entries.
$(deb822_sources)$(one_line_sources)"
  if ! grep -q '^Types: deb-src' <<<"$wanted"; then
    echo "setup-from-source.sh: found no Debian $codename entries in /etc/apt to mirror as deb-src" >&2
    exit 1
  fi
  if [ ! -f "$deb_src_file" ] || [ "$(cat "$deb_src_file")" != "$wanted" ]; then
    echo "-----> Adding deb-src entries ($deb_src_file)"
    printf '%s\n' "$wanted" >"$deb_src_file"
    updated=""
    apt_update
  fi
fi
if ! apt-cache showsrc --only-source "$package" 2>/dev/null | grep -q '^Package:'; then
  apt_update
fi

# --- 3. the source package -----------------------------------------------------------
# sha256 and name of every orig tarball the (signed) Sources index lists for the package.
known_origs=$(apt-cache showsrc --only-source "$package" | awk '
  /^Checksums-Sha256:/ { in_sums = 1; next }
  /^[^ ]/ { in_sums = 0 }
  in_sums && $3 ~ /\.orig\.tar\./ { print $1 " " $3 }' | sort -u)
verified() {
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  grep -qxF "$sum $(basename "$1")" <<<"$known_origs"
}
mkdir -p "$dest"
shopt -s nullglob
for tarball in "$dest/${package}"_*.orig.tar.*; do
  if ! verified "$tarball"; then
    echo "-----> Removing $tarball: its sha256 is not in Debian's Sources index"
    rm -f "$tarball"
  fi
done
tarballs=("$dest/${package}"_*.orig.tar.*)
if [ ${#tarballs[@]} -eq 0 ]; then
  echo "-----> Downloading Debian's source package $package into $dest"
  # The release's own version first (security mirrors may lag behind their index),
  # then the newest. Only the orig tarball is needed: a missing .dsc or .debian.tar.xz
  # (apt then exits non-zero) is fine once the tarball itself is there and verified.
  for wanted in "$package/$codename" "$package"; do
    (cd "$dest" && apt-get source --download-only -qq "$wanted" 2>&1 |
       grep -v 'Download is performed unsandboxed' || true)
    tarballs=("$dest/${package}"_*.orig.tar.*)
    [ ${#tarballs[@]} -eq 0 ] || break
  done
  if [ ${#tarballs[@]} -eq 0 ] || ! verified "${tarballs[0]}"; then
    rm -f "${tarballs[@]}"
    echo "setup-from-source.sh: could not download a verified ${package}_*.orig.tar.* into $dest" >&2
    exit 1
  fi
fi
echo "-----> CPython source (sha256 checked against Debian's Sources index):"
sha256sum "${tarballs[@]}"
