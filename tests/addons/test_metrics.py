from prometheus_client import generate_latest

from addons.metrics import Metrics
from tests.addons.conftest import Chain


def scrape(m: Metrics) -> str:
    return generate_latest(m.registry).decode()


def test_verdicts_are_counted_with_bounded_labels(chain: Chain) -> None:
    m = Metrics(chain.runtime)
    for i in range(50):  # many different hosts, one label set
        m.response(chain.request(chain.flow(f"http://site{i}.bet.test/", client="127.0.0.7")))
    m.response(chain.request(chain.flow("http://school.test/", client="127.0.0.3")))
    text = scrape(m)
    assert ('schoolgate_requests_total{action="block",category="gambling",level="lower-secondary",'
            'reason="category"} 50.0') in text
    assert 'schoolgate_requests_total{action="allow",category="none",level="primary",reason="default"} 1.0' in text
    assert "bet.test" not in text and "127.0.0" not in text
    assert "schoolgate_decision_seconds_count 51.0" in text
    assert 'schoolgate_list_entries{category="gambling",source="blocklists/gambling/domains"} 1.0' in text
    assert 'schoolgate_list_last_update_timestamp_seconds{category="gambling",source="blocklists/gambling.txt"}' in text
    assert 'schoolgate_build_info{version="0.1.0"}' in text


def test_counted_once_and_runtime_figures(chain: Chain) -> None:
    m = Metrics(chain.runtime)
    f = chain.request(chain.flow("http://bet.test/"))
    m.response(f)
    m.error(f)
    assert 'reason="category"} 1.0' in scrape(m)
    chain.runtime.stats.reload_failures = 3
    chain.runtime.stats.gauges["incidents_dropped"] = lambda: 7
    text = scrape(m)
    assert "schoolgate_reload_failures_total 3.0" in text and "schoolgate_incidents_dropped_total 7.0" in text


def test_metrics_port_zero_serves_nothing(chain: Chain) -> None:
    m = Metrics(chain.runtime)
    m.running()
    assert m.port is None
    m.done()


def test_image_checks_and_matches_are_counted_without_hosts(chain: Chain) -> None:
    from addons.core.hashes import HashMatch, ImageCheck
    from addons.core.model import IMAGE_KEY

    m = Metrics(chain.runtime)
    match = HashMatch("sources/a/csam.hashes", "csam", "img-1", 2, "pdq", 9)
    for i, check in enumerate([ImageCheck("hashed"), ImageCheck("cached"), ImageCheck("hashed", match)]):
        f = chain.request(chain.flow(f"http://img{i}.pictures.test/a.jpg", client="127.0.0.20"))
        f.metadata[IMAGE_KEY] = check
        m.response(f)
        m.error(f)  # counted once
    text = scrape(m)
    assert 'schoolgate_images_checked_total{result="hashed"} 2.0' in text
    assert 'schoolgate_images_checked_total{result="cached"} 1.0' in text
    assert 'schoolgate_image_matches_total{kind="pdq"} 1.0' in text
    assert 'schoolgate_image_matches_total{kind="sha256"} 0.0' in text
    assert "pictures.test" not in text and "img-1" not in text and "csam.hashes" not in text
