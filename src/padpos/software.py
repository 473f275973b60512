"""Which software a job ran (torch-free, cheap: every job's provenance records it).

- :func:`code_version`: the padpos code itself, as the git commit and a dirty flag of
  the checkout it runs from, and a sha256 of its source files (which, with the package
  version, identifies the code also outside a git checkout, e.g. an installed wheel).
- :func:`installed_packages`: the sorted ``name==version`` list of every installed
  distribution, read from the metadata alone; :func:`packages_sha256` hashes it. The
  study's ``environment.txt`` is this list (its sha256 is the provenance's hash).
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from importlib.metadata import distributions
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# a git call that hangs (a network file system, a credential prompt) must not stall a job
GIT_TIMEOUT_S = 10


def _git(*args: str) -> str | None:
    """Output of ``git -C <package dir> <args>``, or None when git is absent or fails (no
    checkout, a repository owned by someone else, ...): provenance never fails a job."""
    try:
        proc = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(PACKAGE_DIR), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def source_sha256(root: Path | None = None) -> str:
    """sha256 over the ``.py`` files of the package (or of ``root``): relative path and
    bytes, in path order."""
    root = PACKAGE_DIR if root is None else root
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def code_version() -> dict:
    """``git_commit`` and ``git_dirty`` (tracked files changed, as ``git describe --dirty``
    counts it; both None outside a git checkout, or when the package's files are not
    tracked by the checkout around them, e.g. a virtual environment inside a repository)
    and ``source_sha256`` (:func:`source_sha256`)."""
    commit = dirty = None
    # the package must be tracked there: a site-packages copy inside some other
    # repository would otherwise be credited with that repository's commit
    if _git("ls-files", "--error-unmatch", "__init__.py") is not None:
        head = _git("rev-parse", "HEAD")
        status = _git("status", "--porcelain", "--untracked-files=no")
        if head is not None and status is not None:
            commit, dirty = head.strip(), bool(status.strip())
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "source_sha256": source_sha256(),
    }


def _name_version(dist) -> str:
    """``name==version`` of a distribution from the header lines of its metadata file
    (``dist.metadata`` parses the whole file, long description included: ~10x slower)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first blank line
        key, _, value = line.partition(":")
        if key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    if len(fields) < 2:  # an unusual metadata file: let importlib parse it
        fields = {"Name": dist.metadata["Name"], "Version": dist.version}
    return f"{fields['Name']}=={fields['Version']}"


def installed_packages() -> list[str]:
    """Every installed distribution as ``name==version``, sorted (case-insensitively),
    each once (one found on two paths of sys.path is listed once per version)."""
    return sorted({_name_version(d) for d in distributions()}, key=lambda s: (s.lower(), s))


def packages_text(packages: list[str] | None = None) -> str:
    """The package list as the text of ``environment.txt``: one ``name==version`` a line."""
    return "".join(f"{p}\n" for p in (installed_packages() if packages is None else packages))


def packages_sha256(packages: list[str] | None = None) -> str:
    """sha256 of :func:`packages_text` (the sha256 of the study's ``environment.txt``)."""
    return hashlib.sha256(packages_text(packages).encode()).hexdigest()
