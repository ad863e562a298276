# Sourced by scripts/dev and scripts/test: make .venv with Python 3.11 and install the project
# into it, but only when pyproject.toml changed since the last install (a stamp per extra).
# shellcheck shell=bash

HARBOR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$HARBOR_ROOT/.venv"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# ensure_venv [EXTRA]  -- EXTRA is "" (the app) or "test" (the app and its test tools).
ensure_venv() {
    local extra="${1:-}" python hash spec stamp
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        python="$(find_python)" || die "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"
        say "creating .venv with $python"
        rm -rf "$VENV"
        "$python" -m venv "$VENV" \
            || die "could not create .venv (on Debian: apt-get install python3.11-venv)"
    fi
    # The stamp names what was installed from which pyproject.toml, for which interpreter.
    hash="$( { cat "$HARBOR_ROOT/pyproject.toml"; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.harbor-installed-${extra:-app}"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
        return 0
    fi
    spec="-e ."
    [ -n "$extra" ] && spec="-e .[$extra]"
    say "installing the project into .venv (pip install $spec)"
    (cd "$HARBOR_ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input $spec) || die "pip install $spec failed"
    printf '%s\n' "$hash" >"$stamp"
    # An install with the test extra holds the app too.
    [ -n "$extra" ] && printf '%s\n' "$hash" >"$VENV/.harbor-installed-app"
    return 0
}
