"""The lock (requirements/run.txt, requirements/test.txt) against pyproject.toml and
against the packages it installs.

- exact: every entry pins one version (``name==version``);
- complete for pyproject.toml: every runtime requirement has a pin in run.txt that
  satisfies it, and every requirement of the runtime plus the ``test`` and ``slurm``
  extras one in test.txt; the packages the two files share are pinned alike;
- closed (in an environment installed from the lock): walking the installed packages'
  own requirements (Requires-Dist, markers evaluated, extras followed) from
  pyproject.toml's reaches only pinned packages whose pins satisfy them, and reaches
  every pin (nothing is pinned that nothing needs).

The closure test needs the locked versions installed. Elsewhere (a development
environment with other versions, CI's pass with the newest releases) it is skipped and
says why; with PADPOS_LOCKED_ENV=1 (what .ci/run sets in its environment installed from
the lock) it fails instead. Offline and fast: it reads files and installed metadata.
Refresh the lock with requirements/lock.sh.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
RUN_LOCK = REPO / "requirements" / "run.txt"
TEST_LOCK = REPO / "requirements" / "test.txt"
RUN_EXTRAS = ("effnet",)  # what run.txt locks beside the runtime (the README's studies need it)
EXTRAS = RUN_EXTRAS + ("test", "slurm")  # what test.txt locks beside the runtime
# the one platform the lock is for (requirements/lock.sh: --python-version 3.11
# --python-platform x86_64-manylinux_2_28)
TARGET = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")


# ---------------------------------------------------------------- reading
def read_lock(path: Path) -> dict[str, Version]:
    """Package name (normalised) -> pinned version; anything but ``name==version`` is an error."""
    pins: dict[str, Version] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"{path.name}:{number}: {line!r} is not an exact pin (name==version)"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"{path.name}:{number}: {name} is pinned twice"
        pins[name] = Version(m.group(2))
    return pins


def pyproject_requirements(extras: Iterable[str] = ()) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


# ---------------------------------------------------------------- checking
def applies(req: Requirement, env: dict, extras: Iterable[str] = ()) -> bool:
    """Whether ``req`` is required in ``env`` by a package installed with ``extras``."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**env, "extra": e}) for e in ("", *extras))


def unmet(reqs: Iterable[Requirement], pins: dict[str, Version], env: dict, extras=()) -> list[str]:
    """The requirements (of a package installed with ``extras``) that no pin satisfies."""
    problems = []
    for req in reqs:
        if not applies(req, env, extras):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req} is not satisfied by the pin {name}=={pins[name]}")
    return problems


def closure(
    roots: Iterable[Requirement],
    pins: dict[str, Version],
    requires_of: Callable[[str], list[str]],
    env: dict,
) -> tuple[set[str], list[str]]:
    """Walk the requirements from ``roots`` through each package's own (``requires_of``),
    following extras; return the packages reached and every requirement no pin satisfies."""
    problems = unmet(roots, pins, env)
    todo = [(canonicalize_name(r.name), frozenset(r.extras)) for r in roots if applies(r, env)]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name not in pins:
            continue
        seen.add((name, extras))
        reqs = [Requirement(r) for r in requires_of(name)]
        problems += [f"{name}: {p}" for p in unmet(reqs, pins, env, extras)]
        todo += [(canonicalize_name(r.name), frozenset(r.extras)) for r in reqs if applies(r, env, extras)]
    return {name for name, _ in seen}, problems


# ---------------------------------------------------------------- the lock files
def test_every_lock_entry_is_an_exact_pin():
    for path in (RUN_LOCK, TEST_LOCK):
        assert read_lock(path), f"{path} pins nothing"


def test_run_lock_satisfies_every_runtime_requirement():
    assert unmet(pyproject_requirements(RUN_EXTRAS), read_lock(RUN_LOCK), TARGET) == []


