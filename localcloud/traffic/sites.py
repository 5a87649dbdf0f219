"""Small generated test sites whose every file says which build it belongs to.

The version marker (what :mod:`localcloud.traffic.visitors` reads): an HTML page carries
``<meta name="build" content="VERSION">``; every other text file (CSS, JavaScript, SVG)
carries the comment ``build: VERSION`` (``/* build: v2 */``, ``<!-- build: v2 -->``).

Two shapes, the two a deploy breaks differently:

- :func:`multi_page_site`: N pages that share unhashed assets (``/css/site.css``,
  ``/js/site.js``, ``/img/logo.svg``, and a background image the CSS references), as a
  static-site generator such as MkDocs produces: a new build changes files in place.
- :func:`single_page_app`: ``/index.html`` that references content-hashed assets
  (``/assets/index-<hash>.js``) and lists lazily loaded chunks in ``data-lazy``
  attributes (fetched on navigation, not on load); routes such as ``/about`` exist only
  in the app, so they reach the page through the distribution's 403/404 -> /index.html
  rule. A new build gives every asset a new name.

:func:`put_site` uploads one to an S3 bucket (for tests; a deploy under test uploads its
own way).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Site",
    "SiteFile",
    "mark_version",
    "multi_page_site",
    "put_site",
    "single_page_app",
    "site_from_directory",
]

_HEAD_RE = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_VERSION_RE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class SiteFile:
    """One object of a site: its bytes, Content-Type and Cache-Control (None: none)."""

    body: bytes
    content_type: str
    cache_control: str | None = None


@dataclass(frozen=True)
class Site:
    """A built site: ``files`` by S3 key (no leading slash) and the page URLs to visit."""

    version: str
    files: Mapping[str, SiteFile]
    pages: tuple[str, ...]


def _text(body: str, content_type: str, cache_control: str | None) -> SiteFile:
    return SiteFile(body.encode(), content_type, cache_control)


def multi_page_site(
    version: str,
    *,
    pages: int = 5,
    html_cache_control: str | None = None,
    asset_cache_control: str | None = None,
) -> Site:
    """``pages`` HTML pages (``/`` and ``/page-N.html``) over shared unhashed assets."""
    if pages < 1:
        raise ValueError(f"a site needs at least one page (got {pages})")
    files: dict[str, SiteFile] = {
        "css/site.css": _text(
            f"/* build: {version} */\nbody {{ background: url(../img/bg.svg); }}\n",
            "text/css",
            asset_cache_control,
        ),
        "js/site.js": _text(
            f"/* build: {version} */\nconsole.log('site');\n",
            "application/javascript",
            asset_cache_control,
        ),
        "img/logo.svg": _text(
            f'<svg xmlns="http://www.w3.org/2000/svg"><!-- build: {version} --></svg>\n',
            "image/svg+xml",
            asset_cache_control,
        ),
        "img/bg.svg": _text(
            f'<svg xmlns="http://www.w3.org/2000/svg"><!-- build: {version} bg --></svg>\n',
            "image/svg+xml",
            asset_cache_control,
        ),
    }
    names = ["index.html"] + [f"page-{i}.html" for i in range(1, pages)]
    for name in names:
        files[name] = _text(
            "<!doctype html>\n<html><head>"
            f'<meta name="build" content="{version}">'
            '<link rel="stylesheet" href="/css/site.css">'
            '<script src="/js/site.js"></script>'
            f"<title>{name}</title></head>"
            f'<body><img src="/img/logo.svg"><p>{name} of build {version}</p></body></html>\n',
            "text/html",
            html_cache_control,
        )
    page_urls = tuple("/" if n == "index.html" else f"/{n}" for n in names)
    return Site(version=version, files=files, pages=page_urls)


def _hashed(stem: str, ext: str, body: str) -> str:
    digest = hashlib.sha256(body.encode()).hexdigest()[:8]
    return f"assets/{stem}-{digest}.{ext}"


def single_page_app(
    version: str,
    *,
    routes: int = 4,
    lazy_chunks: int = 3,
    html_cache_control: str | None = "no-cache",
    asset_cache_control: str | None = "max-age=31536000, immutable",
) -> Site:
    """An app at ``/index.html`` with hashed assets and ``lazy_chunks`` code-split chunks.

    The page URLs to visit are ``/`` and ``routes - 1`` client-side routes
    (``/route-N``) that exist only through the SPA error rule.
    """
    if routes < 1 or lazy_chunks < 0:
        raise ValueError("need routes >= 1 and lazy_chunks >= 0")
    css = f"/* build: {version} */\n.app {{ background: url(/assets/bg-{version}.svg); }}\n"
    js = f"/* build: {version} */\nimport('./chunk');\n"
    bg_key = f"assets/bg-{version}.svg"
    files: dict[str, SiteFile] = {
        bg_key: _text(
            f'<svg xmlns="http://www.w3.org/2000/svg"><!-- build: {version} --></svg>\n',
            "image/svg+xml",
            asset_cache_control,
        )
    }
    css_key, js_key = _hashed("index", "css", css), _hashed("index", "js", js)
    files[css_key] = _text(css, "text/css", asset_cache_control)
    files[js_key] = _text(js, "application/javascript", asset_cache_control)
    lazy: list[str] = []
    for i in range(lazy_chunks):
        body = f"/* build: {version} */\nexport const view{i} = {i};\n"
        key = _hashed(f"chunk-{i}", "js", body)
        files[key] = _text(body, "application/javascript", asset_cache_control)
        lazy.append(key)
    lazy_markup = "".join(f'<template data-lazy="/{key}"></template>' for key in lazy)
    files["index.html"] = _text(
        "<!doctype html>\n<html><head>"
        f'<meta name="build" content="{version}">'
        f'<link rel="stylesheet" href="/{css_key}">'
        f'<script type="module" src="/{js_key}"></script>'
        f'</head><body><div class="app"></div>{lazy_markup}</body></html>\n',
        "text/html",
        html_cache_control,
    )
    pages = ("/", *(f"/route-{i}" for i in range(1, routes)))
    return Site(version=version, files=files, pages=pages)


def mark_version(body: bytes, content_type: str, version: str) -> bytes:
    """``body`` with the version marker added (module doc); other types unchanged.

    HTML: the meta tag right after ``<head>`` (or first); CSS and JavaScript: a leading
    ``/* build: VERSION */``; SVG: a ``<!-- build: VERSION -->`` after the root tag's start.
    """
    if not _VERSION_RE.match(version):
        raise ValueError(f"a version is letters, digits, '.', '_' or '-' (got {version!r})")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/html":
        meta = f'<meta name="build" content="{version}">'.encode()
        match = _HEAD_RE.search(body)
        return body[: match.end()] + meta + body[match.end() :] if match else meta + body
    if kind in ("text/css", "application/javascript", "text/javascript"):
        return f"/* build: {version} */\n".encode() + body
    if kind == "image/svg+xml":
        return body.replace(b">", f"><!-- build: {version} -->".encode(), 1)
    return body


def site_from_directory(
    root: Path,
    version: str,
    *,
    cache_control: Mapping[str, str] | None = None,
) -> Site:
    """A built site on disk (MkDocs output, say) with version markers added to its files.

    Pages are its HTML files as URLs: ``/`` for the root ``index.html`` (the
    distribution's DefaultRootObject), ``/a/index.html`` for the others, since an S3
    REST origin has no index documents for ``/a/``. ``cache_control``
    maps a suffix (``".html"``) to the Cache-Control its files get.
    """
    files: dict[str, SiteFile] = {}
    pages: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if key.endswith(".js"):
            content_type = "application/javascript"
        control = next(
            (v for suffix, v in (cache_control or {}).items() if key.endswith(suffix)), None
        )
        body = mark_version(path.read_bytes(), content_type, version)
        files[key] = SiteFile(body, content_type, control)
        if key.endswith(".html"):
            pages.append("/" if key == "index.html" else "/" + key)
    if not pages:
        raise ValueError(f"{root} holds no HTML page")
    return Site(version=version, files=files, pages=tuple(pages))


def put_site(
    s3: Any,  # noqa: ANN401 - a boto3 S3 client
    bucket: str,
    site: Site,
    *,
    prefix: str = "",
    tags: Mapping[str, str] | None = None,
) -> None:
    """Upload every file of ``site`` under ``prefix``; ``tags`` maps a key to its
    ``cache-tag`` metadata (served as ``x-amz-meta-cache-tag``)."""
    for key, file in site.files.items():
        extra: dict[str, Any] = {"ContentType": file.content_type}
        if file.cache_control is not None:
            extra["CacheControl"] = file.cache_control
        if tags and key in tags:
            extra["Metadata"] = {"cache-tag": tags[key]}
        s3.put_object(Bucket=bucket, Key=prefix + key, Body=file.body, **extra)
