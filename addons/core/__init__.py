"""The pure core: policy decisions and list lookups. No I/O, no asyncio, no mitmproxy."""

__version__ = "0.1.0"
