"""A token never shows, even when it sits where it does not belong: in the URL's userinfo, in a URL without a
scheme, as the URL itself, or pasted into a path, query or port. Every error path of reading the connection
from the environment is tried with a random token and password, through Connection.from_env and the CLI."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.errors import UsageError
from janitor.gitlab_api import Connection, normalize_url

SECRET = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=30).map(lambda s: "Zq9" + s)
TOKEN = st.one_of(SECRET.map(lambda s: "glpat-" + s), SECRET)

# Each shape puts the token (T) or a password (P) somewhere a careless or hostile setting could.
SHAPES = [
    "user:{T}@gitlab.example.com", "user:{P}@gitlab.example.com", "{T}@gitlab.example.com",
    "https://user:{T}@gitlab.example.com", "https://user:{P}@gitlab.example.com", "https://{T}@gitlab.example.com",
    "http://oauth2:{P}@gitlab.example.com:8443/gitlab", "{T}", "https://{T}", "gitlab.example.com/{T}",
    "https://gitlab.example.com/{T}", "https://gitlab.example.com/api/v4?private_token={T}",
    "https://gitlab.example.com/#{T}", "https://gitlab.example.com:{T}", "https://[::1/{T}", "ftp://u:{P}@host",
    "https://user:{P}@[::1", " {T} ", "https:// {T}", "https:/{T}", "https:{P}@gitlab.example.com",
    "gitlab.example.com:{P}@other", "HTTPS://u:{P}@GITLAB.example.com",
]


def _settings(shape: str, token: str, password: str) -> str:
    return shape.format(T=token, P=password)


def _error_text(env: dict[str, str]) -> str | None:
    try:
        Connection.from_env(env)
    except UsageError as exc:
        return exc.render()
    return None


@settings(max_examples=60, deadline=None)
@given(token=TOKEN, password=SECRET, shape=st.sampled_from(SHAPES),
       variable=st.sampled_from(["GITLAB_URL", "CI_SERVER_URL"]))
def test_no_error_about_the_url_shows_the_token_or_a_password(token: str, password: str, shape: str,
                                                              variable: str) -> None:
    url = _settings(shape, token, password)
    text = _error_text({variable: url, "GITLAB_TOKEN": token})
    assert text is not None, f"{url!r} must be refused"
    assert token not in text and password not in text, text


@settings(max_examples=40, deadline=None)
@given(pasted=SECRET.map(lambda s: "glpat-" + s), real=TOKEN, shape=st.sampled_from([s for s in SHAPES if "{T}" in s]))
def test_a_token_pasted_into_the_url_variable_is_not_echoed(pasted: str, real: str, shape: str) -> None:
    # The token in GITLAB_URL is not GITLAB_TOKEN's value (or there is none): GitLab's prefix gives it away.
    url = _settings(shape, pasted, "unused-password")
    for env in ({"GITLAB_URL": url, "GITLAB_TOKEN": real}, {"GITLAB_URL": url}):
        text = _error_text(env)
        assert text is not None and pasted not in text, text


@pytest.mark.parametrize("name,value", [
    ("JANITOR_TIMEOUT", "nan"), ("JANITOR_TIMEOUT", "-1"), ("JANITOR_MAX_RETRIES", "x"), ("GITLAB_TOKEN", ""),
])
def test_the_other_connection_errors_do_not_show_the_token(name: str, value: str) -> None:
    token = "glpat-Zq9otherpaths0001"
    text = _error_text({"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": token, name: value})
    assert text is not None and token not in text and name in text


def test_a_plain_host_without_a_scheme_is_still_shown_to_help() -> None:
    with pytest.raises(UsageError) as caught:
        normalize_url("gitlab.example.com")
    assert "'gitlab.example.com'" in caught.value.message
    assert caught.value.hint == "Write it in full, for example GITLAB_URL=https://gitlab.example.com"


def test_a_url_holding_the_token_is_refused_even_when_well_formed() -> None:
    with pytest.raises(UsageError) as caught:
        normalize_url("https://gitlab.example.com/glpat-Zq9insidepath", secrets=["glpat-Zq9insidepath"])
    assert "contains the value of GITLAB_TOKEN" in caught.value.message
    assert "glpat-Zq9insidepath" not in caught.value.render()


@pytest.mark.parametrize("shape", ["user:{T}@gitlab.example.com", "{T}", "https://gitlab.example.com:{T}",
                                   "https://[::1/{T}"])
def test_the_cli_never_prints_the_token(run, shape: str, policy_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token = "glpat-Zq9clitokenvalue01"
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 {"GITLAB_URL": shape.format(T=token), "GITLAB_TOKEN": token})
    assert result.code == 1 and "GitLab URL" in result.err
    assert token not in result.err and token not in result.out
    assert "Zq9clitokenvalue01" not in result.err


@pytest.mark.parametrize("pasted", ["Zq9abcdefghijklmnopq", "Zq9-old_style-token_x"])
def test_a_prefixless_token_in_the_url_variable_is_not_echoed(pasted: str) -> None:
    # GitLab's older tokens have no prefix: a word that is not a dotted host name is never quoted back
    text = _error_text({"GITLAB_URL": pasted, "GITLAB_TOKEN": "glpat-Zq9therealtoken"})
    assert text is not None and "Zq9" not in text
