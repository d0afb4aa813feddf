"""The tutorial's programs (the short one, and the shop the tutorial builds) from a fresh
virtual environment, as a reader installs the package.

The other tests run the examples with the development environment's Python, where the
package is installed editable (its modules read from the checkout). Here the distribution is
installed the way docs/embedding.md says (``pip install /path/to/helpdesk``: a wheel built from
a clean copy of the source tree, in an environment made for it), so what a wheel leaves out (a
package, the migrations, the OpenAPI document, py.typed) fails here. Only the dependencies are
borrowed from the development environment, through a path file, so the test needs no index for
them.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.library.test_embedding_doc import (
    HOST_PROGRAM,
    ROOT,
    assert_prints_in_order,
    expected_output,
    page,
    run_example,
    running_shop,
    visit_the_shop,
)

INSTALL_TIMEOUT = 600  # seconds: pip builds a wheel (fetching setuptools for its build)


def _clean_copy(target: Path) -> Path:
    """The checkout's files (tracked, and new ones git does not ignore) without what a build
    leaves behind: setuptools builds in the tree and packs a stale ``build/lib`` it finds."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        origin = ROOT / name
        if origin.is_file():  # a deleted file git still lists is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / name)
    return target


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Python of a new virtual environment holding a non-editable install of helpdesk."""
    venv = tmp_path_factory.mktemp("fresh-install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies, from the development environment: a path file adds its site-packages
    # after the new environment's own (and, not being a site directory, none of its path
    # files run: the editable install of the checkout stays out).
    borrowed = [path for path in site.getsitepackages() if "site-packages" in path]
    (Path(purelib) / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    source = _clean_copy(tmp_path_factory.mktemp("source"))
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


@pytest.mark.slow
def test_the_package_comes_from_the_fresh_install(fresh_python: str, tmp_path: Path) -> None:
    where = subprocess.run(
        [
            fresh_python,
            "-c",
            "import helpdesk, migrations, entrypoints.http, pathlib; "
            "print(helpdesk.__file__); "
            "print((pathlib.Path(entrypoints.http.__file__).parent / 'openapi.yaml').is_file()); "
            "print((pathlib.Path(helpdesk.__file__).parent / 'py.typed').is_file())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(Path(fresh_python).parents[1]))  # not the checkout
    assert where[1:] == ["True", "True"]


@pytest.mark.slow
def test_the_short_program_runs_from_a_fresh_install(
    fresh_python: str, store: dict[str, str], tmp_path: Path
) -> None:
    printed = run_example(HOST_PROGRAM, store, tmp_path, python=fresh_python)
    assert_prints_in_order(printed, expected_output(page(), HOST_PROGRAM))


@pytest.mark.slow
def test_the_tutorials_shop_runs_from_a_fresh_install(
    fresh_python: str, store: dict[str, str], tmp_path: Path
) -> None:
    with running_shop(store, tmp_path, python=fresh_python) as shop:
        visit_the_shop(shop)
