"""schoolgate: a filtering proxy for school networks and home gateways, built as mitmproxy addons."""

from addons.core import __version__

__all__ = ["__version__"]
