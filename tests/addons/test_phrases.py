import asyncio
import gzip
from dataclasses import replace

from mitmproxy import http

from addons.core.model import BLOCKED_KEY, VERDICT_KEY, Reason
from tests.addons.conftest import Chain

GAMBLING_PAGE = ("<html><body><h1>Soi kèo nhà cái hôm nay</h1><p>Tỷ lệ kèo cá độ bóng đá, nhà cái uy tín, "
                 "đặt cược ngay, nạp tiền cược nhận thưởng.</p></body></html>").encode()
NEWS_PAGE = "<html><body><p>Học sinh lớp 7 tham gia cuộc thi khoa học kỹ thuật.</p></body></html>".encode()


def test_an_uncategorised_page_over_the_threshold_is_blocked(chain: Chain) -> None:
    f = chain.respond(chain.request(chain.flow("http://new-site.test/", client="127.0.0.7")), GAMBLING_PAGE)
    assert f.metadata.get(BLOCKED_KEY) and f.response is not None and f.response.status_code == 403
    v = f.metadata[VERDICT_KEY]
    assert (v.reason, v.category) == (Reason.PHRASE, "gambling")
    page = f.response.get_text()
    assert "Trang này đã bị chặn" in page and "kèo" not in page  # never the phrases themselves


def test_innocent_and_compressed_pages(chain: Chain) -> None:
    f = chain.respond(chain.request(chain.flow("http://new-site.test/")), NEWS_PAGE)
    assert f.response is not None and f.response.status_code == 200
    f = chain.request(chain.flow("http://other.test/", client="127.0.0.7"))
    f.response = http.Response.make(200, b"", {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    f.response.raw_content = gzip.compress(GAMBLING_PAGE)  # as it comes from the server
    chain.phrases.responseheaders(f)
    asyncio.run(chain.phrases.response(f))
    assert f.metadata[VERDICT_KEY].reason is Reason.PHRASE


def test_thresholds_per_grade(chain: Chain) -> None:
    mild = "<p>Tin tức: nhà cái và tỷ lệ kèo.</p>".encode()  # scores 30 + 35 = 65
    assert chain.respond(chain.request(chain.flow("http://a.test/", client="127.0.0.3")), mild).response.status_code == 403
    assert chain.respond(chain.request(chain.flow("http://a.test/", client="127.0.0.11")), mild).response.status_code == 200


def test_safeguarding_pages_get_the_care_page(chain: Chain) -> None:
    body = "<p>Mình muốn chết, cách tự tử nào không đau</p>".encode()
    f = chain.respond(chain.request(chain.flow("http://forum.test/", client="127.0.0.11")), body)
    assert f.metadata[VERDICT_KEY].reason is Reason.SAFEGUARDING
    page = f.response.get_text()
    assert "Em có ổn không?" in page and "Are you okay?" in page and "111" in page


def test_categorised_sites_staff_and_binary_bodies_are_not_scanned(chain: Chain) -> None:
    # social.test is listed (social_networks): known sites are decided by category
    f = chain.respond(chain.request(chain.flow("http://social.test/", client="127.0.0.20")), GAMBLING_PAGE)
    assert f.response.status_code == 200
    f = chain.respond(chain.request(chain.flow("http://x.test/", client="127.0.0.20")), GAMBLING_PAGE)  # staff
    assert f.response.status_code == 200
    f = chain.respond(chain.request(chain.flow("http://x.test/a.png")), GAMBLING_PAGE, "image/png")
    assert f.response.status_code == 200


def test_large_bodies_are_streamed_not_scanned(chain: Chain) -> None:
    """Over every cap (mitmproxy streams those anyway): passed through, never held."""
    chain.runtime.settings = replace(chain.runtime.settings, scan_max_bytes=100, image_hash_max_bytes=100)
    f = chain.request(chain.flow("http://x.test/", client="127.0.0.7"))
    f.response = http.Response.make(200, GAMBLING_PAGE, {"Content-Type": "text/html",
                                                         "Content-Length": str(len(GAMBLING_PAGE))})
    chain.phrases.responseheaders(f)
    assert f.response.stream is True


def test_a_long_page_is_scanned_at_its_start(chain: Chain) -> None:
    """Padding a page past scan_max_bytes does not hide it: its first bytes are scanned."""
    chain.runtime.settings = replace(chain.runtime.settings, scan_max_bytes=len(GAMBLING_PAGE) + 10)
    f = chain.respond(chain.request(chain.flow("http://x.test/", client="127.0.0.7")),
                      GAMBLING_PAGE + b" " * 100_000)
    assert f.response.status_code == 403 and chain.phrases.limits["size"] == 1


def test_nobody_reads_a_binary_body(chain: Chain) -> None:
    f = chain.request(chain.flow("http://x.test/video.mp4", client="127.0.0.7"))
    f.response = http.Response.make(200, b"\x00" * 1000, {"Content-Type": "video/mp4"})
    chain.images.responseheaders(f)
    chain.phrases.responseheaders(f)
    assert f.response.stream is True  # no hash list loaded, not text: streamed at once


def test_results_are_cached_by_content(chain: Chain) -> None:
    for _ in range(3):
        chain.respond(chain.request(chain.flow("http://new-site.test/", client="127.0.0.7")), GAMBLING_PAGE)
    assert chain.phrases.scanned == 1 and chain.phrases.cache_hits == 2


async def test_scanning_in_a_worker_process(chain: Chain) -> None:
    chain.runtime.settings = replace(chain.runtime.settings, scan_workers=1)
    f = chain.request(chain.flow("http://worker.test/", client="127.0.0.7"))
    f.response = http.Response.make(200, GAMBLING_PAGE, {"Content-Type": "text/html; charset=utf-8"})
    chain.phrases.responseheaders(f)
    await chain.phrases.response(f)
    assert f.metadata[VERDICT_KEY].reason is Reason.PHRASE and len(chain.phrases.pool.processes) == 1
    await chain.phrases.done()
    assert chain.phrases.pool.processes == [] and chain.phrases.pool._stopping == []


async def test_a_scan_process_that_dies_is_replaced_and_the_page_still_scanned(chain: Chain) -> None:
    chain.runtime.settings = replace(chain.runtime.settings, scan_workers=1)

    async def scan(url: str) -> http.HTTPFlow:
        f = chain.request(chain.flow(url, client="127.0.0.7"))
        f.response = http.Response.make(200, GAMBLING_PAGE + url.encode(), {"Content-Type": "text/html"})
        chain.phrases.responseheaders(f)
        await chain.phrases.response(f)
        return f

    await scan("http://one.test/")
    first = chain.phrases.pool.processes[0]
    first.proc.kill()
    first.proc.wait()
    f = await scan("http://two.test/")  # scanned in the proxy this time
    assert f.metadata[VERDICT_KEY].reason is Reason.PHRASE and chain.phrases.pool.processes == []
    f = await scan("http://three.test/")  # and by a new process after that
    assert f.metadata[VERDICT_KEY].reason is Reason.PHRASE and chain.phrases.pool.processes[0] is not first
    await chain.phrases.done()


async def test_a_policy_edit_keeps_the_scan_worker_new_phrases_restart_it(chain: Chain) -> None:
    from tests.addons.test_policy_loader import bump

    chain.runtime.settings = replace(chain.runtime.settings, scan_workers=1)

    async def scan(url: str) -> None:
        f = chain.request(chain.flow(url, client="127.0.0.7"))
        f.response = http.Response.make(200, GAMBLING_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        chain.phrases.responseheaders(f)
        await chain.phrases.response(f)

    await scan("http://worker.test/")
    pool = chain.phrases.pool.processes[0]
    bump(chain.runtime.settings.policies_path / "local.yaml", "groups:\n  grade-7:\n    deny: [wiki.test]\n")
    assert await chain.loader.check_for_changes()
    await scan("http://worker.test/")
    assert chain.phrases.pool.processes == [pool] and chain.phrases.cache_hits == 1  # same lists: same worker, same cache
    phrases = chain.runtime.settings.blocklists_path / "phrases" / "gambling.en.txt"
    bump(phrases, phrases.read_text(encoding="utf-8") + "\n25 brand new phrase\n")
    assert await chain.loader.check_for_changes()
    await scan("http://worker.test/")
    assert chain.phrases.pool.processes[0] is not pool and chain.phrases.cache_hits == 1  # new lists: scanned again
    await chain.phrases.done()
