"""The HTTP side: a threaded HTTP/1.1 server on loopback that authenticates, injects faults,
rate-limits, records every request, dispatches to the route registry and paginates listings."""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import orjson

from janitor.simulator.pagination import OFFSET_LIMIT, paginate
from janitor.simulator.routes import dispatch
from janitor.simulator.routing import ApiError, Context, FileBody, Listing
from janitor.simulator.state import TOKEN_RECORDS, Instance, Token
from janitor.simulator.versions import Emulation, Release

API_PREFIX = "/api/v4"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str  # decoded, after /api/v4
    query: dict[str, list[str]]
    status: int
    token_name: str | None
    bytes: int = 0  # the response body's length


@dataclass(slots=True)
class _PathFailure:
    pattern: re.Pattern[str]
    status: int
    remaining: int | None


class Faults:
    """Failures injected before a request reaches its route. Seeded, so runs repeat."""

    def __init__(self, seed: int = 0) -> None:
        self.error_rate = 0.0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._bursts: list[int] = []  # retry-after seconds, one per request still to refuse
        self._paths: list[_PathFailure] = []
        self._redirects: list[tuple[re.Pattern[str], str, str | None]] = []

    def burst_429(self, n: int = 3, retry_after: int = 1) -> None:
        with self._lock:
            self._bursts.extend([retry_after] * n)

    def fail_paths(self, pattern: str, status: int = 500, times: int | None = None) -> None:
        with self._lock:
            self._paths.append(_PathFailure(re.compile(pattern), status, times))

    def redirect(self, pattern: str, location: str, method: str | None = None) -> None:
        """Answer requests whose path matches with 302 to `location` + the request's own path and query,
        as a proxy in front of GitLab (or a hostile one) might."""
        with self._lock:
            self._redirects.append((re.compile(pattern), location.rstrip("/"), method))

    def redirect_for(self, method: str, path: str) -> str | None:
        with self._lock:
            for pattern, location, only in self._redirects:
                if (only is None or only == method) and pattern.search(path):
                    return location
        return None

    def clear(self) -> None:
        with self._lock:
            self.error_rate = 0.0
            self._bursts.clear()
            self._paths.clear()
            self._redirects.clear()

    def pick(self, path: str) -> tuple[int, int | None] | None:
        """The (status, retry_after) to answer instead of serving `path`, if any."""
        with self._lock:
            if self._bursts:
                return 429, self._bursts.pop(0)
            for failure in self._paths:
                if failure.remaining != 0 and failure.pattern.search(path):
                    if failure.remaining is not None:
                        failure.remaining -= 1
                    return failure.status, None
            if self.error_rate and self._random.random() < self.error_rate:
                return self._random.choice((500, 502, 503)), None
        return None


@dataclass(slots=True)
class _Window:
    start: float
    count: int = 0


@dataclass(slots=True)
class RateLimiter:
    """Fixed 60-second windows per token; /projects/:id/jobs counts in its own bucket, as the
    application limit of 600 calls per minute (doc/administration/settings/user_and_ip_rate_limits.md)."""

    per_minute: int
    jobs_per_minute: int | None
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, token: str, jobs: bool) -> tuple[dict[str, str], ApiError | None]:
        now = time.time()
        error: ApiError | None = None
        with self.lock:
            window = self._count(token, "api", now)
            reset = int(window.start + 60)
            # RateLimit-* headers on every request (user_and_ip_rate_limits.md)
            headers = {
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Limit": str(self.per_minute),
                "RateLimit-Observed": str(window.count),
                "RateLimit-Remaining": str(max(0, self.per_minute - window.count)),
                "RateLimit-Reset": str(reset),
            }
            if window.count > self.per_minute:
                headers["Retry-After"] = str(max(1, reset - int(now)))
                headers["RateLimit-ResetTime"] = formatdate(reset, usegmt=True)
                error = ApiError(429, "Retry later\n", text=True)
            if error is None and jobs and self.jobs_per_minute is not None:
                window = self._count(token, "jobs", now)
                if window.count > self.jobs_per_minute:
                    # Application limits are not in the RateLimit-* headers but still answer 429
                    # (same doc; body from GitLab's jobs request spec). Retry-After is added so
                    # clients back off for the rest of the window.
                    headers = {**headers, "Retry-After": str(max(1, int(window.start + 60 - now)))}
                    error = ApiError(429, {"message": {
                        "error": "This endpoint has been requested too many times. Try again later."}})
        return headers, error

    def _count(self, token: str, bucket: str, now: float) -> _Window:
        window = self.windows.get((token, bucket))
        if window is None or now - window.start >= 60:
            window = self.windows[(token, bucket)] = _Window(now)
        window.count += 1
        return window


