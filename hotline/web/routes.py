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
PAGE = "desk.html"
WALL_PAGE = "wall.html"  # the supervisors' wallboard at ``/wall``
REVIEW_PAGE = "review.html"  # the supervisors' recordings review and quality checks at ``/review``
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
    """The desk's routes; include it without the API's prefix."""
    r = APIRouter(include_in_schema=False)

    @r.api_route("/desk", methods=["GET", "HEAD"])
    @r.api_route("/desk/", methods=["GET", "HEAD"])
    def page(request: Request) -> Response:
        """The single page."""
        return static_file(PAGE, request)

    @r.api_route("/desk/{name}", methods=["GET", "HEAD"])
    def asset(name: str, request: Request) -> Response:
        """A module, the style sheet, the pause reasons' labels, the icon."""
        return static_file(name, request)

    @r.api_route("/wall", methods=["GET", "HEAD"])
    @r.api_route("/wall/", methods=["GET", "HEAD"])
    def wall_page(request: Request) -> Response:
        """The supervisors' live wallboard (监控大屏; ``?big=1``: the wall display's mode)."""
        return static_file(WALL_PAGE, request)

    @r.api_route("/wall/{name}", methods=["GET", "HEAD"])
    def wall_asset(name: str, request: Request) -> Response:
        """The wallboard's modules and style sheet (the same folder as the desk's)."""
        return static_file(name, request)

    @r.api_route("/review", methods=["GET", "HEAD"])
    @r.api_route("/review/", methods=["GET", "HEAD"])
    def review_page(request: Request) -> Response:
        """The supervisors' recordings review (录音质检): find a call, play it, check it."""
        return static_file(REVIEW_PAGE, request)

    @r.api_route("/review/{name}", methods=["GET", "HEAD"])
    def review_asset(name: str, request: Request) -> Response:
        """The review page's modules and style sheet (the same folder as the desk's)."""
        return static_file(name, request)

    @r.api_route("/agency", methods=["GET", "HEAD"])
    @r.api_route("/agency/", methods=["GET", "HEAD"])
    def agency_page(request: Request) -> Response:
        """The agencies' page: their own cases (its modules are served under /desk/)."""
        return static_file("agency.html", request)

    return r
