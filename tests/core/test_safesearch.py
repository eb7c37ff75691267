from pathlib import Path

import pytest

from addons.core.content import ContentRules
from addons.core.errors import Collector
from addons.core.safesearch import Engines, parse_engines
from addons.core.yamlsrc import parse

SHIPPED = Path(__file__).resolve().parents[2] / "blocklists" / "safesearch.yaml"


@pytest.fixture(scope="module")
def engines() -> Engines:
    c = Collector()
    data, errs = parse(SHIPPED.read_text("utf-8"), "safesearch.yaml")
    out = parse_engines(data, "safesearch.yaml", c)
    assert not errs and not c.items
    return out


@pytest.mark.parametrize(
    "host, path, rules, params, headers, query, unsupported",
    [
        ("www.google.com.vn", "/search", ContentRules(), {"safe": "active"}, {}, "cá độ", False),
        ("www.google.com", "/maps", ContentRules(), {}, {}, None, False),  # not a search path
        ("www.google.com", "/search", ContentRules(safe_search=False), {}, {}, "cá độ", False),
        ("www.bing.com", "/search", ContentRules(), {"adlt": "strict"}, {}, "cá độ", False),
        ("duckduckgo.com", "/", ContentRules(), {"kp": "1"}, {}, "cá độ", False),
        ("www.youtube.com", "/results", ContentRules(youtube="moderate"), {}, {"YouTube-Restrict": "Moderate"},
         "cá độ", False),
        ("m.youtube.com", "/watch", ContentRules(), {}, {"YouTube-Restrict": "Strict"}, None, False),
        ("www.youtube.com", "/watch", ContentRules(youtube="off"), {}, {}, None, False),
        ("coccoc.com", "/search", ContentRules(), {}, {}, "cá độ", True),
    ],
)
def test_plans(engines: Engines, host: str, path: str, rules: ContentRules, params: dict, headers: dict,  # type: ignore[type-arg]
               query: str | None, unsupported: bool) -> None:
    engine = engines.match(host)
    assert engine is not None
    q = {"q": "cá độ", "search_query": "cá độ", "query": "cá độ"}
    plan = engines.plan(engine, rules, path, q)
    assert (plan.set_params, plan.headers, plan.query, plan.unsupported) == (params, headers, query, unsupported)


def test_unknown_hosts_and_errors(engines: Engines) -> None:
    assert engines.match("example.com") is None
    c = Collector()
    data, _ = parse("engines:\n  x: {name: X, hosts: [], paths: [/s]}\n  y: {name: Y, hosts: [a.test], colour: red}\n",
                    "s.yaml")
    parse_engines(data, "s.yaml", c)
    messages = [str(e) for e in c.errors]
    assert any("engine 'x' needs a list of hosts" in m for m in messages)
    assert any("unknown key 'colour' in engine 'y'" in m for m in messages)
