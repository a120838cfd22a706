"""Throwaway Co-op Cloud-style recipe repos, built with GitPython, for unit and live tests."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import git
import yaml

LAB_IMAGE = "ccci-lab/busybox:1"
BASE_TAG = "0.7.0+3.3.1"
HEAD_SUBJECT = "chore: upgrade to 0.9.0+3.5.0"

# The app holds a lock file on a shared volume and is healthy only while it owns it; the old
# task releases it on SIGTERM. Written with $$ because compose interpolates `$`.
_LOCK_PROLOGUE = "trap 'rm -f /data/owner; exit 0' TERM; "
_CLAIM = "echo $$HOSTNAME > /data/owner; touch /tmp/ok; while true; do sleep 1; done"
_OWNED_ELSEWHERE = '[ -s /data/owner ] && [ "$$(cat /data/owner)" != "$$HOSTNAME" ]'

# A head that poisons the shared volume makes the base fail too once Swarm rolls back to it.
_POISONED = "if [ -f /data/poison ]; then exit 3; fi; "

SCRIPTS = {
    # base: claims the lock unconditionally (unless a poison head spoiled the volume)
    "base": _LOCK_PROLOGUE + _POISONED + _CLAIM,
    # contention: waits for the lock and never turns healthy while another task holds it
    "contention": _LOCK_PROLOGUE
    + f"while {_OWNED_ELSEWHERE}; do sleep 0.2; done; "
    + _CLAIM,
    # oom: while another task holds the lock, needs more memory than the 32M limit (LAB.md); the
    # 2 s before the allocation leave one ~1 s stats read room to see the task alive. The kernel kills
    # `tail`; the shell exits 137 1 s later, because an exit that beats the engine's OOM event
    # leaves State.OOMKilled false (seen on this engine under load: 137, OOMKilled false)
    "oom": _LOCK_PROLOGUE
    + f"if {_OWNED_ELSEWHERE}; then sleep 2; dd if=/dev/zero bs=1M count=300 | tail || {{ sleep 1; exit 137; }}; fi; "
    + _CLAIM,
    # poison: spoils the volume for every version and never turns healthy (reference run F's shape)
    "poison": "touch /data/poison; while true; do sleep 1; done",
    # late-crash: healthy at once, then exits 1 after 8 s, i.e. after a 5 s update monitor
    "late-crash": _LOCK_PROLOGUE + "echo $$HOSTNAME > /data/owner; touch /tmp/ok; sleep 8; exit 1",
}


# The oom head dies ~2.5 s after it starts: a 5 s health interval keeps every health-check exec out of
# its memory-starved cgroup (an exec racing the kill could hold the task, or add "unhealthy container")
HEALTH_INTERVAL = {"oom": "5s"}


def compose_text(
    version: str,
    script: str,
    app_version: str,
    order: str = "start-first",
    failure_action: str = "rollback",
    monitor: str = "5s",
    memory: str | None = None,
    reservation: str | None = None,
    rollback_failure_action: str | None = None,
) -> str:
    """The recipe's compose.yml: one `app` service with abra's version label and update_config."""
    deploy: dict = {
        "replicas": 1,
        "labels": [f"coop-cloud.${{STACK_NAME}}.version={version}"],
        "update_config": {
            "parallelism": 1,
            "failure_action": failure_action,
            "order": order,
            "monitor": monitor,
        },
    }
    if memory:
        deploy["resources"] = {"limits": {"memory": memory}}
    if reservation:
        deploy.setdefault("resources", {})["reservations"] = {"memory": reservation}
    if rollback_failure_action:
        deploy["rollback_config"] = {"parallelism": 1, "failure_action": rollback_failure_action}
    doc = {
        "version": "3.8",
        "services": {
            "app": {
                "image": f"${{IMAGE:-{LAB_IMAGE}}}",
                "command": ["sh", "-c", SCRIPTS[script]],
                "environment": [f"APP_VERSION={app_version}", "DOMAIN=${DOMAIN:-example.test}"],
                "volumes": ["data:/data"],
                "healthcheck": {
                    "test": ["CMD", "test", "-f", "/tmp/ok"],
                    "interval": HEALTH_INTERVAL.get(script, "1s"),
                    "timeout": "3s",  # exec under a loaded engine can take over 1 s
                    "retries": 3,
                    "start_period": "1s",
                },
                "deploy": deploy,
            }
        },
        "volumes": {"data": {}},
    }
    return yaml.safe_dump(doc, sort_keys=False, width=1000)


OVERLAY = textwrap.dedent(
    """\
    version: "3.8"
    services:
      app:
        environment:
          - OVERLAY=lab
        deploy:
          labels:
            - "coop-cloud.${STACK_NAME}.overlay=lab"
    """
)


def git_children() -> set[int]:
    """The pids of this process's child `git cat-file` processes (GitPython's persistent object readers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == os.getpid() and cmdline[0].endswith(b"git") and b"cat-file" in cmdline:
            found.add(int(stat.parent.name))
    return found


