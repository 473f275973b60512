"""padpos.software: the code's version (git commit, dirty flag, source hash) and the
installed package list that every provenance file records, and environment.txt."""

import hashlib
import shutil
import subprocess
import sys

import pytest

from padpos import runtime, software

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
                   check=True, capture_output=True)  # fmt: skip


@pytest.fixture
def package_at(monkeypatch):
    """Point padpos.software at a package folder ``pkg`` (a fresh code_version cache)."""

    def point(pkg):
        monkeypatch.setattr(software, "PACKAGE_DIR", pkg)
        software.code_version.cache_clear()

    yield point
    software.code_version.cache_clear()


def _fake_package(root):
    pkg = root / "src" / "fakepkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""fake"""\n')
    (pkg / "science.py").write_text("X = 1\n")
    return pkg


@needs_git
def test_a_git_checkout_gives_its_commit_and_whether_tracked_files_changed(tmp_path, package_at):
    pkg = _fake_package(tmp_path)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    package_at(pkg)
    clean = software.code_version()
    assert clean["git_commit"] == head and clean["git_dirty"] is False
    (tmp_path / "notes.txt").write_text("untracked files do not make it dirty (git describe --dirty)\n")
    package_at(pkg)
    assert software.code_version()["git_dirty"] is False
    (pkg / "science.py").write_text("X = 2\n")
    package_at(pkg)
    dirty = software.code_version()
    assert dirty["git_commit"] == head and dirty["git_dirty"] is True
    assert dirty["source_sha256"] != clean["source_sha256"]


@needs_git
def test_a_package_untracked_by_the_repository_around_it_gets_no_commit(tmp_path, package_at):
    """A virtual environment inside some repository: its commit is not the package's."""
    (tmp_path / "README").write_text("another project\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "README")
    _git(tmp_path, "commit", "-q", "-m", "one")
    package_at(_fake_package(tmp_path / "venv"))
    assert software.code_version()["git_commit"] is None


def test_outside_git_the_source_hash_identifies_the_code(tmp_path, package_at, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above
    pkg = _fake_package(tmp_path)
    package_at(pkg)
    first = software.code_version()
    assert first["git_commit"] is None and first["git_dirty"] is None
    assert len(first["source_sha256"]) == 64
    (pkg / "science.py").write_text("X = 2\n")
    package_at(pkg)
    assert software.code_version()["source_sha256"] != first["source_sha256"]


def test_no_git_program_fails_no_job(tmp_path, package_at, monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(software.subprocess, "run", no_git)
    package_at(_fake_package(tmp_path))
    version = software.code_version()
    assert version["git_commit"] is None and version["git_dirty"] is None and version["source_sha256"]


def test_the_package_hash_follows_the_installed_list(monkeypatch):
    packages = software.installed_packages()
    assert packages == sorted(set(packages), key=lambda s: (s.lower(), s))
    assert any(p.startswith("torch==") for p in packages) and all("==" in p for p in packages)
    text = software.packages_text()
    assert software.packages_sha256() == hashlib.sha256(text.encode()).hexdigest()
    before = runtime.provenance({}, 0.0)["packages_sha256"]
    assert before == software.packages_sha256()
    monkeypatch.setattr(software, "installed_packages", lambda: sorted([*packages, "newpkg==1.0"]))
    after = runtime.provenance({}, 0.0)["packages_sha256"]
    assert after != before and after == software.packages_sha256()


class _Dist:
    def __init__(self, text, name="Fallback", version="9"):
        self.text, self.metadata, self.version = text, {"Name": name}, version

    def read_text(self, filename):
        return self.text if filename == "METADATA" else None


def test_name_and_version_come_from_the_metadata_headers():
    text = "Metadata-Version: 2.1\nName: Some_Pkg\nVersion: 1.2\n\nName: not a header\n"
    assert software._name_version(_Dist(text)) == "Some_Pkg==1.2"
    assert software._name_version(_Dist(None)) == "Fallback==9"  # no METADATA: importlib parses


def test_the_environment_command_writes_the_hashed_list(tmp_path):
    from padpos.cli import main

    out = tmp_path / "environment.txt"
    main(["environment", "--output", str(out)])
    assert out.read_text() == software.packages_text()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == software.packages_sha256()


def test_provenance_names_the_code_versions_and_the_device(monkeypatch):
    import torch

    prov = runtime.provenance({"seed": 1}, 0.0, "cpu")
    assert {"git_commit", "git_dirty", "source_sha256"} <= set(prov["code"])
    assert {"python", "torch", "cuda", "cudnn", "padpos"} <= set(prov["versions"])
    assert prov["versions"]["python"] == sys.version.split()[0] and prov["device"] == "cpu"
    # a CPU-only build of torch has neither
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: False)
    v = runtime.versions()
    assert v["cuda"] is None and v["cudnn"] is None
