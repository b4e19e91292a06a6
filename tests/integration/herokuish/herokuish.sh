#!/usr/bin/env bash
# What herokuish (gliderlabs/herokuish, as Dokku uses it) does with a buildpack, redone for
# the tests: `herokuish.sh build` is its buildpack-build, `herokuish.sh start TYPE` its
# procfile-start. Runs as root inside the private root that tests/integration/herokuish/harness.py
# prepares (/app, /tmp/build, /tmp/cache, /tmp/env, /tmp/buildpacks are the test's own);
# the buildpack's programs and the app run as $HEROKUISH_USER (herokuish: setuidgid).
set -eo pipefail

app_path=/app
env_path=/tmp/env
build_path=/tmp/build
cache_path=/tmp/cache
buildpack_path=/tmp/buildpacks
user=${HEROKUISH_USER:?}

unprivileged() { setpriv --reuid="$user" --regid="$user" --clear-groups -- "$@"; }
title() { echo "-----> $*"; }
indent() {  # herokuish's: lines starting with -- stay, others are re-indented (7 spaces)
  local line
  while read -r line || [[ -n $line ]]; do
    if [[ $line == --* ]]; then echo "$line"; else echo "       $line"; fi
  done
}
yaml_get() {  # FILE KEY SUBKEY: herokuish's yaml-get, with a real YAML parser
  "${HEROKUISH_YAML_PYTHON:?}" -c 'import sys, yaml
value = yaml.safe_load(open(sys.argv[1]))
for key in sys.argv[2:]:
    value = (value or {}).get(key)
if isinstance(value, dict):
    print("\n".join(value))
elif value is not None:
    print(value)' "$@"
}

select_buildpack() {
  local buildpack
  for buildpack in "$buildpack_path"/*; do
    if unprivileged "$buildpack/bin/detect" "$build_path" >/dev/null 2>&1; then
      selected_path=$buildpack
      selected_name=$(unprivileged "$buildpack/bin/detect" "$build_path")
      break
    fi
  done
  if [[ -z $selected_path ]]; then
    title "Unable to select a buildpack"
    exit 1
  fi
  title "$selected_name app detected"
}

execute() {
  select_buildpack
  cd "$build_path"
  unprivileged "$selected_path/bin/compile" "$build_path" "$cache_path" "$env_path"
  unprivileged "$selected_path/bin/release" "$build_path" "$cache_path" \
    | unprivileged tee "$build_path/.release" >/dev/null
  unprivileged mkdir -p "$build_path/.profile.d"
  unprivileged touch "$build_path/.profile.d/00_config_vars.sh"
  local name
  for name in $(yaml_get "$build_path/.release" config_vars); do
    echo "export $name=\"$(yaml_get "$build_path/.release" config_vars "$name")\"" \
      | unprivileged tee -a "$build_path/.profile.d/00_config_vars.sh" >/dev/null
  done
  cd - >/dev/null
  shopt -s dotglob nullglob
  rm -rf "${app_path:?}"/*
  mv "$build_path"/* "$app_path"
  shopt -u dotglob nullglob
}

procfile_keys() {  # herokuish's yaml-esque-keys
  local line
  while read -r line || [[ -n $line ]]; do
    [[ $line =~ ^#.* || $line != *:* ]] || echo "${line%%:*}"
  done < "$app_path/Procfile"
}

procfile_types() {
  title "Discovering process types"
  if [[ -f $app_path/Procfile ]]; then
    local types
    types=$(procfile_keys | sort -u | xargs echo)
    echo "Procfile declares types -> ${types// /, }"
    return
  fi
  local types type
  types=$(yaml_get "$app_path/.release" default_process_types | xargs echo)
  # (selected_name is empty here, as in herokuish: it was set in the pipeline of execute.)
  [[ -n $types ]] && echo "Default types for $selected_name -> ${types// /, }"
  for type in $types; do
    echo "$type: $(yaml_get "$app_path/.release" default_process_types "$type")" >> "$app_path/Procfile"
  done
}

build() {
  export APP_DIR=$app_path HOME=$app_path REQUEST_ID="build-$RANDOM" STACK=${STACK:-heroku-24}
  cp -r "$app_path/." "$build_path"
  chown -R "$user:$user" "$app_path" "$build_path" "$cache_path" "$env_path" "$buildpack_path"
  execute | indent
  procfile_types | indent
}

procfile_command() {  # TYPE: herokuish's yaml-esque-get on the Procfile
  local line
  while read -r line || [[ -n $line ]]; do
    [[ $line =~ ^#.* ]] && continue
    if [[ ${line%%:*} == "$1" ]]; then
      echo "${line#*:}"
      return
    fi
  done < "$app_path/Procfile"
}

start() {
  local command
  command=$(procfile_command "$1")
  if [[ -z $command ]]; then
    echo "Proc entrypoint $1 does not exist. Please check your Procfile"
    exit 1
  fi
  export HOME=$app_path
  cd "$app_path"
  shopt -s nullglob
  local file
  for file in "$env_path"/*; do export "$(basename "$file")=$(cat "$file")"; done
  # (herokuish sources its image's /etc/profile.d too: the test machine's is not that.)
  for file in "$app_path"/.profile.d/*.sh; do source "$file"; done
  [[ -s $app_path/.profile ]] && source "$app_path/.profile"
  shopt -u nullglob
  hash -r
  # shellcheck disable=SC2046 # herokuish expands $PORT with eval echo, then splits words
  exec setpriv --reuid="$user" --regid="$user" --clear-groups -- $(eval echo "$command")
}

case $1 in
  build) build ;;
  start) start "$2" ;;
  *) echo "usage: herokuish.sh build | start TYPE" >&2; exit 2 ;;
esac