# GitLab guards only the jobs *listing* with its application limit (check_rate_limit!(:jobs_index) in
# lib/api/ci/jobs.rb); single-job reads and artifact deletes count only against the API-wide limit.
_JOBS_PATH = re.compile(r"^/projects/[^/]+/jobs/?$")


class _Headers(dict[str, str]):
    """A request's headers by lower-cased name (the first of repeated ones), read without the email
    parser http.server uses, which cost the simulator more than a cached page of jobs does."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


_MAX_HEADERS = 100  # as http.client's _MAXHEADERS
_MAX_LINE = 65536


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answers go out in one write (`_send`), but http.server's own error answers in several; with Nagle on,
    # keep-alive clients would wait for a delayed ACK (~40 ms) on those.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # requests are in Simulator.requests
        pass

    def parse_request(self) -> bool:
        """The request line and headers, with BaseHTTPRequestHandler.parse_request's checks (HTTP/1.x only,
        keep-alive unless `Connection: close`, bounded header lines and count, Expect: 100-continue)."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
        words = self.requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"  # an answer with a status line, then the connection closes
            if words:
                self.send_error(400, f"Bad request syntax ({self.requestline!r})")
            return False
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        self.close_connection = self.request_version != "HTTP/1.1"
        headers = _Headers()
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, sep, value = str(line, "iso-8859-1").partition(":")
            if sep:
                headers.setdefault(name.strip().lower(), value.strip())
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if headers.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        raw_path = split.path[len(API_PREFIX):] if split.path.startswith(API_PREFIX) else split.path
        raw_path = raw_path.rstrip("/") or "/"
        query = parse_query(split.query)
        # Grape reads a parameter from the query string or the body alike (JSON or form-encoded).
        for key, values in body_params(payload, self.headers.get("Content-Type") or "").items():
            query.setdefault(key, []).extend(values)
        token = self._token()
        if sim.latency:
            time.sleep(sim.latency)
        redirect = sim.faults.redirect_for(method, unquote(raw_path))
        if redirect is not None:
            status, body, headers = 302, None, {"Location": redirect + self.path}
        else:
            status, body, headers = self._answer(sim, method, raw_path, split.path, query, token)
        payload, content_type = _encode(status, body)
        sim.record(RecordedRequest(method, unquote(raw_path), query, status,
                                   token.name if token else None, len(payload)))
        self._send(status, payload, content_type, headers)

    def _token(self) -> Token | None:
        secret = self.headers.get("PRIVATE-TOKEN")
        if not secret:
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                secret = auth[7:].strip()
        return TOKEN_RECORDS.get(secret or "")

    def _answer(self, sim: Simulator, method: str, raw_path: str, full_path: str,
                query: dict[str, list[str]], token: Token | None) -> tuple[int, Any, dict[str, str]]:
        headers: dict[str, str] = {}
        try:
            if not full_path.startswith(API_PREFIX):
                raise ApiError(404, {"error": "404 Not Found"})
            fault = sim.faults.pick(unquote(raw_path))
            if fault is not None:
                status, retry_after = fault
                if status == 429:
                    headers["Retry-After"] = str(1 if retry_after is None else retry_after)
                    raise ApiError(429, "Retry later\n", text=True)
                raise ApiError(status, {"message": f"{status} {_REASONS.get(status, 'Error')}"})
            if token is None:
                # doc/api/rest/authentication.md: missing or invalid token -> 401
                raise ApiError(401, {"message": "401 Unauthorized"})
            if sim.limiter is not None:
                jobs_listing = method == "GET" and bool(_JOBS_PATH.match(raw_path))
                limit_headers, limited = sim.limiter.check(token.secret, jobs_listing)
                headers.update(limit_headers)
                if limited:
                    raise limited
            if method in _WRITE_METHODS and not token.can_write():
                # insufficient_scope body, doc/api/rest/authentication.md (errors.md, "403")
                raise ApiError(403, {
                    "error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided by "
                                         "the access token.",
                    "scope": "api",
                })
            refused = sim.emulation.refusal(method, raw_path, query)
            if refused is not None:
                raise refused
            host = self.headers.get("Host") or f"127.0.0.1:{sim.port}"
            ctx = Context(sim.instance, method, {}, query, token, f"http://{host}")
            with sim.instance.lock:
                result = dispatch(ctx, raw_path)
                if isinstance(result, Listing):
                    result.offset_limit_type = result.offset_limit_type or sim.emulation.offset_limited(method,
                                                                                                        raw_path)
                    body, page_headers = paginate(result, query, f"http://{host}{full_path}", sim.offset_limit)
                    if sim.rewrite_links is not None and "Link" in page_headers:
                        page_headers["Link"] = sim.rewrite_links(page_headers["Link"])
                    headers.update(page_headers)
                    return 200, body, headers
            body = sim.emulation.version_body(result.body) if raw_path == "/version" else result.body
            return result.status, body, headers
        except ApiError as error:
            return error.status, (error.body if not error.text else str(error.body)), headers
        except Exception:  # a simulator bug must look like GitLab's 500, not a dropped connection
            return 500, {"message": "500 Internal Server Error"}, headers

    def _send(self, status: int, payload: bytes, content_type: str | None, headers: dict[str, str]) -> None:
        # One write for the head and the body: with keep-alive, a second small write costs a round trip.
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                 f"Server: {self.version_string()}", f"Date: {_http_date()}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(payload)}")
        lines.append("Cache-Control: no-cache")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict") + payload)


