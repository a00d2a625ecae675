"""``router(config)``: the desk page at ``/desk`` and its static files at ``/desk/<name>``; the
same for the supervisors' wallboard (``/wall``), their recordings review (``/review``) and the
agencies' page (``/agency``), all from the one ``static/`` folder.

Why so little: the page is plain HTML + ES modules + CSS with no build step and nothing from
another origin, so serving it is reading a file from ``static/``. Only names made of
lower-case letters, digits and ``-`` with a known suffix are served (no path can leave the
folder); each answer carries its exact type, an ETag (a reload revalidates instead of
downloading), ``Cache-Control: no-cache`` and a Content-Security-Policy that allows this
origin only (no inline script or style, no frames, no plugins).

The page is public: it holds no data and no secret. Everything it shows comes from the API,
which checks the session and the role on every request. The routes are left out of the
OpenAPI document (they are not part of the API).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from hotline.api.config import ApiConfig

STATIC = Path(__file__).resolve().parent / "static"
# path -> (the page's file, whether its modules are served under the path too, what it is)
PAGES = {
    "desk": ("desk.html", True, "The call taker's desk (坐席工作台)."),
    "wall": ("wall.html", True, "The supervisors' live wallboard (监控大屏; ``?big=1``: the wall display's mode)."),
    "review": ("review.html", True, "The supervisors' recordings review (录音质检): find a call, play it, check it."),
    "agency": ("agency.html", False, "The agencies' page: their own cases (its modules are served under /desk/)."),
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(html|js|css|json|svg)")
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def static_file(name: str, request: Request) -> Response:
    """The file ``name`` of ``static/`` with its headers; 304 when the client's copy is
    current; 404 (the API's error shape) for any other name."""
    if not _NAME.fullmatch(name) or not (STATIC / name).is_file():
        raise HTTPException(404)
    body = (STATIC / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Security-Policy": CSP}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    media_type = TYPES[Path(name).suffix]
    return Response(body, media_type=media_type, headers=headers)  # HEAD: the server sends no body


def router(_config: ApiConfig) -> APIRouter:
    """The pages' routes (``PAGES``); include it without the API's prefix."""
    r = APIRouter(include_in_schema=False)
    for path, (page, assets, what) in PAGES.items():
        _page_routes(r, path, page, assets, what)
    return r


def _page_routes(r: APIRouter, path: str, page: str, assets: bool, what: str) -> None:
    """``/<path>`` (and ``/<path>/``) answer the page; with ``assets``, ``/<path>/<name>`` any
    file of the one ``static/`` folder (modules, style sheets, labels, the icon)."""
    def page_route(request: Request) -> Response:
        return static_file(page, request)

    def asset_route(name: str, request: Request) -> Response:
        return static_file(name, request)

    page_route.__doc__ = what
    for url in (f"/{path}", f"/{path}/"):
        r.add_api_route(url, page_route, methods=["GET", "HEAD"], name=f"{path}_page")
    if assets:
        r.add_api_route(f"/{path}/{{name}}", asset_route, methods=["GET", "HEAD"], name=f"{path}_asset")
