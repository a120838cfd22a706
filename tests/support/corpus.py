"""Recipes shaped like real Co-op Cloud recipe histories, built with GitPython for the recipe sweep.

Each builder makes a repo under `root` and returns its path. The shapes are the ones a maintainer
meets when comparing releases: an overlay that appears (and one that goes away) between tags, an
`.env.sample` that builds COMPOSE_FILE line by line with more overlays suggested in comments, and a
recipe that has never been tagged (with a merge on its first-parent history).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from ccci_tui.sources.abra import parse_env
from tests.support.recipes import init_repo

DEFAULT_CHAIN = "compose.yml"
# `#COMPOSE_FILE=...`, `# COMPOSE_FILE=...`, `#export COMPOSE_FILE=...`: a chain the sample suggests
_SUGGESTED = re.compile(r"^\s*#+\s*(?=(?:export\s+)?COMPOSE_FILE\s*=)")


@dataclass
class CorpusRepo:
    """A recipe repo being built: commit files (None deletes one), tag, branch and merge."""

    path: Path
    repo: git.Repo

    def commit(self, message: str, files: Mapping[str, str | None]) -> str:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                self.repo.index.remove([name], working_tree=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(textwrap.dedent(text))
                self.repo.index.add([name])
        return self.repo.index.commit(message).hexsha

    def tag(self, name: str) -> None:
        self.repo.create_tag(name, message=name)


def new_repo(root: Path, name: str) -> CorpusRepo:
    """An empty recipe repo on branch `main`, with a committer and no signing."""
    path = root / name
    return CorpusRepo(path, init_repo(path))


def sample_chains(text: str) -> list[str]:
    """The COMPOSE_FILE chains an `.env.sample` sets or suggests: `compose.yml` (abra's default), the
    value the sample sets, the value with each commented-out `COMPOSE_FILE=` line uncommented on its
    own (read in order, so `"$COMPOSE_FILE:compose.x.yml"` extends what came before), and with all of
    them uncommented at once. Parsed as abra reads an app env (ccci_tui.sources.abra.parse_env)."""
    lines = re.split(r"\r\n|\n|\r", text)
    suggested = [i for i, line in enumerate(lines) if _SUGGESTED.match(line)]
    variants = [lines]
    variants += [[_SUGGESTED.sub("", line) if j == i else line for j, line in enumerate(lines)] for i in suggested]
    if len(suggested) > 1:
        variants.append([_SUGGESTED.sub("", line) if j in suggested else line for j, line in enumerate(lines)])
    chains = [DEFAULT_CHAIN]
    for variant in variants:
        value = parse_env("\n".join(variant), source=".env.sample").get("COMPOSE_FILE", "")
        chain = ":".join(p.strip() for p in value.split(":") if p.strip())
        if chain and chain not in chains:
            chains.append(chain)
    return chains


def _join(*parts: str) -> str:
    """Sample text put together from indented pieces."""
    return "".join(textwrap.dedent(p) for p in parts)


def _app(version_label: str, image: str, order: str = "start-first") -> str:
    """compose.yml of one `app` service with the given abra version label line and update order."""
    return f"""\
        version: "3.8"
        services:
          app:
            image: {image}
            networks:
              - proxy
            environment:
              - DOMAIN
            deploy:
              update_config:
                failure_action: rollback
                order: {order}
              labels:
                - "traefik.enable=true"
                - "traefik.http.routers.${{STACK_NAME}}.rule=Host(`${{DOMAIN}}`)"
                - "{version_label}"
            healthcheck:
              test: ["CMD", "curl", "-f", "http://localhost"]
              interval: 30s
        networks:
          proxy:
            external: true
        """


def build_overlay_added(root: Path) -> Path:
    """Tags 0.1.0+1.0 .. 0.4.0+1.3: the older `….app.version` label, then the newer one; at 0.3.0 the
    head adds `compose.host.yml` (and the sample suggests a `compose.smtp.yml` nobody committed); at
    0.4.0 `compose.legacy.yml` goes away while the base's sample still suggests it."""
    r = new_repo(root, "overlay-added")
    legacy = """\
        version: "3.8"
        services:
          app:
            deploy:
              labels:
                - "traefik.http.middlewares.${STACK_NAME}-legacy.headers.customrequestheaders.X-Legacy=1"
        """
    header = """\
        TYPE=overlay-added

        DOMAIN=overlay-added.example.com
        ## Domain aliases
        #EXTRA_DOMAINS=', `www.overlay-added.example.com`'
        LETS_ENCRYPT_ENV=production

        """
    chain = 'COMPOSE_FILE="compose.yml"\n\n'
    legacy_line = '## Old proxies\n#COMPOSE_FILE="compose.yml:compose.legacy.yml"\n\n'
    host_lines = """\
        ## Publish the app on the host's port 8080 (one task per node)
        #COMPOSE_FILE="$COMPOSE_FILE:compose.host.yml"

        """
    smtp_lines = '## Outgoing mail\n#COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"\n'
    r.commit("Initial import", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.app.version=1.0-abc1234", "nginx:1.25.0"),
        "compose.legacy.yml": legacy,
        ".env.sample": _join(header, legacy_line),
        "README.md": "# overlay-added\n",
    })
    r.tag("0.1.0+1.0")
    r.commit("chore: publish 0.2.0+1.1 release", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.2.0+1.1", "nginx:1.25.1"),
    })
    r.tag("0.2.0+1.1")
    host = """\
        version: "3.8"
        services:
          app:
            ports:
              - target: 80
                published: 8080
                mode: host
            deploy:
              mode: global
              update_config:
                order: stop-first
        """
    r.commit("feat: host networking overlay", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.3.0+1.2", "nginx:1.25.2"),
        "compose.host.yml": host,
        ".env.sample": _join(header, chain, legacy_line, host_lines, smtp_lines),
    })
    r.tag("0.3.0+1.2")
    r.commit("chore: drop the legacy overlay; publish 0.4.0+1.3", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.4.0+1.3", "nginx:1.26.0"),
        "compose.legacy.yml": None,
        ".env.sample": _join(header, chain, host_lines),
    })
    r.tag("0.4.0+1.3")
    return r.path


