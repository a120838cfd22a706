"""abra's on-disk layout: ABRA_DIR, app env files under `servers/`, recipes under `recipes/`.

Layout and `.env` meaning follow reference/abra-and-cc-ci.md §1.5 ("Where abra keeps state") and
DESIGN.md §2 ("app env"). This module only reads files; it never runs abra.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

DEFAULT_COMPOSE = ("compose.yml",)
ENV_SUFFIX = ".env"

# abra trims the sanitised app name to this many characters (names Docker builds from the stack
# have length limits). The reference doc gives no stack-name rule; this is recalled from abra's
# `App.StackName()` / `config.MAX_SANITISED_APP_NAME_LENGTH`, unverified against its source.
MAX_STACK_NAME = 45

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ESCAPED_DOLLAR = "\x00"  # a `\$` in double quotes, kept from expansion until the value is complete
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": _ESCAPED_DOLLAR}
# `$NAME` or `${NAME}` of a variable set earlier in the same file; `$$` and anything else stay for compose
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class AbraError(RuntimeError):
    """abra's files could not be found or read; the message names the file (and line)."""


@dataclass(frozen=True)
class AppEnv:
    """One app's `.env` under `<abra_dir>/servers/<server>/<domain>.env`.

    `env` holds every variable as written, because compose interpolation needs the values; they
    may be secrets (passwords, tokens), so anything shown, recorded or exported must go through
    redaction first. `env` is left out of `repr()` for the same reason, and out of `==`.
    """

    path: Path
    server: str
    domain: str
    stack: str
    type_value: str | None  # `RECIPE=` (or older `TYPE=`), e.g. `discourse:0.7.0+3.3.1`
    recipe: str | None
    version: str | None  # part after ':', a tag or a chaos stamp such as `7ae7b0f7+U`
    compose_files: tuple[str, ...] = DEFAULT_COMPOSE
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


def abra_dir(env: Mapping[str, str] = os.environ) -> Path:
    """`$ABRA_DIR` when set, else `~/.abra`."""
    value = env.get("ABRA_DIR", "").strip()
    if value:
        return Path(value).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".abra"


def stack_name(domain: str) -> str:
    """Stack name abra derives from an app domain: dots become underscores, cut to 45 chars.

    `gitea.example.com` -> `gitea_example_com`. The rule is not in reference/abra-and-cc-ci.md
    (it documents labels as `coop-cloud.<stack>.*` but not the derivation); see MAX_STACK_NAME.
    """
    return domain.replace(".", "_")[:MAX_STACK_NAME]


def recipe_dir(recipe_name: str, abra_dir: Path) -> Path:
    """Checkout of a recipe: `<abra_dir>/recipes/<name>` (reference doc §1.5).

    A non-catalogue recipe named by its repo path (`mygit.org/myorg/cool-recipe`) lives at
    `recipes/mygit_org_myorg_cool-recipe`, as the reference doc shows: dots and slashes become `_`.
    """
    name = recipe_name.strip()
    if not name:
        raise AbraError("empty recipe name")
    return abra_dir / "recipes" / re.sub(r"[./]", "_", name)


def split_type(value: str | None) -> tuple[str | None, str | None]:
    """(recipe, version) from a `TYPE=`/`RECIPE=` value such as `discourse:0.7.0+3.3.1`."""
    if not value:
        return None, None
    name, sep, version = value.rpartition(":")
    if not sep or not name or "/" in version:
        # No version, or the only ':' belongs to a URL scheme.
        return value, None
    return name, version or None


