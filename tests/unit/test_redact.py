"""Secret redaction: keys that look secret, tokens and keys by their shape, in maps and free text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccci_tui.domain.redact import MASK, is_secret_key, redact_mapping, redact_text

SECRET = "hunter2-s3cr3t"


@pytest.mark.parametrize("key", ["DB_PASSWORD", "POSTGRES_PASS", "api-token", "SECRET_KEY_BASE", "AWS_ACCESS_KEY_ID",
                                 "smtp_credentials", "OIDC_AUTH", "apiKey", "Authorization", "SESSION_COOKIE"])
def test_secret_keys(key):
    assert is_secret_key(key)
    assert redact_mapping({key: SECRET}) == {key: MASK}


@pytest.mark.parametrize("key", ["coop-cloud.s.chaos-version", "com.docker.stack.namespace", "DOMAIN", "monkey",
                                 "keyboard", "COMPOSE_FILE", "passage"])
def test_ordinary_keys(key):
    assert not is_secret_key(key)


@pytest.mark.parametrize("text", [
    f"DB_PASSWORD={SECRET}",
    f"failed: AWS_SECRET_ACCESS_KEY={SECRET}",
    f'{{"api_token": "{SECRET}"}}',
    f"SECRET_KEY_BASE: {SECRET}",
    f"postgres://user:{SECRET}@db/app",
    f"Authorization: Bearer {SECRET}",
    f"env TOKEN='{SECRET}' and more",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----",
])
def test_free_text(text):
    out = redact_text(text)
    assert SECRET not in out and "SflKxwRJSMeKKF2QT4" not in out and "b3BlbnNzaC1rZXkt" not in out
    assert MASK in out


def test_ordinary_text_is_untouched():
    text = "task: non-zero exit (137); coop-cloud.s.version=0.7.0+3.3.1; https://example.test/x"
    assert redact_text(text) == text


@given(st.text(max_size=200))
def test_redaction_is_idempotent_and_total(text):
    once = redact_text(text)
    assert redact_text(once) == once
