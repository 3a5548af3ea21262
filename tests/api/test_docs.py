"""The API's interactive docs work offline: every script and style comes from Volta itself."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .conftest import Api


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets_that_answer(api: Api, page: str) -> None:
    r = api.client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""", r.text)
    found = [a or b for a, b in urls]
    assert found, "the page should load its scripts"
    for url in found:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from outside"
        assert api.client.get(url).status_code == 200, url
    assert "cdn" not in r.text.lower() and "fonts.googleapis" not in r.text