def test_test_lock_satisfies_the_runtime_and_the_test_and_slurm_extras():
    assert unmet(pyproject_requirements(EXTRAS), read_lock(TEST_LOCK), TARGET) == []


def test_both_locks_pin_their_shared_packages_alike():
    run, test = read_lock(RUN_LOCK), read_lock(TEST_LOCK)
    assert {n: v for n, v in run.items() if test.get(n) != v} == {}, "test.txt differs from run.txt"


def test_the_lock_holds_the_cuda_torch_that_runs_on_the_cpu():
    pins = read_lock(TEST_LOCK)
    assert not pins["torch"].local, "a local build (+cpu / +cuXXX) is not PyPI's torch"
    assert any(name.startswith("nvidia-") for name in pins), "the CUDA build's libraries are missing"


def test_the_checks_catch_a_broken_lock():
    """The checks above and below can fail: a missing pin, a pin outside its range, a
    requirement of a pinned package that the lock lacks, and a pin nothing needs."""
    pins = read_lock(RUN_LOCK)
    reqs = pyproject_requirements()
    assert unmet(reqs, {n: v for n, v in pins.items() if n != "tqdm"}, TARGET) == [f"{req('tqdm')} is not pinned"]
    assert unmet(reqs, {**pins, "numpy": Version("1.0")}, TARGET) == [
        f"{req('numpy')} is not satisfied by the pin numpy==1.0"
    ]
    # a marker for another platform or an extra nobody asked for needs no pin
    assert unmet([Requirement("pywin32; sys_platform == 'win32'"), Requirement("x; extra == 'y'")], {}, TARGET) == []
    assert unmet([Requirement("x; extra == 'y'")], {}, TARGET, extras=("y",)) == ["x; extra == \"y\" is not pinned"]
    fake = {"a": ["b>=2", "c[d]"], "b": [], "c": ["e; extra == 'd'"], "e": [], "stale": []}
    lock = {n: Version("2") for n in fake}
    reached, problems = closure([Requirement("a")], lock, fake.__getitem__, TARGET)
    assert problems == [] and set(lock) - reached == {"stale"}
    reached, problems = closure([Requirement("a")], {**lock, "b": Version("1")}, fake.__getitem__, TARGET)
    assert problems == ["a: b>=2 is not satisfied by the pin b==1"]
    reached, problems = closure([Requirement("a")], {n: v for n, v in lock.items() if n != "e"}, fake.__getitem__, TARGET)
    assert problems == ["c: e; extra == \"d\" is not pinned"]


def req(name: str) -> Requirement:
    """pyproject.toml's requirement of ``name``."""
    return next(r for r in pyproject_requirements(EXTRAS) if canonicalize_name(r.name) == name)


# ---------------------------------------------------------------- the installed packages
def installed_requires(name: str) -> list[str]:
    return metadata.distribution(name).requires or []


def installed_version(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.parametrize("lock, extras", [(RUN_LOCK, RUN_EXTRAS), (TEST_LOCK, EXTRAS)], ids=["run", "test"])
def test_lock_is_closed_under_the_installed_packages_requirements(lock, extras):
    pins = read_lock(TEST_LOCK)  # what is installed: test.txt, a superset of run.txt
    differ = {n: installed_version(n) for n, v in pins.items() if installed_version(n) != v}
    if differ:
        why = f"this environment was not installed from {TEST_LOCK.relative_to(REPO)}: " + ", ".join(
            f"{n} {v or 'missing'} (lock {pins[n]})" for n, v in sorted(differ.items())[:5]
        )
        if os.environ.get("PADPOS_LOCKED_ENV") == "1":
            pytest.fail(why)
        pytest.skip(why)
    env = default_environment()
    pins = read_lock(lock)
    reached, problems = closure(pyproject_requirements(extras), pins, installed_requires, env)
    assert problems == [], f"{lock.name} misses requirements; refresh it with requirements/lock.sh"
    assert set(pins) - reached == set(), f"{lock.name} pins packages that nothing requires"