_DATE: list[Any] = [0, ""]  # the second and its HTTP date, formatted once a second rather than per answer


def _http_date() -> str:
    now = int(time.time())
    if now != _DATE[0]:
        _DATE[:] = [now, formatdate(now, usegmt=True)]
    return str(_DATE[1])


def parse_query(query: str) -> dict[str, list[str]]:
    """The query string as `parse_qs(query, keep_blank_values=True)` gives it (a fresh dict the caller may
    change). A run sends the same query to every project's first page, so its pairs are remembered."""
    parsed: dict[str, list[str]] = {}
    for key, value in _query_pairs(query):
        parsed.setdefault(key, []).append(value)
    return parsed


@lru_cache(maxsize=4096)
def _query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(parse_qsl(query, keep_blank_values=True))


def body_params(payload: bytes, content_type: str) -> dict[str, list[str]]:
    """A request body's parameters in the query's shape: a JSON list becomes repeated values, true/false
    their lower-case words. A body that does not parse carries no parameters, as if it were absent."""
    if not payload:
        return {}
    if "json" not in content_type:
        return parse_qs(payload.decode("utf-8", "replace"), keep_blank_values=True)
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}

    def word(value: Any) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return {key: [word(v) for v in value] if isinstance(value, list) else [word(value)]
            for key, value in data.items() if value is not None}


def _encode(status: int, body: Any) -> tuple[bytes, str | None]:
    if status == 204 or body is None:
        return b"", None
    if isinstance(body, FileBody):  # a file, such as one artifact from an archive
        return bytes(body), "application/octet-stream"
    if isinstance(body, bytes):  # a page of cached renderings (pagination.py)
        return body, "application/json"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    try:
        # Compact, as Rails renders it; orjson costs a tenth of json.dumps on a page of projects.
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), "application/json"
    except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits, a type orjson does not know
        return json.dumps(body, separators=(",", ":")).encode(), "application/json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, simulator: Simulator, port: int) -> None:
        self.simulator = simulator
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-answer (a collect worker stopped with its run) is not the server's
        # error; socketserver would print a traceback into the output of whoever runs the simulator.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Simulator:
    """Serves `instance` on 127.0.0.1 in background threads; use as a context manager."""

    def __init__(self, instance: Instance, latency: float = 0.0, port: int = 0, *,
                 gitlab_version: str | None = None, features_off: tuple[str, ...] = ()) -> None:
        """`gitlab_version` ("16.0") answers as that older release would (janitor.simulator.versions);
        `features_off` switches flagged features off ("jobs_keyset")."""
        self.instance = instance
        self.latency = latency
        self.emulation = Emulation(Release.parse(gitlab_version) if gitlab_version else None, features_off)
        self.emulation.prepare(instance)
        # "Max offset allowed by the REST API for offset-based pagination" (doc/administration/instance_limits.md)
        self.offset_limit = OFFSET_LIMIT
        self.faults = Faults(instance.seed)
        self.limiter: RateLimiter | None = None
        # Rewrites every Link header, as a GitLab whose external_url is another host (or a hostile
        # proxy) would send it.
        self.rewrite_links: Callable[[str], str] | None = None
        self.requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._server = _Server(self, port)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rate_limit(self, per_minute: int | None = 2000, jobs_per_minute: int | None = 600) -> None:
        """Turn on GitLab-style rate limits per token; `rate_limit(None)` turns them all off,
        `jobs_per_minute=None` leaves the jobs endpoint without its own limit."""
        self.limiter = None if per_minute is None else RateLimiter(per_minute, jobs_per_minute)

    def record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self.requests.append(request)

    def reset_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()

    def start(self) -> Simulator:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name="gitlab-sim", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
