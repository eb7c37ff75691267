"""The phrase-scanning process over a socket pair (addons/infra/scanproc.py)."""

from __future__ import annotations

import asyncio

import pytest

from addons.core.phrases import PhraseIndex, parse_phrases
from addons.infra.scanproc import ScanProcess, ScanProcessGone

PHRASES = parse_phrases("40 ~cá độ bóng đá\n30 ~nhà cái\n20 sex\n", "gambling", "gambling.vi.txt").phrases


def bodies() -> list[tuple[bytes, bool, str]]:
    out = []
    for i in range(30):
        text = f"<p>trang {i}: " + "cá độ bóng đá, " * (i % 4) + "nhà cái " * (i % 3) + "</p>"
        out.append((text.encode("utf-8"), True, "utf-8"))
    out.append(("cá độ bóng đá".encode("cp1258", "replace"), False, "windows-1258"))
    out.append((("<p>" + "học sinh " * 200_000 + "nha cai</p>").encode(), True, ""))  # 2 MB
    return out


async def test_answers_come_back_in_order_and_equal_the_scan_in_place() -> None:
    index = PhraseIndex(list(PHRASES))
    process = ScanProcess(tuple(PHRASES))
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(process.scan(raw, is_html, cs) for raw, is_html, cs in bodies())), 60)
        assert [r.scores for r in results] == [index.scan_body(*b).scores for b in bodies()]
        assert results[5].scores == {"gambling": 40 + 60} and process.pending == 0
    finally:
        process.stop()
        assert process.reap(10)


async def test_a_process_that_dies_fails_its_pending_scans() -> None:
    process = ScanProcess(tuple(PHRASES))
    try:
        assert (await process.scan(b"nha cai", False, "")).scores == {"gambling": 30}
        process.proc.kill()
        with pytest.raises(ScanProcessGone):
            await asyncio.wait_for(asyncio.gather(*(process.scan(b"x" * 500_000, False, "") for _ in range(5))), 30)
        with pytest.raises(ScanProcessGone):
            await process.scan(b"nha cai", False, "")
        assert process.gone
    finally:
        process.stop()
        assert process.reap(10)


async def test_stop_ends_the_process_before_and_after_it_is_used() -> None:
    unused = ScanProcess(tuple(PHRASES))
    unused.stop()
    assert unused.reap(10)
    used = ScanProcess(tuple(PHRASES))
    await used.scan(b"sex", False, "")
    used.stop()
    assert used.reap(10) and used.proc.returncode is not None
    with pytest.raises(ScanProcessGone):
        await used.scan(b"sex", False, "")