_POSTGRES = """\
    version: "3.8"
    services:
      app:
        environment:
          - DB_HOST=${{STACK_NAME}}_db
        depends_on:
          - db
      db:
        image: postgres:{pg}
        volumes:
          - "postgres:/var/lib/postgresql/data"
        secrets:
          - db_password
        deploy:
          update_config:
            order: stop-first
        healthcheck:
          test: ["CMD", "pg_isready", "-U", "postgres"]
          interval: 10s
    volumes:
      postgres:
    secrets:
      db_password:
        external: true
        name: ${{STACK_NAME}}_db_password_${{SECRET_DB_PASSWORD_VERSION}}
    """

_SMTP = """\
    version: "3.8"
    services:
      app:
        environment:
          - SMTP_HOST
          - SMTP_PORT=${SMTP_PORT:-587}
    """

_SSO = """\
    version: "3.8"
    services:
      app:
        environment:
          - SSO_PROVIDER
        deploy:
          labels:
            - "traefik.http.routers.${STACK_NAME}.middlewares=${STACK_NAME}-sso@docker"
    """

_LINE_SAMPLE = """\
    TYPE=linechain

    DOMAIN=linechain.example.com
    ## Domain aliases
    #EXTRA_DOMAINS=', `www.linechain.example.com`'
    LETS_ENCRYPT_ENV=production

    COMPOSE_FILE="compose.yml"
    COMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"

    ## Outgoing mail
    #COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"
    #SMTP_HOST=mail.example.com

    SECRET_DB_PASSWORD_VERSION=v1 # length=32
    """


def build_line_by_line(root: Path) -> Path:
    """Tags 1.0.0+2.0 .. 2.0.0+3.0; the `.env.sample` builds COMPOSE_FILE line by line and suggests
    overlays in comments; the last tag adds `compose.sso.yml` with its `${COMPOSE_FILE}` line."""
    r = new_repo(root, "linechain")
    r.commit("Initial recipe", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=1.0.0+2.0", "linechain/app:2.0"),
        "compose.postgres.yml": _POSTGRES.format(pg="15"),
        "compose.smtp.yml": _SMTP,
        ".env.sample": _LINE_SAMPLE,
    })
    r.tag("1.0.0+2.0")
    r.commit("chore: publish 1.1.0+2.1 release", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=1.1.0+2.1", "linechain/app:2.1"),
    })
    r.tag("1.1.0+2.1")
    r.commit("chore(deps): update postgres docker tag to v16", {
        "compose.postgres.yml": _POSTGRES.format(pg="16"),
    })
    r.commit("feat: single sign-on overlay; publish 2.0.0+3.0", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=2.0.0+3.0", "linechain/app:3.0", order="stop-first"),
        "compose.sso.yml": _SSO,
        ".env.sample": _join(_LINE_SAMPLE, """\

        ## Single sign-on
        # COMPOSE_FILE="${COMPOSE_FILE}:compose.sso.yml"
        #SSO_PROVIDER=keycloak
        """),
    })
    r.tag("2.0.0+3.0")
    return r.path


def build_untagged(root: Path) -> Path:
    """Ten first-parent commits and no tags: a feature branch merged with --no-ff half way, and an
    `.env.sample` that suggests a whole chain (`#COMPOSE_FILE="compose.yml:compose.extra.yml"`)."""
    r = new_repo(root, "untagged")
    extra = """\
        version: "3.8"
        services:
          app:
            deploy:
              resources:
                limits:
                  memory: {memory}
        """
    r.commit("init", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.0.1", "untagged/app:0.1"),
        "compose.extra.yml": extra.format(memory="256M"),
        ".env.sample": """\
            TYPE=untagged
            DOMAIN=untagged.example.com
            LETS_ENCRYPT_ENV=production

            ## Memory limit for small hosts
            #COMPOSE_FILE="compose.yml:compose.extra.yml"
            """,
    })
    for i in range(1, 5):
        r.commit(f"bump image to 0.{i + 1}", {
            "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.0.1", f"untagged/app:0.{i + 1}"),
        })
    main = r.repo.active_branch
    feature = r.repo.create_head("feature")
    feature.checkout()
    r.commit("feature: a smaller memory limit", {"compose.extra.yml": extra.format(memory="128M")})
    main.checkout()
    r.commit("docs: README", {"README.md": "# untagged\n"})
    r.repo.git.merge("--no-ff", "feature", "-m", "Merge branch 'feature'")
    r.commit("docs: note", {"README.md": "# untagged\n\nA note.\n"})
    r.commit("fix: stop-first (one replica)", {
        "compose.yml": _app("coop-cloud.${STACK_NAME}.version=0.0.1", "untagged/app:0.9", order="stop-first"),
    })
    r.commit("docs: another note", {"README.md": "# untagged\n\nTwo notes.\n"})
    return r.path


CORPUS: dict[str, Callable[[Path], Path]] = {
    "overlay-added": build_overlay_added,
    "line-by-line": build_line_by_line,
    "untagged": build_untagged,
}
