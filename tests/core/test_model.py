from addons.core.model import BLOCK_REASONS, Action, Origin, Reason, RequestView, Verdict


def test_reason_codes_are_stable() -> None:
    # Logs, metrics, exports and translations key on these strings: never rename one.
    assert {r.value for r in Reason} >= {
        "illegal", "denied", "url", "ip_literal", "category", "schedule", "uncategorised", "error",
        "allowlist", "default",
    }
    assert Reason.DEFAULT not in BLOCK_REASONS and Reason.ERROR in BLOCK_REASONS


def test_request_url() -> None:
    assert RequestView("a.test", "/x").url == "http://a.test/x"
    assert RequestView("a.test", "/", "https", 8443).url == "https://a.test:8443/"
    assert RequestView("2001:db8::1", "/", "https", 443).url == "https://[2001:db8::1]/"


def test_verdict_and_origin() -> None:
    v = Verdict(Action.BLOCK, Reason.CATEGORY, "grade-7", origin=Origin("p.yaml", 3))
    assert v.blocked and str(v.origin) == "p.yaml:3" and str(Origin("x")) == "x"
