"""ImageMatch in the addon chain: listed pictures are replaced for every group,
others pass untouched, and nothing is hashed while no hash list is loaded."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from addons.core.hashes import ImageCheck
from addons.core.model import BLOCKED_KEY, HOLD_BODY_KEY, IMAGE_KEY, VERDICT_KEY, Reason
from addons.imagematch import placeholder
from addons.infra.imagehash import exact_hashes, list_lines
from tests.addons.conftest import Chain
from tests.helpers.images import encode, picture, resized

LISTED = encode(picture(1))
OTHER = encode(picture(2))
STUDENT, STAFF, GUEST = "127.0.0.7", "127.0.0.20", "127.0.0.30"


@pytest.fixture
def hash_list(settings) -> Path:  # type: ignore[no-untyped-def]
    path = Path(settings.blocklists_dir) / "csam" / "hashes"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(list_lines(LISTED, "img-1")) + "\n")
    return path


def image(chain: Chain, body: bytes, client: str = STUDENT, url: str = "http://img.test/a.jpg",
          content_type: str = "image/jpeg", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    f = chain.request(chain.flow(url, client=client, accept="image/avif,image/webp,*/*"))
    f.request.headers["Sec-Fetch-Dest"] = "image"
    return chain.respond(f, body, content_type, headers)


@pytest.mark.parametrize("client", [STUDENT, STAFF, GUEST])
def test_a_listed_picture_is_replaced_for_every_group(hash_list: Path, chain: Chain, client: str) -> None:
    f = image(chain, encode(resized(picture(1), 0.6), quality=70), client)  # a resized, re-encoded copy
    assert f.response.status_code == 200 and f.response.headers["content-type"] == "image/svg+xml"
    assert f.response.headers["x-schoolgate-reason"] == "illegal"
    assert f.response.content == placeholder(384, 288) and b"<text" not in f.response.content
    verdict = f.metadata[VERDICT_KEY]
    assert verdict.reason is Reason.ILLEGAL and verdict.category == "csam" and f.metadata[BLOCKED_KEY]
    assert verdict.matched == "entry img-1" and verdict.origin.source == "blocklists/csam/hashes"
    check: ImageCheck = f.metadata[IMAGE_KEY]
    assert check.result == "hashed" and check.match is not None and check.match.kind == "pdq"
    assert 0 < check.match.distance <= 31


def test_the_same_bytes_match_exactly_without_pdq(hash_list: Path, chain: Chain) -> None:
    f = image(chain, LISTED, STAFF)
    check: ImageCheck = f.metadata[IMAGE_KEY]
    assert check.match is not None and check.match.kind == "sha256" and check.result == "exact_only"
    assert f.response.headers["content-type"] == "image/svg+xml"


def test_navigating_to_a_listed_picture_shows_the_block_page(hash_list: Path, chain: Chain) -> None:
    f = chain.request(chain.flow("http://img.test/a.jpg", client=STUDENT))
    f.request.headers["Sec-Fetch-Dest"] = "document"
    f = chain.respond(f, LISTED, "image/jpeg")
    assert f.response.headers["content-type"].startswith("text/html")
    assert b"illegal" in f.response.content or "vi phạm pháp luật".encode() in f.response.content


def test_other_pictures_pass_untouched_and_are_cached(hash_list: Path, chain: Chain) -> None:
    f = image(chain, OTHER)
    assert f.response.content == OTHER and not f.metadata.get(BLOCKED_KEY)
    assert f.metadata[IMAGE_KEY] == ImageCheck("hashed")
    f = image(chain, OTHER, STAFF, url="http://cdn.test/same-picture.jpg")
    assert f.metadata[IMAGE_KEY] == ImageCheck("cached") and chain.images.hashed == 1
    f = image(chain, encode(picture(3), "PNG"), content_type="image/png")
    assert f.response.status_code == 200 and f.metadata[IMAGE_KEY].result == "hashed"


def test_small_large_and_non_images(hash_list: Path, chain: Chain) -> None:
    icon = encode(picture(4, (16, 16)), "PNG")
    assert len(icon) < chain.runtime.settings.image_hash_min_bytes
    assert image(chain, icon, content_type="image/png").metadata[IMAGE_KEY] == ImageCheck("exact_only")
    big = replace(chain.runtime.settings, image_hash_max_bytes=1000)
    chain.runtime.settings = big
    f = image(chain, OTHER, headers={"Content-Length": str(len(OTHER))})
    assert f.metadata[IMAGE_KEY] == ImageCheck("too_large") and f.response.content == OTHER
    f = image(chain, LISTED)  # no usable length announced: measured after download
    assert f.metadata[IMAGE_KEY] == ImageCheck("too_large")
    chain.runtime.settings = replace(big, image_hash_max_bytes=10_000_000)
    f = chain.respond(chain.request(chain.flow("http://img.test/page", client=STUDENT)), b"<p>hi</p>")
    assert IMAGE_KEY not in f.metadata
    f = image(chain, b"\x89PNG broken", content_type="image/png")
    assert f.metadata[IMAGE_KEY].result == "exact_only" and f.response.content == b"\x89PNG broken"
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'>" + b"<rect/>" * 500 + b"</svg>"
    assert image(chain, svg, content_type="image/svg+xml").metadata[IMAGE_KEY].result == "exact_only"
    broken = LISTED[:3000]
    f = image(chain, broken)
    assert f.metadata[IMAGE_KEY].result == "unreadable" and f.response.content == broken


def test_nothing_is_hashed_without_a_hash_list(chain: Chain) -> None:
    f = chain.request(chain.flow("http://img.test/a.jpg", client=STUDENT, accept="image/*"))
    f.response = None
    from mitmproxy import http

    f.response = http.Response.make(200, LISTED, {"Content-Type": "image/jpeg"})
    chain.images.responseheaders(f)
    assert HOLD_BODY_KEY not in f.metadata and IMAGE_KEY not in f.metadata
    assert image(chain, LISTED).response.content == LISTED and chain.images.hashed == 0


def test_images_are_held_whole_not_streamed(hash_list: Path, chain: Chain) -> None:
    """Phrase scanning streams large bodies; an image being hashed is held instead."""
    chain.runtime.settings = replace(chain.runtime.settings, scan_max_bytes=100)
    f = image(chain, LISTED, headers={"Content-Length": str(len(LISTED))})
    assert not f.response.stream and f.metadata[VERDICT_KEY].reason is Reason.ILLEGAL


def test_hashing_in_a_worker_process(hash_list: Path, chain: Chain) -> None:
    chain.runtime.settings = replace(chain.runtime.settings, image_hash_workers=1)
    try:
        f = image(chain, encode(picture(1), quality=50))
        assert f.metadata[VERDICT_KEY].reason is Reason.ILLEGAL and chain.images._pool is not None
        assert image(chain, OTHER).response.content == OTHER
    finally:
        chain.images.done()
    assert chain.images._pool is None


def test_an_updated_list_applies_at_once(hash_list: Path, chain: Chain) -> None:
    assert image(chain, OTHER).response.content == OTHER
    sha, _ = exact_hashes(OTHER)
    hash_list.write_text(f"sha256 {sha} img-9\n")
    assert asyncio.run(chain.loader.check_for_changes())
    f = image(chain, OTHER)
    assert f.metadata[VERDICT_KEY].matched == "entry img-9"
    assert image(chain, encode(picture(1))).response.headers["content-type"] == "image/jpeg"
