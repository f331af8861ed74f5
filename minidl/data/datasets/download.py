"""Where dataset files are looked for, and how they are downloaded without ever caching a bad one.

Search order for a dataset whose folder is ``name`` (e.g. 'fashion-mnist'):

1. the ``root`` argument (the directory itself, then ``root/name``, then any
   dataset-specific layouts such as torchvision's ``root/FashionMNIST/raw``);
2. ``$MINIDL_DATA/name``;
3. the user cache, ``$XDG_CACHE_HOME/minidl/name`` (default ``~/.cache/minidl/name``);
4. system directories: ``/usr/share/datasets/name`` (where Debian's
   ``dataset-fashion-mnist`` package puts its files) and ``/usr/local/share/datasets/name``.

A download goes to the first of ``root``, ``$MINIDL_DATA``, the cache.  It is
written to a temporary file beside its destination, checked, and only then
renamed into place, so an interrupted or corrupt download leaves nothing
behind.  ``MINIDL_OFFLINE=1`` forbids every download.
"""
import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

__all__ = ["DatasetError", "DatasetNotFoundError", "offline", "cache_dir", "search_dirs", "find_file",
           "download_dir", "download", "missing_error", "file_digest"]

SYSTEM_DIRS = ("/usr/share/datasets", "/usr/local/share/datasets")


class DatasetError(RuntimeError):
    """A dataset file is missing, truncated, corrupt or fails its checksum."""


class DatasetNotFoundError(DatasetError):
    """A dataset file that is in none of the searched directories (as opposed to present but bad).

    ``dataset`` and ``filename`` say what was looked for, ``dirs`` where.
    """

    def __init__(self, message, dataset, filename, dirs):
        super().__init__(message)
        self.dataset, self.filename, self.dirs = dataset, filename, list(dirs)


def offline():
    """True when ``MINIDL_OFFLINE`` is set (to anything but '' or '0'): no download is attempted."""
    return os.environ.get("MINIDL_OFFLINE", "") not in ("", "0")


def cache_dir():
    """The user cache of minidl's datasets: ``$XDG_CACHE_HOME/minidl`` or ``~/.cache/minidl``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minidl"


def _bases(root):
    bases = [Path(root).expanduser()] if root is not None else []
    if os.environ.get("MINIDL_DATA"):
        bases.append(Path(os.environ["MINIDL_DATA"]).expanduser())
    return bases


def search_dirs(name, root=None, layouts=()):
    """The directories searched for dataset ``name``, in order (see the module docstring)."""
    dirs = [Path(root).expanduser()] if root is not None else []
    for base in [*_bases(root), cache_dir()]:
        dirs += [base / name, *(base / layout for layout in layouts)]
    dirs += [Path(system) / name for system in SYSTEM_DIRS]
    return list(dict.fromkeys(dirs))


def find_file(candidates, dirs):
    """The first existing file named one of ``candidates``, searching ``dirs`` in order; else None."""
    for d in dirs:
        for name in candidates:
            path = d / name
            if path.is_file():
                return path
    return None


def download_dir(name, root=None):
    """Where a download of dataset ``name`` goes: ``root/name``, ``$MINIDL_DATA/name`` or the cache."""
    bases = _bases(root)
    return (bases[0] if bases else cache_dir()) / name


def missing_error(dataset, filename, dirs, hint=""):
    """The DatasetNotFoundError for a file found nowhere: what, where we looked, and how to get it."""
    searched = "\n".join(f"  {d}" for d in dirs)
    how = (f"Download it with {dataset}(..., download=True), put it in one of the directories above, "
           "or set MINIDL_DATA to a directory that holds it.")
    message = f"{dataset}: {filename} not found. Searched:\n{searched}\n{how} {hint}".rstrip()
    return DatasetNotFoundError(message, dataset, filename, dirs)


def file_digest(path, algorithm="md5"):
    """Hex digest of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(urls, dest, verify, timeout=60):
    """Fetch the first of ``urls`` that gives a file passing ``verify(path)``, saved atomically as ``dest``.

    ``verify`` raises DatasetError for a bad file.  Each mirror is tried in
    turn; if all fail, a DatasetError lists why.  Nothing is left at ``dest``
    (nor any temporary file) unless a file passed ``verify``.
    """
    if offline():
        raise DatasetError(f"not downloading {Path(dest).name}: MINIDL_OFFLINE is set")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            print(f"Downloading {url}", file=sys.stderr)
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
            verify(Path(tmp))
            os.replace(tmp, dest)
            return dest
        except (OSError, DatasetError) as error:    # URLError and timeouts are OSErrors
            failures.append(f"  {url}: {error}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DatasetError(f"could not download {dest.name}; every mirror failed:\n" + "\n".join(failures))
