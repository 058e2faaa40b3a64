"""Signed subscriber links: purpose binding, tampering, expiry, rotation, secrets."""

import time

import pytest

from sectorwatch.tokens import SecretError, Signer, preview_signer, signer_from_env

SECRET, OLD = b"s" * 32, b"o" * 32
KEY = "Abc_def-GHIjkl0123"
signer = Signer((SECRET,))


def _swap(token: str, i: int) -> str:
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


@pytest.mark.parametrize("purpose", ["manage", "unsubscribe", "confirm"])
def test_verifies_only_for_its_own_purpose(purpose):
    token = signer.sign(purpose, KEY)
    assert signer.verify(purpose, token) == KEY
    for other in {"manage", "unsubscribe", "confirm"} - {purpose}:
        assert signer.verify(other, token) is None


@pytest.mark.parametrize("ttl", [None, 3600])
def test_any_single_altered_character_is_refused(ttl):
    token = signer.sign("confirm", KEY, ttl=ttl, now=1_000_000)
    for i, c in enumerate(token):
        if c != ".":
            assert signer.verify("confirm", _swap(token, i), now=1_000_000) is None, i


def test_other_secret_is_refused():
    assert Signer((b"x" * 32,)).verify("manage", signer.sign("manage", KEY)) is None


def test_confirm_token_expires():
    token = signer.sign("confirm", KEY, ttl=3600, now=1_000_000)
    assert signer.verify("confirm", token, now=1_000_000 + 3599) == KEY
    assert signer.verify("confirm", token, now=1_000_000 + 3601) is None


def test_expired_only_for_correctly_signed_expired_tokens():
    stale = signer.sign("confirm", KEY, ttl=60, now=time.time() - 3600)
    assert signer.expired("confirm", stale)
    assert not signer.expired("confirm", signer.sign("confirm", KEY, ttl=3600))
    assert not signer.expired("confirm", signer.sign("confirm", KEY))
    assert not signer.expired("confirm", _swap(stale, len(stale) - 1))
    assert not Signer((OLD,)).expired("confirm", stale)


def test_extending_the_expiry_is_refused():
    key, expires, mac = signer.sign("confirm", KEY, ttl=60, now=1_000_000).split(".")
    later = f"{int(expires, 16) + 10**6:x}"
    assert signer.verify("confirm", f"{key}.{later}.{mac}", now=1_000_000) is None


@pytest.mark.parametrize("token", [
    "", None, "a.b.c.d", "key", KEY, f"{KEY}.", f".{'A' * 22}", f"{KEY}.{'!' * 22}",
    f"{KEY}.zz.{'A' * 22}", f"{KEY}.{'A' * 21}", f"{'k' * 65}.{'A' * 22}",
    "x" * 1_000_000, "." * 100_000, f"{KEY}.{'A' * 22}\n", "<script>.</script>",
])
def test_malformed_tokens_are_refused_without_raising(token):
    assert signer.verify("manage", token) is None
    assert not signer.expired("confirm", token)


def test_non_ascii_signature_is_refused_without_raising():
    assert signer.verify("manage", f"{KEY}.{'é' * 22}") is None


def test_previous_secret_still_verifies_but_does_not_sign():
    old_token = Signer((OLD,)).sign("manage", KEY)
    rotated = Signer((SECRET, OLD))
    assert rotated.verify("manage", old_token) == KEY
    new_token = rotated.sign("manage", KEY)
    assert signer.verify("manage", new_token) == KEY
    assert Signer((OLD,)).verify("manage", new_token) is None


@pytest.mark.parametrize("env", [{}, {"SW_SECRET": ""}, {"SW_SECRET": "x" * 31}])
def test_signer_from_env_refuses_missing_or_short_secret(env):
    with pytest.raises(SecretError, match="SW_SECRET"):
        signer_from_env("SW_SECRET", env=env)


def test_signer_from_env_includes_previous_secret():
    env = {"SW_SECRET": "n" * 32, "SW_OLD": "o" * 40}
    assert signer_from_env("SW_SECRET", env=env).secrets == (b"n" * 32,)
    both = signer_from_env("SW_SECRET", "SW_OLD", env=env)
    assert both.secrets == (b"n" * 32, b"o" * 40)
    assert both.verify("manage", Signer((b"o" * 40,)).sign("manage", KEY)) == KEY
    assert signer_from_env("SW_SECRET", "SW_UNSET", env=env).secrets == (b"n" * 32,)


@pytest.mark.parametrize("value", [None, "too-short"])
def test_preview_signer_without_secret_makes_links_that_work_nowhere(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("SW_PREVIEW_SECRET", raising=False)
    else:
        monkeypatch.setenv("SW_PREVIEW_SECRET", value)
    preview = preview_signer("SW_PREVIEW_SECRET")
    token = preview.sign("manage", KEY)
    assert preview.verify("manage", token) == KEY
    assert signer_from_env("SECTORWATCH_SECRET").verify("manage", token) is None
    assert preview_signer("SW_PREVIEW_SECRET").verify("manage", token) is None


def test_preview_signer_uses_real_secret_when_set():
    token = preview_signer("SECTORWATCH_SECRET").sign("manage", KEY)
    assert signer_from_env("SECTORWATCH_SECRET").verify("manage", token) == KEY
