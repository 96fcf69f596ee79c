"""GraphiQL without internet access (development only; production has no GraphiQL).

strawberry's page loads React, GraphiQL and its explorer plugin from a CDN at pinned
versions, each with a subresource-integrity hash. The same files are vendored under
``app/static/graphiql/<package>@<version>/`` with their licences and served by the app;
the page is strawberry's own with the CDN's address replaced by ours, so its integrity
hashes check that the vendored files are byte for byte the ones strawberry pins.

``make graphiql-assets`` (``python -m app.graphiql``) fetches them again from the npm
registry (``npm pack`` at the versions the installed strawberry's page names): run it
after upgrading strawberry.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import strawberry
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STRAWBERRY_PAGE = Path(strawberry.__file__).parent / "static" / "graphiql.html"
CDN = "https://unpkg.com/"
URL_PREFIX = "/static/graphiql/"
ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
LICENCE = "LICENSE"
_CDN_FILE = re.compile(re.escape(CDN) + r'((?:@[^/"]+/)?[^@/"]+)@([^/"]+)/([^"?#]+)')


def offline_page(page: str) -> str:
    """strawberry's GraphiQL page, its assets taken from this server."""
    return page.replace(CDN, URL_PREFIX)


def routes() -> list[Mount]:
    return [Mount(URL_PREFIX.rstrip("/"), StaticFiles(directory=ASSETS_DIR))]


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    files: tuple[str, ...]

    @property
    def directory(self) -> str:
        return f"{self.name}@{self.version}"


def cdn_packages(page: str) -> list[Package]:
    """The npm packages (and their files) a page loads from the CDN."""
    files: dict[tuple[str, str], list[str]] = {}
    for name, version, path in _CDN_FILE.findall(page):
        files.setdefault((name, version), []).append(path)
    return [Package(name, version, tuple(paths)) for (name, version), paths in files.items()]


def _repository(manifest: dict[str, object]) -> str:
    repository = manifest.get("repository")
    url = repository.get("url", "") if isinstance(repository, dict) else str(repository or "")
    return re.sub(r"^(git\+)?\w+://|\.git$", "", str(url))


def fetch(destination: Path = ASSETS_DIR, page: str | None = None) -> list[Package]:
    """Replace ``destination`` with the files the page needs and each package's licence
    (a package published without one gets that of a package from the same repository)."""
    packages = cdn_packages(page if page is not None else STRAWBERRY_PAGE.read_text())
    licences: dict[str, bytes] = {}
    unlicensed: list[tuple[Package, str]] = []
    with tempfile.TemporaryDirectory() as work:
        staging = Path(work) / "graphiql"
        for package in packages:
            subprocess.run(
                ["npm", "pack", "--silent", f"{package.name}@{package.version}"],
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tarball = Path(work) / (
                f"{package.name.lstrip('@').replace('/', '-')}-{package.version}.tgz"
            )
            with tarfile.open(tarball) as archive:
                manifest = json.load(_member(archive, "package.json"))
                for path in package.files:
                    _write(staging / package.directory / path, _member(archive, path).read())
                licence = _licence(archive)
            repository = _repository(manifest)
            if licence is None:
                unlicensed.append((package, repository))
                continue
            licences.setdefault(repository, licence)
            _write(staging / package.directory / LICENCE, licence)
        for package, repository in unlicensed:
            if repository not in licences:
                raise SystemExit(f"{package.directory} has no licence file, nor its repository")
            _write(staging / package.directory / LICENCE, licences[repository])
        readme = destination / "README.md"
        if readme.exists():
            shutil.copy(readme, staging / "README.md")
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(staging, destination)
    return packages


def _member(archive: tarfile.TarFile, path: str) -> IO[bytes]:
    member = archive.extractfile(f"package/{path}")
    if member is None:
        raise SystemExit(f"no file {path} in the npm package")
    return member


def _licence(archive: tarfile.TarFile) -> bytes | None:
    for name in archive.getnames():
        path = name.partition("/")[2]
        if path.upper().startswith(("LICENSE", "LICENCE")):
            return _member(archive, path).read()
    return None


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


if __name__ == "__main__":
    for fetched in fetch():
        print(f"{fetched.directory}: {', '.join(fetched.files)} + {LICENCE}", file=sys.stderr)