def read_app_env(path: str | Path) -> AppEnv:
    """Parse an app env file; errors name the file and, for syntax, the line number."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AbraError(f"app env file not found: {path}") from None
    except IsADirectoryError:
        raise AbraError(f"app env path is a directory, not a file: {path}") from None
    except UnicodeDecodeError as exc:
        raise AbraError(f"app env file is not UTF-8 text: {path} (byte {exc.start})") from None
    except OSError as exc:
        raise AbraError(f"cannot read app env file {path}: {exc.strerror or exc}") from None
    env = parse_env(text, source=str(path))
    type_value = env.get("RECIPE") or env.get("TYPE") or None
    recipe, version = split_type(type_value)
    compose = tuple(p.strip() for p in env.get("COMPOSE_FILE", "").split(":") if p.strip())
    domain = path.name.removesuffix(ENV_SUFFIX) or path.name
    return AppEnv(
        path=path,
        server=path.parent.name,
        domain=domain,
        stack=stack_name(domain),
        type_value=type_value,
        recipe=recipe,
        version=version,
        compose_files=compose or DEFAULT_COMPOSE,
        env=MappingProxyType(dict(env)),
    )


def app_env_files(abra_dir: Path) -> tuple[Path, ...]:
    """Every `<abra_dir>/servers/<server>/<domain>.env`, sorted; none when the layout is absent."""
    servers = abra_dir / "servers"
    try:
        server_dirs = sorted(p for p in servers.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as exc:
        raise AbraError(f"cannot list {servers}: {exc.strerror or exc}") from None
    found: list[Path] = []
    for server in server_dirs:
        if server.name.startswith("."):
            continue
        try:
            entries = sorted(server.iterdir())
        except OSError as exc:
            raise AbraError(f"cannot list {server}: {exc.strerror or exc}") from None
        found.extend(
            p for p in entries
            if p.name.endswith(ENV_SUFFIX) and p.name != ENV_SUFFIX
            and not p.name.startswith(".") and p.is_file()
        )
    return tuple(found)


def find_app_env(stack: str, abra_dir: Path) -> AppEnv | None:
    """The app env whose domain gives `stack`, searching every server; None when there is none."""
    matches = [
        p for p in app_env_files(abra_dir) if stack_name(p.name.removesuffix(ENV_SUFFIX)) == stack
    ]
    if not matches:
        return None
    if len(matches) > 1:
        listed = ", ".join(str(p) for p in matches)
        raise AbraError(f"stack {stack!r} matches {len(matches)} app env files: {listed}")
    return read_app_env(matches[0])


def parse_env(text: str, source: str = "<env>") -> dict[str, str]:
    """Parse `.env` text: comments, blank lines, `export `, quotes, inline ` # comments`.

    As abra reads an app env, `$NAME` and `${NAME}` in unquoted and double-quoted values take the
    value of a variable set earlier in the same file (`COMPOSE_FILE="$COMPOSE_FILE:compose.x.yml"`
    builds the chain line by line); single-quoted values, an escaped dollar, `$$`, unknown names and
    `${NAME:-default}` forms stay as written, for compose interpolation later.
    """
    env: dict[str, str] = {}
    # Only real line breaks: str.splitlines() would also split on form feeds and U+2028 in values.
    lines = re.split(r"\r\n|\n|\r", text.removeprefix("\ufeff"))
    i = 0
    while i < len(lines):
        number = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export"):].lstrip()
        key, eq, rest = line.partition("=")
        key = key.strip()
        if not eq:
            # The line itself is not echoed: a stray line in an env file may well be a secret.
            raise AbraError(f"{source}:{number}: expected KEY=value")
        if not _KEY.fullmatch(key):
            raise AbraError(f"{source}:{number}: invalid variable name {_clip(key)!r}")
        raw, rest = rest, rest.lstrip()
        if rest[:1] in ("'", '"'):
            # A quoted value may span lines; keep reading until its closing quote.
            value, after, i = _quoted(rest, lines, i, source, number)
            if after.strip() and not after.strip().startswith("#"):
                raise AbraError(f"{source}:{number}: unexpected text after the closing quote")
            if rest[0] == '"':
                value = _expand(value, env).replace(_ESCAPED_DOLLAR, "$")
        elif rest.startswith("#") and rest != raw:
            value = ""  # `KEY= # note`: only a comment follows
        else:
            # ` #` starts a comment; a `#` inside a value (`PASS=a#b`) does not.
            value = _expand(re.split(r"\s#", rest, maxsplit=1)[0].rstrip(), env)
        env[key] = value
    return env


def _expand(value: str, env: dict[str, str]) -> str:
    """`value` with the references to variables already in `env` replaced by their values."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return env[name] if name is not None and name in env else m.group(0)

    return _REFERENCE.sub(one, value)


def _quoted(rest: str, lines: list[str], i: int, source: str, number: int) -> tuple[str, str, int]:
    """Read a quoted value opening at `rest[0]`: (value, text after it, next line index)."""
    quote = rest[0]
    buf: list[str] = []
    chunk = rest[1:]
    while True:
        j = 0
        while j < len(chunk):
            ch = chunk[j]
            if quote == '"' and ch == "\\" and j + 1 < len(chunk):
                nxt = chunk[j + 1]
                buf.append(_DOUBLE_ESCAPES.get(nxt, "\\" + nxt))
                j += 2
                continue
            if ch == quote:
                return "".join(buf), chunk[j + 1:], i
            buf.append(ch)
            j += 1
        if i >= len(lines):
            raise AbraError(f"{source}:{number}: unterminated {quote} quote")
        buf.append("\n")
        chunk = lines[i]
        i += 1


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
