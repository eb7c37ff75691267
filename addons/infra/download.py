"""Fetch a list: conditional requests (ETag / If-Modified-Since), a size cap
enforced while reading, a timeout for the whole transfer, into a temporary file."""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core import __version__

CHUNK = 1 << 16
USER_AGENT = f"schoolgate/{__version__} (school content filter list updater)"


class DownloadError(Exception):
    """A plain-words reason why a download failed."""


@dataclass
class Fetched:
    not_modified: bool
    path: Path | None = None  # the body, in a temporary file the caller removes
    etag: str = ""
    last_modified: str = ""
    size: int = 0
    sha256: str = ""


def ssl_context(cafile: str = "") -> ssl.SSLContext:
    """The system's CAs, plus a private CA when one is given (setting department_ca)."""
    ctx = ssl.create_default_context()
    if cafile:
        ctx.load_verify_locations(cafile=cafile)
    return ctx


def fetch(location: str, workdir: Path, *, etag: str = "", last_modified: str = "", max_size: int,
          timeout: float, cafile: str = "") -> Fetched:
    """Download `location` (an http(s) URL or a local path) to a temporary file in workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not location.startswith(("http://", "https://")):
        return _fetch_file(Path(location), workdir, etag=etag, max_size=max_size)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    req = urllib.request.Request(location, headers=headers)
    deadline = time.monotonic() + timeout
    try:
        resp = urllib.request.urlopen(req, timeout=timeout,  # noqa: S310 (http(s) checked above)
                                      context=ssl_context(cafile) if location.startswith("https://") else None)
    except urllib.error.HTTPError as e:
        if e.code == 304:
            e.close()
            return Fetched(True, etag=etag, last_modified=last_modified)
        e.close()
        raise DownloadError(f"the server answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise DownloadError(f"cannot reach {location}: {e.reason}") from None
    except TimeoutError:
        raise DownloadError(f"no answer within {timeout:.0f} s") from None
    except OSError as e:
        raise DownloadError(f"cannot reach {location}: {e}") from None
    with resp:
        length = resp.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_size:
            raise DownloadError(f"the list is {int(length):,} bytes, over the {max_size:,}-byte cap (max_size)")
        fd, tmp = tempfile.mkstemp(prefix=".download-", dir=workdir)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    if time.monotonic() > deadline:
                        raise DownloadError(f"the download took longer than {timeout:.0f} s (timeout)")
                    try:
                        chunk = resp.read(CHUNK)
                    except TimeoutError:
                        raise DownloadError(f"the server stopped sending for {timeout:.0f} s") from None
                    except OSError as e:
                        raise DownloadError(f"the download broke off: {e}") from None
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_size:
                        raise DownloadError(f"the list is over the {max_size:,}-byte cap (max_size)")
                    digest.update(chunk)
                    out.write(chunk)
            if length and length.isdigit() and size != int(length):
                raise DownloadError(f"the download is truncated ({size:,} of {int(length):,} bytes)")
        except BaseException:
            os.unlink(tmp)
            raise
        return Fetched(False, Path(tmp), resp.headers.get("ETag", ""), resp.headers.get("Last-Modified", ""),
                       size, digest.hexdigest())


def _fetch_file(path: Path, workdir: Path, *, etag: str, max_size: int) -> Fetched:
    try:
        st = path.stat()
    except OSError as e:
        raise DownloadError(f"cannot read {path}: {e.strerror or e}") from None
    stamp = f"{st.st_size}-{st.st_mtime_ns}"
    if etag and etag == stamp:
        return Fetched(True, etag=etag)
    if st.st_size > max_size:
        raise DownloadError(f"{path} is {st.st_size:,} bytes, over the {max_size:,}-byte cap (max_size)")
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=workdir)
    os.close(fd)
    try:
        shutil.copyfile(path, tmp)
        data = Path(tmp).read_bytes()
    except OSError as e:
        os.unlink(tmp)
        raise DownloadError(f"cannot read {path}: {e.strerror or e}") from None
    return Fetched(False, Path(tmp), stamp, "", len(data), hashlib.sha256(data).hexdigest())


def fetch_small(location: str, *, timeout: float, max_size: int = 1 << 16, cafile: str = "") -> bytes:
    """A small companion file (a detached signature), whole, in memory."""
    if not location.startswith(("http://", "https://")):
        try:
            data = Path(location).read_bytes()
        except OSError as e:
            raise DownloadError(f"cannot read {location}: {e.strerror or e}") from None
    else:
        req = urllib.request.Request(location, headers={"User-Agent": USER_AGENT})
        try:
            context = ssl_context(cafile) if location.startswith("https://") else None
            with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:  # noqa: S310
                data = resp.read(max_size + 1)
        except urllib.error.HTTPError as e:
            raise DownloadError(f"the server answered HTTP {e.code} {e.reason} for {location}") from None
        except (urllib.error.URLError, OSError) as e:
            raise DownloadError(f"cannot fetch {location}: {getattr(e, 'reason', e)}") from None
    if len(data) > max_size:
        raise DownloadError(f"{location} is too large for a signature")
    return data
