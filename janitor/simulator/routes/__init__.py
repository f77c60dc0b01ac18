"""Route families. Every module in this package registers its endpoints when imported, so adding
a resource family is adding one module here (plus a populate step in the generator)."""

from __future__ import annotations

import importlib
import pkgutil

from janitor.simulator.routing import ApiError, Context, Listing, Response, resolve
from janitor.simulator.state import TOKEN_RECORDS, TOKENS, Instance

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def unknown_route() -> ApiError:
    # Grape's answer to a route it does not know (errors.md, "404")
    return ApiError(404, {"error": "404 Not Found"})


def dispatch(ctx: Context, raw_path: str) -> Response | Listing:
    found = resolve(ctx.method, raw_path)
    if found is None:
        raise unknown_route()
    matched, params = found
    ctx.params = params
    return matched.handler(ctx)


def count_rows(instance: Instance, raw_path: str, query: dict[str, list[str]]) -> int:
    """Rows a GET listing returns over all its pages, as the admin token sees them."""
    ctx = Context(instance, "GET", {}, query, TOKEN_RECORDS[TOKENS["admin"]], "http://localhost")
    with instance.lock:
        result = dispatch(ctx, raw_path)
    if not isinstance(result, Listing):
        raise ValueError(f"{raw_path} is not a listing")
    return len(result.items)
