"""schoolgate: a filtering proxy for school networks, built as mitmproxy addons."""
