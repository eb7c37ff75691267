"""Small file helpers: capped reads, atomic writes, cheap change signatures."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


class FileTooLarge(OSError):
    pass


def read_capped(path: Path, cap: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise FileTooLarge(f"{path} is larger than {cap} bytes")
    return data


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def walk_files(root: Path) -> list[Path]:
    """Every regular file below root, sorted, skipping hidden files and directories."""
    out: list[Path] = []
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and not name.endswith(("~", ".swp", ".tmp")):
                out.append(Path(dirpath) / name)
    return out


def tree_signature(roots: Iterable[Path]) -> str:
    """Changes whenever a file below the roots is added, removed or modified."""
    h = hashlib.blake2b(digest_size=16)
    for root in roots:
        h.update(str(root).encode())
        for p in walk_files(root):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def signature(path: Path) -> str:
    """Changes whenever the file is replaced or modified ("" while it does not exist)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return ""
    return f"{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}"


def display_path(path: Path) -> str:
    """A path as people should see it in messages: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
