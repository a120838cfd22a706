"""abra's on-disk layout (a fake ABRA_DIR in tmp_path): app env discovery and `.env` parsing."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from ccci_tui.sources.abra import (
    AbraError,
    AppEnv,
    abra_dir,
    app_env_files,
    find_app_env,
    parse_env,
    read_app_env,
    recipe_dir,
    split_type,
    stack_name,
)

DISCOURSE_ENV = textwrap.dedent(
    """\
    # Discourse app config, copied from .env.sample by `abra app new`
    TYPE=discourse:0.7.0+3.3.1
    DOMAIN=forum.example.org

    ## Domain aliases
    #EXTRA_DOMAINS=',`www.forum.example.org`'
    LETS_ENCRYPT_ENV=production
    COMPOSE_FILE="compose.yml:compose.smtp.yml"
    export SECRET_SMTP_PASSWORD_VERSION=v1   # bump to rotate
    ADMIN_PASS='p@ss # not a comment'
    SMTP_HOST=mail.example.org#fragment
    EMPTY=
    COMMENT_ONLY= # nothing here
    """
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def abra(tmp_path: Path) -> Path:
    root = tmp_path / "abra"
    write(root / "servers" / "swarm.example.org" / "forum.example.org.env", DISCOURSE_ENV)
    swarm = root / "servers" / "swarm.example.org"
    write(swarm / "wiki.example.org.env", "RECIPE=mediawiki:1.0.0+1.41\n")
    write(root / "servers" / "other.host" / "blog.example.net.env", "TYPE=ghost:7ae7b0f7+U\n")
    (root / "recipes" / "discourse").mkdir(parents=True)
    return root


# -- ABRA_DIR and names ----------------------------------------------------------------------


def test_abra_dir_prefers_env_var(tmp_path: Path) -> None:
    assert abra_dir({"ABRA_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert abra_dir({"ABRA_DIR": "~/ci-abra", "HOME": "/home/ci"}) == Path.home() / "ci-abra"
    assert abra_dir({"HOME": "/home/op"}) == Path("/home/op/.abra")
    assert abra_dir({"ABRA_DIR": "", "HOME": "/home/op"}) == Path("/home/op/.abra")


def test_abra_dir_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("ABRA_DIR", str(tmp_path))
    assert abra_dir() == tmp_path
    monkeypatch.delenv("ABRA_DIR")
    assert abra_dir() == Path(os.environ.get("HOME") or Path.home()) / ".abra"


def test_stack_name_replaces_dots_and_truncates() -> None:
    assert stack_name("forum.example.org") == "forum_example_org"
    assert stack_name("localhost") == "localhost"
    long = "a-very-long-application-name.with.several.sub.domains.example.org"
    got = stack_name(long)
    assert len(got) == 45
    assert got == long.replace(".", "_")[:45]


def test_recipe_dir(tmp_path: Path) -> None:
    assert recipe_dir("discourse", tmp_path) == tmp_path / "recipes" / "discourse"
    assert recipe_dir("mygit.org/myorg/cool-recipe", tmp_path) == (
        tmp_path / "recipes" / "mygit_org_myorg_cool-recipe"
    )
    with pytest.raises(AbraError, match="empty recipe name"):
        recipe_dir(" ", tmp_path)


def test_split_type() -> None:
    assert split_type("discourse:0.7.0+3.3.1") == ("discourse", "0.7.0+3.3.1")
    assert split_type("discourse:7ae7b0f7+U") == ("discourse", "7ae7b0f7+U")
    assert split_type("discourse") == ("discourse", None)
    assert split_type("mygit.org/myorg/cool:1.0.0+2") == ("mygit.org/myorg/cool", "1.0.0+2")
    assert split_type("https://mygit.org/myorg/cool") == ("https://mygit.org/myorg/cool", None)
    assert split_type("") == (None, None)
    assert split_type(None) == (None, None)


# -- reading one env file --------------------------------------------------------------------


def test_read_app_env(abra: Path) -> None:
    path = abra / "servers" / "swarm.example.org" / "forum.example.org.env"
    app = read_app_env(path)
    assert app.path == path
    assert app.server == "swarm.example.org"
    assert app.domain == "forum.example.org"
    assert app.stack == "forum_example_org"
    assert app.type_value == "discourse:0.7.0+3.3.1"
    assert (app.recipe, app.version) == ("discourse", "0.7.0+3.3.1")
    assert app.compose_files == ("compose.yml", "compose.smtp.yml")
    assert dict(app.env) == {
        "TYPE": "discourse:0.7.0+3.3.1",
        "DOMAIN": "forum.example.org",
        "LETS_ENCRYPT_ENV": "production",
        "COMPOSE_FILE": "compose.yml:compose.smtp.yml",
        "SECRET_SMTP_PASSWORD_VERSION": "v1",
        "ADMIN_PASS": "p@ss # not a comment",
        "SMTP_HOST": "mail.example.org#fragment",
        "EMPTY": "",
        "COMMENT_ONLY": "",
    }


def test_app_env_is_frozen_and_keeps_values_out_of_repr(abra: Path) -> None:
    app = read_app_env(abra / "servers" / "swarm.example.org" / "forum.example.org.env")
    assert "p@ss" not in repr(app)
    with pytest.raises(TypeError):
        app.env["ADMIN_PASS"] = "x"  # type: ignore[index]
    with pytest.raises(AttributeError):
        app.stack = "other"  # type: ignore[misc]


def test_recipe_key_and_default_compose(tmp_path: Path) -> None:
    app = read_app_env(write(tmp_path / "s" / "a.b.env", "RECIPE=ghost:7ae7b0f7+U\nTYPE=old:1\n"))
    assert (app.type_value, app.recipe, app.version) == ("ghost:7ae7b0f7+U", "ghost", "7ae7b0f7+U")
    assert app.compose_files == ("compose.yml",)
    bare = read_app_env(write(tmp_path / "s" / "c.env", "DOMAIN=c\n"))
    assert (bare.type_value, bare.recipe, bare.version) == (None, None, None)


def test_compose_file_chain_skips_empty_parts(tmp_path: Path) -> None:
    text = "COMPOSE_FILE=compose.yml::compose.x.yml:\n"
    app = read_app_env(write(tmp_path / "s" / "x.env", text))
    assert app.compose_files == ("compose.yml", "compose.x.yml")


# -- .env syntax -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("A=plain", "plain"),
        ("A = spaced ", "spaced"),
        ("export A=exported", "exported"),
        ("A='single $HOME \\n'", "single $HOME \\n"),
        ('A="double \\"q\\" \\\\ \\n"', 'double "q" \\ \n'),
        ('A="quoted" # trailing comment', "quoted"),
        ("A=value # comment", "value"),
        ("A=value\t# tab comment", "value"),
        ("A=a#b", "a#b"),
        ("A=${OTHER:-x}", "${OTHER:-x}"),
        ("A=x=y=z", "x=y=z"),
        ("A=", ""),
        ('A=""', ""),
        ("A=it's", "it's"),
    ],
)
def test_parse_env_values(line: str, value: str) -> None:
    assert parse_env(line + "\n") == {"A": value}


def test_parse_env_expands_variables_set_earlier_in_order() -> None:
    text = ('COMPOSE_FILE="compose.yml"\nCOMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"\n'
            "export A=x\nB=${A}-$A/$B\nC='$A'\nD=\"\\$A $A\"\nE=$UNSET ${UNSET:-d}\nF=$$A\nA=y\nG=$A\n")
    env = parse_env(text)
    assert env["COMPOSE_FILE"] == "compose.yml:compose.postgres.yml"
    assert env["B"] == "x-x/$B"  # B is not set before its own line
    assert (env["C"], env["D"], env["E"], env["F"], env["G"]) == ("$A", "$A x", "$UNSET ${UNSET:-d}", "$$A", "y")


def test_an_app_env_that_builds_its_chain_line_by_line(tmp_path: Path) -> None:
    text = 'COMPOSE_FILE="compose.yml"\n# the database\nCOMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"\n'
    app = read_app_env(write(tmp_path / "s" / "x.env", text))
    assert app.compose_files == ("compose.yml", "compose.postgres.yml")


def test_parse_env_multiline_quote_crlf_bom_and_last_wins() -> None:
    text = '\ufeffA=1\r\nKEY="line one\nline two"\r\n# c\r\nA=2\r\nB=x\u2028y\n'
    assert parse_env(text) == {"A": "2", "KEY": "line one\nline two", "B": "x\u2028y"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nnot a pair\n", r"app\.env:2: expected KEY=value"),
        ("A=1\n\n1BAD=x\n", r"app\.env:3: invalid variable name '1BAD'"),
        ("A='open\nB=2\n", r"app\.env:1: unterminated ' quote"),
        ('A="x" y\n', r"app\.env:1: unexpected text after the closing quote"),
        ("=value\n", r"app\.env:1: invalid variable name ''"),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(AbraError, match=message):
        parse_env(text, source="app.env")


def test_parse_error_does_not_echo_the_line() -> None:
    with pytest.raises(AbraError) as err:
        parse_env("hunter2-secret-token\n", source="app.env")
    assert "hunter2" not in str(err.value)


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "srv" / "bad.example.env", "A=1\nB=2\noops\n")
    with pytest.raises(AbraError, match=re.escape(f"{bad}:3: expected KEY=value")):
        read_app_env(bad)
    missing = tmp_path / "srv" / "missing.env"
    with pytest.raises(AbraError, match=f"not found: {re.escape(str(missing))}"):
        read_app_env(missing)
    with pytest.raises(AbraError, match="is a directory"):
        read_app_env(tmp_path / "srv")
    binary = tmp_path / "srv" / "bin.env"
    binary.write_bytes(b"A=\xff\xfe\n")
    with pytest.raises(AbraError, match=f"not UTF-8 text: {re.escape(str(binary))}"):
        read_app_env(binary)


def test_permission_denied_is_a_clear_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake read: file modes cannot make a file unreadable when the suite runs as root.
    path = write(tmp_path / "srv" / "locked.env", "A=1\n")

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)
    expected = f"cannot read app env file {re.escape(str(path))}: Permission denied"
    with pytest.raises(AbraError, match=expected):
        read_app_env(path)


# -- finding an app by stack -----------------------------------------------------------------


def test_find_app_env_searches_all_servers(abra: Path) -> None:
    blog = find_app_env("blog_example_net", abra)
    assert isinstance(blog, AppEnv)
    assert (blog.server, blog.domain, blog.recipe) == ("other.host", "blog.example.net", "ghost")
    forum = find_app_env("forum_example_org", abra)
    assert forum is not None and forum.version == "0.7.0+3.3.1"


def test_find_app_env_none_when_absent(abra: Path, tmp_path: Path) -> None:
    assert find_app_env("nope_example_org", abra) is None
    assert find_app_env("forum.example.org", abra) is None  # a domain is not a stack name
    assert find_app_env("anything", tmp_path / "no-abra-here") is None


def test_find_app_env_ambiguous_lists_candidates(abra: Path) -> None:
    dup = write(abra / "servers" / "other.host" / "forum.example.org.env", "TYPE=discourse:0.8\n")
    with pytest.raises(AbraError, match="'forum_example_org' matches 2 app env files") as err:
        find_app_env("forum_example_org", abra)
    assert str(dup) in str(err.value)
    assert str(abra / "servers" / "swarm.example.org" / "forum.example.org.env") in str(err.value)


def test_find_app_env_truncation_collision_is_ambiguous(abra: Path) -> None:
    prefix = "a-very-long-application-name.with.several.sub"
    write(abra / "servers" / "s1" / f"{prefix}.one.example.org.env", "TYPE=a:1.0.0\n")
    write(abra / "servers" / "s1" / f"{prefix}.two.example.org.env", "TYPE=b:1.0.0\n")
    with pytest.raises(AbraError, match="matches 2 app env files"):
        find_app_env(stack_name(prefix + ".one.example.org"), abra)


def test_find_app_env_ignores_unrelated_broken_files(abra: Path) -> None:
    write(abra / "servers" / "other.host" / "broken.example.org.env", "not a pair\n")
    write(abra / "servers" / "other.host" / "notes.txt", "not an env file\n")
    write(abra / "servers" / ".git" / "x.env", "ignored\n")
    assert find_app_env("blog_example_net", abra) is not None
    with pytest.raises(AbraError, match=r"broken\.example\.org\.env:1"):
        find_app_env("broken_example_org", abra)


def test_app_env_files_lists_env_files_only(abra: Path) -> None:
    write(abra / "servers" / "other.host" / "README.md", "x")
    names = [(p.parent.name, p.name) for p in app_env_files(abra)]
    assert names == [
        ("other.host", "blog.example.net.env"),
        ("swarm.example.org", "forum.example.org.env"),
        ("swarm.example.org", "wiki.example.org.env"),
    ]


def test_servers_dir_may_be_a_symlink(tmp_path: Path) -> None:
    # The operators handbook suggests keeping servers/ elsewhere and symlinking it.
    real = tmp_path / "coop-cloud"
    write(real / "host" / "app.example.org.env", "TYPE=app:1.0.0+1\n")
    root = tmp_path / "abra"
    root.mkdir()
    (root / "servers").symlink_to(real)
    app = find_app_env("app_example_org", root)
    assert app is not None and app.server == "host"