def init_repo(path: Path) -> git.Repo:
    """A new empty repo at `path` on branch `main`, with a committer and no signing."""
    path.mkdir(parents=True)
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Recipe Maintainer")
        cw.set_value("user", "email", "maintainer@example.test")
        cw.set_value("commit", "gpgsign", "false")
        cw.set_value("tag", "gpgsign", "false")
    return repo


@dataclass
class Recipe:
    """A recipe repo and the commits of interest."""

    path: Path
    repo: git.Repo
    base: str  # commit of BASE_TAG
    head: str  # HEAD, nine commits past BASE_TAG
    tags: dict[str, str] = field(default_factory=dict)

    def commit_file(self, name: str, text: str, message: str) -> str:
        (self.path / name).write_text(text)
        self.repo.index.add([name])
        return self.repo.index.commit(message).hexsha


def build_recipe(
    root: Path,
    head_script: str = "contention",
    memory: str | None = None,
    head_order: str = "start-first",
    name: str = "discourse",
    head_failure_action: str = "rollback",
    reservation: str | None = None,
    rollback_failure_action: str | None = None,
) -> Recipe:
    """Build a recipe repo: two annotated release tags, then nine commits up to the head."""
    path = root / name
    repo = init_repo(path)
    recipe = Recipe(path=path, repo=repo, base="", head="")
    (path / ".gitignore").write_text("*.swp\n")
    repo.index.add([".gitignore"])
    recipe.commit_file("compose.lab.yml", OVERLAY, "add lab overlay")
    recipe.commit_file(
        "compose.yml", compose_text("0.6.0+3.2.0", "base", "3.2.0", memory=memory), "release 0.6.0+3.2.0"
    )
    repo.create_tag("0.6.0+3.2.0", message="0.6.0+3.2.0")
    recipe.tags["0.6.0+3.2.0"] = repo.head.commit.hexsha
    recipe.base = recipe.commit_file(
        "compose.yml", compose_text(BASE_TAG, "base", "3.3.1", memory=memory, reservation=reservation,
                     rollback_failure_action=rollback_failure_action),
        f"release {BASE_TAG}",
    )
    repo.create_tag(BASE_TAG, message=BASE_TAG)
    recipe.tags[BASE_TAG] = recipe.base
    for i in range(1, 9):
        recipe.commit_file("README.md", f"# {name}\n\nchange {i}\n", f"docs: note {i}")
    recipe.head = recipe.commit_file(
        "compose.yml",
        compose_text(
            "0.9.0+3.5.0", head_script, "3.5.0", order=head_order, memory=memory,
            failure_action=head_failure_action, reservation=reservation,
            rollback_failure_action=rollback_failure_action,
        ),
        HEAD_SUBJECT,
    )
    return recipe
