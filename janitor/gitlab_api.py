"""The only module that imports python-gitlab.

Every request goes through `GitLabAPI`: the token travels in the PRIVATE-TOKEN header and nowhere else,
lists are always iterated (never trusting X-Total, absent above 10,000 rows), transient errors and 429s
are retried (python-gitlab honours Retry-After), a shared pacer keeps a run under the server's announced
rate limit, and errors become `janitor.errors` with a message that says what to do.
Resources pass path templates ("/projects/{project}/jobs/{job}"); every value is URL-encoded here.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import gitlab
import gitlab.exceptions
import msgspec
import orjson
import requests
import urllib3

from janitor import __version__
from janitor.api_pagination import OffsetOnly, keyset_refused, offset_capped
from janitor.errors import ApiError, AuthError, NotFound, SafetyRefusal, Unreachable, UsageError
from janitor.http_json import OrjsonResponse, rows_decoder
from janitor.pacing import Pacer
from janitor.units import bounded_float, bounded_int
from janitor.urls import normalize_url as normalize_url  # where it was, for callers that talk to GitLab

log = logging.getLogger("janitor.api")
Json = dict[str, Any]


@dataclass(frozen=True)
class Connection:
    url: str
    token: str = field(repr=False)
    timeout: float = 30.0
    max_retries: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Connection:
        env = os.environ if env is None else env
        url = env.get("GITLAB_URL") or env.get("CI_SERVER_URL") or ""
        if not url:
            raise UsageError(
                "No GitLab URL: set GITLAB_URL (in GitLab CI, CI_SERVER_URL is used when it is unset).",
                "Example: export GITLAB_URL=https://gitlab.example.com",
            )
        token = env.get("GITLAB_TOKEN", "")
        if not token:
            raise UsageError(
                "No token: set GITLAB_TOKEN to a GitLab access token (it is never read from the command line).",
                "collect and plan need the read_api scope; apply needs the api scope and the Maintainer role.",
            )
        timeout = _env_number(env, "JANITOR_TIMEOUT", "30", lambda t: bounded_float(t, 0.0, MAX_TIMEOUT_S,
                                                                                 above_minimum=True),
                              "seconds to wait for each answer")
        retries = _env_number(env, "JANITOR_MAX_RETRIES", "8", lambda t: bounded_int(t, 0, MAX_RETRIES),
                              "retries of a failed request")
        return cls(url=normalize_url(url, secrets=(token,)), token=token, timeout=timeout, max_retries=int(retries))


# A minute is long for one answer; an hour is the most a run should sit on one (a proxy that never answers).
MAX_TIMEOUT_S = 3600.0
# python-gitlab backs off exponentially up to a minute: 50 retries is most of an hour on one request.
MAX_RETRIES = 50


def _env_number(env: Mapping[str, str], name: str, default: str, parse: Callable[[str], float], what: str) -> float:
    text = env.get(name) or default
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}.", f"{name} is the {what}; unset it to use the default, {default}.") \
            from None


def render_path(template: str, values: Mapping[str, Any]) -> str:
    """Fill a path template, URL-encoding every value ('/' and all), as GitLab expects for ids and names."""
    return template.format(**{k: quote(str(v), safe="") for k, v in values.items()})


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit: what "the same server" means for a token."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is not a number: no origin of ours
        port = None
    return scheme, (parts.hostname or "").lower(), port


class _CountingSession(requests.Session):
    """Counts every HTTP exchange (retries included) and lets the pacer hold requests back.

    It is also the last line that keeps the token on its host: every request, redirect hops included
    (requests' resolve_redirects sends each hop through `send`), must go to the configured GitLab origin.
    requests strips Authorization on a redirect to another host but not custom headers such as
    PRIVATE-TOKEN, and python-gitlab follows a Link header wherever it points when the URL has no "/api".
    """

    def __init__(self, owner: GitLabAPI) -> None:
        super().__init__()
        self._owner = owner
        self._origin = origin(owner.connection.url)
        self._foreign_links: set[tuple[str, str, int | None]] = set()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        # requests re-reads the environment (proxies, no_proxy, CA bundle) on every request, which costs a
        # third of a page's parsing; the answer only changes with the host, so it is worked out once per host.
        key = (urlsplit(str(url or "")).netloc, repr(proxies), stream, repr(verify), repr(cert))
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = dict(super().merge_environment_settings(url, proxies, stream,
                                                                                       verify, cert))
        return dict(settings)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """What requests' own prepare_request gives (tests/test_quick_prepare.py holds them equal), for the
        bodiless requests python-gitlab sends with its token auth and no cookie: requests' general merging
        of cookies, hooks, parameters and URL forms cost more CPU per page than decoding it."""
        if not _plain(self, request):
            return super().prepare_request(request)
        prepared = requests.PreparedRequest()
        prepared.method = str(request.method).upper()
        query = _encode_query(request.params)
        prepared.url = f"{request.url}?{query}" if query else str(request.url)
        headers = requests.structures.CaseInsensitiveDict(self.headers)
        headers.update(request.headers or {})
        prepared.headers = requests.structures.CaseInsensitiveDict()
        for name, value in headers.items():
            if value is not None:
                requests.utils.check_header_validity((name, value))  # type: ignore[type-var]
                prepared.headers[name] = value  # type: ignore[assignment]
        prepared._cookies = requests.cookies.RequestsCookieJar()  # type: ignore[attr-defined]
        prepared.body = None
        prepared.hooks = requests.hooks.default_hooks()
        if prepared.method not in ("GET", "HEAD") and "Content-Length" not in prepared.headers:
            prepared.headers["Content-Length"] = "0"
        result: requests.PreparedRequest = request.auth(prepared)  # type: ignore[operator,misc]
        return result

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        if origin(url) != self._origin:
            raise SafetyRefusal(
                f"Refused to send {request.method or 'GET'} to {_origin_text(url)}: GitLab pointed there (a "
                f"redirect or a pagination link), but the token only ever goes to {self._owner.connection.url}. "
                "Nothing was sent there.",
                "Set GITLAB_URL to the address GitLab itself uses (its external_url), or fix the proxy that "
                "redirects; then run again.",
            )
        path = urlsplit(url).path
        self._owner.pacer.wait(path)
        streamed = kwargs.pop("stream", False)
        response = super().send(request, stream=True, **kwargs)
        response.__class__ = OrjsonResponse
        if not streamed:
            _read_whole(response)
            response.rows = self._owner._rows_for(path)  # type: ignore[attr-defined]
        self._owner._record(request.method or "GET", path, response)
        self._note_foreign_link(response)
        return response

    def _note_foreign_link(self, response: requests.Response) -> None:
        # GitLab builds Link headers from its external_url. With keep_base_url the next page is still read
        # from GITLAB_URL, but a link to another origin means a misconfigured server or a hostile proxy:
        # say so once per origin.
        target = (response.links.get("next") or {}).get("url")
        if not target or origin(target) == self._origin or origin(target) in self._foreign_links:
            return
        self._foreign_links.add(origin(target))
        log.warning("GitLab's pagination links point to %s, not to %s; the next pages are read from %s only "
                    "(check GitLab's external_url or GITLAB_URL)", _origin_text(target),
                    self._owner.connection.url, self._owner.connection.url)


# A URL requests' prepare_url would send unchanged: an http(s) origin of ASCII letters, digits and dots,
# a path of unreserved and percent-encoded characters, no query (python-gitlab passes it as parameters),
# no userinfo, no fragment, and no "." or ".." segment (which requests would resolve).
_PREPARED_AS_IS = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?(/([A-Za-z0-9._~!$'()*+,;=:@-]|%[0-9A-F]{2})*)*")
_DOT_SEGMENT = re.compile(r"/\.\.?(/|$)")


def _plain(session: requests.Session, request: requests.Request) -> bool:
    return (not request.files and not request.data and request.json is None and not request.cookies
            and not len(session.cookies) and not session.params and session.auth is None
            and callable(request.auth)
            and not any(request.hooks.values()) and not any(session.hooks.values())
            and isinstance(request.url, str) and _PREPARED_AS_IS.fullmatch(request.url) is not None
            and _DOT_SEGMENT.search(request.url) is None
            and isinstance(request.params, dict))


def _encode_query(params: Mapping[Any, Any]) -> str:
    """requests' RequestEncodingMixin._encode_params for a dict: a list value repeats its key, None is left
    out, text is UTF-8, and urlencode quotes the rest."""
    pairs: list[tuple[Any, Any]] = []
    for key, values in params.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        for value in values:
            if value is not None:
                pairs.append((key.encode("utf-8") if isinstance(key, str) else key,
                              value.encode("utf-8") if isinstance(value, str) else value))
    return urlencode(pairs, doseq=True)


def _read_whole(response: requests.Response) -> None:
    """The body in one read, as `Response.content` would give it: requests reads it in 10 KB chunks, each
    through urllib3's and http.client's layers, which cost more CPU than decoding a 150 KB page of jobs.
    Errors become the ones requests raises for the same failure (python-gitlab retries on those)."""
    try:
        response._content = response.raw.read(decode_content=True) or b""
    except urllib3.exceptions.ProtocolError as exc:  # a body cut short, a connection reset
        raise requests.exceptions.ChunkedEncodingError(exc) from None
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None
    response._content_consumed = True  # type: ignore[attr-defined]


class GitLabAPI:
    def __init__(self, connection: Connection, pacer: Pacer | None = None) -> None:
        self.connection = connection
        self.pacer = pacer or Pacer()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.requests = 0
        self.throttled = 0
        self.writes = 0
        self.offset_only = OffsetOnly()  # endpoints without keyset pagination here (janitor.api_pagination)

    # -- plumbing -------------------------------------------------------------------------------
    def _client(self) -> gitlab.Gitlab:
        client: gitlab.Gitlab | None = getattr(self._local, "client", None)
        if client is None:
            client = gitlab.Gitlab(
                self.connection.url,
                private_token=self.connection.token,
                timeout=self.connection.timeout,
                retry_transient_errors=True,
                per_page=100,
                user_agent=f"gitlab-janitor/{__version__}",
                session=_CountingSession(self),
                # Next-page links are rewritten onto GITLAB_URL (python-gitlab, Gitlab._check_url); the
                # session refuses whatever this cannot rewrite.
                keep_base_url=True,
            )
            self._local.client = client
        return client

    def _rows_for(self, path: str) -> msgspec.json.Decoder[Any] | None:
        """The decoder of the rows declared for the listing this thread is reading at `path`, if any."""
        declared: dict[str, msgspec.json.Decoder[Any]] | None = getattr(self._local, "rows", None)
        return declared.get(path) if declared else None

    @contextmanager
    def _declared_rows(self, url: str, row_type: Any) -> Iterator[None]:
        """While a listing is read, its pages (all on `url`'s path, in this thread: python-gitlab fetches
        the next page as the iteration reaches it) are decoded against `row_type` (janitor.http_json)."""
        if row_type is None:
            yield
            return
        declared: dict[str, msgspec.json.Decoder[Any]] = self._local.__dict__.setdefault("rows", {})
        path = urlsplit(self._client().api_url + url).path
        if path in declared:  # the same listing read twice at once in one thread: decoded whole
            yield
            return
        declared[path] = rows_decoder(row_type)
        try:
            yield
        finally:
            declared.pop(path, None)

    def _record(self, method: str, path: str, response: requests.Response) -> None:
        with self._lock:
            self.requests += 1
            if response.status_code == 429:
                self.throttled += 1
            if method != "GET":
                self.writes += 1
        self.pacer.observe(path, response.status_code, response.headers)
        log.debug("%s %s -> %s", method, path, response.status_code)

    def _call(self, what: str, fn: Any, *args: Any, retries: int | None = None, **kwargs: Any) -> Any:
        with self._translated(what):
            return fn(*args, max_retries=self.connection.max_retries if retries is None else retries, **kwargs)

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except gitlab.exceptions.GitlabAuthenticationError:
            raise AuthError(
                f"GitLab rejected the token (401) on {what}.",
                "Check that GITLAB_TOKEN holds a valid, unexpired token for this GitLab instance.",
                status=401,
            ) from None
        except gitlab.exceptions.GitlabHttpError as exc:
            raise translate_http_error(what, exc.response_code, exc.error_message, exc.response_body) from None
        except gitlab.exceptions.GitlabParsingError:
            raise ApiError(f"{what}: GitLab answered with JSON that cannot be read.",
                           "A proxy may have changed the answer; try again, or check what sits in front of GitLab.",
                           ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise Unreachable(
                f"GitLab at {self.connection.url} broke off its answer to {what} (retries were exhausted).",
                "Something between here and GitLab cuts answers short (a proxy, a load balancer's timeout, an "
                "unstable network); check it, then run again. Nothing was written for this answer.",
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Unreachable(
                f"Could not reach GitLab at {self.connection.url} ({type(exc).__name__}) on {what}.",
                "The server's TLS certificate is not trusted here: for a private CA set REQUESTS_CA_BUNDLE to a "
                "PEM file of its certificates (docs/install.md)." if isinstance(exc, requests.exceptions.SSLError)
                else "Check GITLAB_URL, the network path to the server (HTTPS_PROXY, NO_PROXY) and that it is up; "
                     "retries were exhausted.",
            ) from None

    # -- verbs ----------------------------------------------------------------------------------
    def list(self, template: str, params: Mapping[str, Any] | None = None, *, keyset: str | None = None,
             rows: Any = None, **path: Any) -> Iterator[Json]:
        """Iterate every row of a listing, following the Link header to the end.

        keyset="asc"/"desc" asks for keyset pagination ordered by id where GitLab offers it (projects,
        project jobs), which stays fast and complete on any size; other lists use offset pages of 100.
        `rows`, a TypedDict of the fields the caller reads, lets the pages be decoded for those fields only
        (janitor.http_json); rows are then dicts holding those of the fields GitLab sent.
        """
        url = render_path(template, path)
        with self._declared_rows(url, rows):
            yield from self._list(template, url, params, keyset)

    def _list(self, template: str, url: str, params: Mapping[str, Any] | None, keyset: str | None
              ) -> Iterator[Json]:
        query: dict[str, Any] = dict(params or {})
        query["per_page"] = 100
        rows = None
        if keyset and template not in self.offset_only:
            try:
                rows = self._call(f"GET {url}", self._client().http_list, url,
                                  {**query, "pagination": "keyset", "order_by": "id", "sort": keyset}, iterator=True)
            except ApiError as exc:  # an older GitLab, or the endpoint's flag is off: offset pages instead
                if not keyset_refused(exc.status, exc.message):
                    raise
                if self.offset_only.add(template):
                    log.info("GitLab offers no keyset pagination for %s (%s): offset pages for this run", template,
                             exc.status)
        if rows is None:
            order = {"order_by": "id", "sort": keyset} if keyset else {}  # the order keyset would have given
            rows = self._call(f"GET {url}", self._client().http_list, url, {**query, **order}, iterator=True)
        # Later pages are fetched as the iteration goes (with the first page's retries); their errors are
        # translated around the whole iteration rather than row by row. The consumer's own exceptions are
        # raised outside this generator and never pass through here.
        with self._translated(f"GET {url} (next page)"):
            yield from rows

    def first_page(self, template: str, params: Mapping[str, Any] | None = None, **path: Any) -> builtins.list[Json]:
        """One page only (for "the newest N" questions); never used to list everything."""
        url = render_path(template, path)
        query = dict(params or {})
        rows = self._call(f"GET {url}", self._client().http_list, url, query, iterator=False, get_all=False)
        return list(rows)

    def get(self, template: str, params: Mapping[str, Any] | None = None, *, retries: int | None = None,
            **path: Any) -> Json:
        url = render_path(template, path)
        result = self._call(f"GET {url}", self._client().http_get, url, dict(params or {}), retries=retries)
        if not isinstance(result, dict):
            raise ApiError(f"GET {url} did not answer with a JSON object.")
        return result

    def download(self, url: str, max_bytes: int) -> bytes:
        """The file GitLab serves at `url` (rendered). Untrusted: refused past `max_bytes`, never read further."""
        response = self._call(f"GET {url}", self._client().http_get, url, streamed=True, raw=True)
        body = bytearray()
        with self._translated(f"GET {url}"), response:
            declared = response.headers.get("Content-Length", "")
            too_big = declared.isdigit() and int(declared) > max_bytes
            for chunk in () if too_big else response.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    break
        if too_big or len(body) > max_bytes:
            raise ApiError(f"GET {url}: the file is larger than {max_bytes} bytes, the most this reads.",
                           "It is not a file janitor wrote; look at that job's artifacts.")
        return bytes(body)

    def delete(self, template: str, **path: Any) -> None:
        url = render_path(template, path)
        self._call(f"DELETE {url}", self._client().http_delete, url)

    def post(self, template: str, data: Mapping[str, Any] | None = None, **path: Any) -> Json:
        url = render_path(template, path)
        result = self._call(f"POST {url}", self._client().http_post, url, post_data=dict(data or {}))
        return result if isinstance(result, dict) else {}

    def put(self, template: str, data: Mapping[str, Any] | None = None, **path: Any) -> Json:
        url = render_path(template, path)
        result = self._call(f"PUT {url}", self._client().http_put, url, post_data=dict(data or {}))
        return result if isinstance(result, dict) else {}

    def check_token(self, needs_write: bool) -> Json:
        """Fail early, with the fix, when the token cannot do what the step needs."""
        try:
            # Few retries: an unreachable server or a bad URL should fail in a second, not after minutes.
            info = self.get("/personal_access_tokens/self", retries=2)
        except NotFound:  # older GitLab, or not a personal/project/group access token
            return {}
        scopes = set(info.get("scopes") or [])
        if scopes:
            wanted = {"api"} if needs_write else {"api", "read_api"}
            if not scopes & wanted:
                need = "api" if needs_write else "read_api (or api)"
                raise AuthError(
                    f"The token's scopes are {sorted(scopes)}; this step needs {need}.",
                    "Create a token with that scope (a group or project access token works) and put it in "
                    "GITLAB_TOKEN.",
                    status=403,
                    missing_scope=need,
                )
        return info


def _origin_text(url: str) -> str:
    """Scheme, host and port only: a foreign URL's path or query is never echoed (it could carry anything)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if host else "an unparseable URL"


def translate_http_error(what: str, status: int | None, message: Any, body: bytes | None) -> ApiError:
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    if status is not None and text.startswith(f"{status} "):
        text = text[len(f"{status} "):]  # GitLab's messages often start with the status already
    if status == 404:
        named = text[: -len(" Not Found")] if text.endswith(" Not Found") else None
        return NotFound(f"{what}: 404 {text}", status=404, missing=named or None)
    if status == 403:
        scope = _missing_scope(body)
        if scope:
            return AuthError(
                f"{what}: the token lacks the {scope!r} scope (403 insufficient_scope).",
                f"Use a token with the {scope!r} scope: apply deletes, so it needs 'api' and the Maintainer role.",
                status=403,
                missing_scope=scope,
            )
        return AuthError(
            f"{what}: 403 {text}.",
            "The token's user lacks the role for this: deleting needs Maintainer (Owner for some settings).",
            status=403,
        )
    capped = offset_capped(what, status, text)
    if capped is not None:
        return capped
    if status == 429:
        return ApiError(
            f"{what}: still rate limited (429) after retries.",
            "Lower --concurrency, or run when the instance is quieter; nothing was cached from this run.",
            status=429,
        )
    if status is not None and status >= 500:
        return ApiError(
            f"{what}: GitLab answered {status} {text} after retries.",
            "The server is failing; try again later. Nothing partial was kept.",
            status=status,
        )
    return ApiError(f"{what}: {status} {text}", status=status)


def _missing_scope(body: bytes | None) -> str | None:
    if not body or b"insufficient_scope" not in body:
        return None
    try:
        return str(orjson.loads(body).get("scope") or "api")
    except ValueError:
        return "api"
