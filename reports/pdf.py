"""PDF rendering of the HTML report with WeasyPrint, with no access to the network or the disk.

WeasyPrint by default fetches stylesheets, images, ``<object>`` and ``<link rel=attachment>`` over
http(s) and ``file://`` (an attachment link would embed a local file into the PDF). The report is
rendered with no ``base_url`` and with :class:`SafeFetcher`, which serves only ``data:`` URLs and
the packaged assets of ``auditor.templates`` under the private ``auditor-asset:`` scheme, and
refuses everything else.
"""

from __future__ import annotations

import gc
import mimetypes
import re
from importlib import resources
from urllib import request

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from auditor.errors import ReportError

ASSET_SCHEME = "auditor-asset"
ASSET_PACKAGE = "auditor.templates"
_ASSET_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(css|svg|png|jpg|jpeg|woff|woff2|ttf|otf)$")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9.+-]*):")


class RefusedURLError(ValueError):
    """SafeFetcher was asked for a URL it does not serve."""


class SafeFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that never touches the network or the filesystem.

    Serves ``data:`` URLs and ``auditor-asset:NAME`` (a file packaged in ``auditor.templates``,
    a flat name such as ``report.css``); raises :class:`RefusedURLError` for anything else
    (http, https, file, ftp, relative references...).
    """

    def __init__(self) -> None:
        # fail_on_errors=False: a refused resource is logged by WeasyPrint and left out; the
        # rendering goes on. No handler of the parent class is ever used (fetch is overridden).
        super().__init__(timeout=1, allowed_protocols=("data", ASSET_SCHEME), allow_redirects=False,
                         fail_on_errors=False)

    def fetch(self, url, headers=None):  # noqa: D401 - WeasyPrint's signature
        match = _SCHEME_RE.match(url or "")
        scheme = match[1].lower() if match else ""
        if scheme == "data":
            return self._fetch_data(url)
        if scheme == ASSET_SCHEME:
            return self._fetch_asset(url)
        raise RefusedURLError(f"the report renderer does not fetch {url!r}")

    def open(self, url, data=None, timeout=None):
        full_url = url.full_url if isinstance(url, request.Request) else url
        return self.fetch(full_url)

    def __call__(self, url):
        return self.fetch(url)

    @staticmethod
    def _fetch_data(url: str) -> URLFetcherResponse:
        # urllib's RFC 2397 parser, used directly: no opener, no other handler involved.
        response = request.DataHandler().data_open(request.Request(url))
        body = response.read()
        return URLFetcherResponse(url, body, dict(response.headers.items()), 200)

    @staticmethod
    def _fetch_asset(url: str) -> URLFetcherResponse:
        name = url.split(":", 1)[1]
        if not _ASSET_NAME_RE.match(name):
            raise RefusedURLError(f"not a packaged asset name: {url!r}")
        ref = resources.files(ASSET_PACKAGE).joinpath(name)
        if not ref.is_file():
            raise RefusedURLError(f"no packaged asset {name!r}")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".css"):
            content_type = "text/css"
        headers = {"Content-Type": content_type + ("; charset=utf-8" if content_type.startswith("text/") else "")}
        return URLFetcherResponse(url, ref.read_bytes(), headers, 200)


def render_pdf(html: str) -> bytes:
    """Render the report HTML (from :func:`auditor.reports.html.render_html`) to PDF bytes.

    No ``base_url``: relative references resolve to nothing, and :class:`SafeFetcher` refuses
    every URL that is not ``data:`` or a packaged asset.
    """
    # WeasyPrint's layout is the report stage's peak (about 870 MB for 168 pages at 200 projects): free first
    # the cycles a long run left behind (evaluation runs with the collector paused, auditor.gcpause)
    gc.collect()
    try:
        # custom_metadata: the report's <meta name="auditor-..."> digests go into the PDF's document
        # information, where `auditor verify` reads them (auditor.verify, the PDF link).
        return HTML(string=html, url_fetcher=SafeFetcher()).write_pdf(custom_metadata=True)
    except Exception as exc:  # WeasyPrint raises assorted errors; the CLI needs one type
        raise ReportError(f"PDF rendering failed: {exc}") from exc
