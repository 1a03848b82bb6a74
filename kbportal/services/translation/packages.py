"""Installed translation packages: one folder per language pair, unpacked by us.

An ``.argosmodel`` is a zip of one folder holding ``metadata.json`` (``from_code``,
``to_code``, ``type: translate``), ``model/`` (CTranslate2), ``sentencepiece.model``
or ``bpe.model``, and ``minisbd/<lang>.onnx`` (the sentence splitter). The last is
required: without it Argos would download one on first use, and kbportal never
touches the network.

Why not ``argostranslate.package.install_from_path``: it unpacks any zip as is
(no checks, no path safety) into one process-wide folder. Here an archive is
checked first (a clear, catalogued reason when it is not a usable package),
unpacked into a private temporary folder, then moved into place in one rename, so
another process never sees half a package. Installing a pair again replaces it.
A file lock serialises installs and removals between processes.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from kbportal.services.errors import ValidationFailed
from kbportal.services.translation.types import LANGUAGE_CODE, PackageInfo, PackageNotInstalled, package_name

MAX_UNPACKED_BYTES = 4 * 1024 ** 3  # real models are 50-300 MB
MAX_MEMBERS = 10_000


class PackageStore:
    """The package folder of one data dir (``<data>/translation/packages``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages_dir = root / "packages"
        self._tmp = root / "tmp"

    # ------------------------------------------------------------------ reading

    def installed(self) -> list[PackageInfo]:
        """Every usable installed package, by pair. A folder that is not one is skipped."""
        if not self.packages_dir.is_dir():
            return []
        found = []
        for folder in sorted(self.packages_dir.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                info = _read_installed(folder)
                if info is not None:
                    found.append(info)
        return found

    def get(self, source: str, target: str) -> PackageInfo | None:
        if not (LANGUAGE_CODE.match(source) and LANGUAGE_CODE.match(target)):
            return None  # also keeps odd codes from naming a path outside the folder
        info = _read_installed(self.packages_dir / package_name(source, target))
        return info if info is not None and (info.source, info.target) == (source, target) else None

    # ------------------------------------------------------------------ changing

    def install(self, archive: Path) -> PackageInfo:
        """Check ``archive`` and install it (replacing the pair's package, if any).

        Raises ValidationFailed (field "file") naming the problem when it is not a
        usable translation package.
        """
        archive = Path(archive)
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        with self._locked(), tempfile.TemporaryDirectory(dir=self._tmp) as tmp:
            staged = Path(tmp) / "package"
            meta = _unpack(archive, staged)
            final = self.packages_dir / package_name(meta["from_code"], meta["to_code"])
            old = Path(tmp) / "old"
            if final.exists():
                final.rename(old)  # removed with the temporary folder
            staged.rename(final)
        info = _read_installed(final)
        assert info is not None
        return info

    def remove(self, source: str, target: str) -> PackageInfo:
        info = self.get(source, target)
        if info is None:
            raise PackageNotInstalled(None, source=source, target=target)
        self._tmp.mkdir(parents=True, exist_ok=True)
        with self._locked(), tempfile.TemporaryDirectory(dir=self._tmp) as tmp:
            info.path.rename(Path(tmp) / "removed")  # gone at once for readers; deleted with tmp
        return info

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- checking archives


def inspect(archive: Path) -> dict:
    """The metadata of a usable package archive (checked as :meth:`PackageStore.install` does)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _unpack(Path(archive), Path(tmp) / "package", extract=False)


def _unpack(archive: Path, dest: Path, extract: bool = True) -> dict:
    """Check the archive; unpack its package folder into ``dest``; return its metadata."""
    if not archive.is_file() or not zipfile.is_zipfile(archive):
        raise ValidationFailed("translation.package_not_zip", field="file", name=archive.name)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_members(archive, infos)
            prefix = _package_prefix(archive, infos)
            members = {name[len(prefix):]: info for info in infos
                       if (name := info.filename).startswith(prefix) and len(name) > len(prefix)}
            meta = _check_metadata(archive, zf.read(members["metadata.json"]))
            _check_complete(archive, members, meta["from_code"])
            if extract:
                dest.mkdir(parents=True)
                for inner, info in members.items():
                    target = dest / inner
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1024 * 1024)
            return meta
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, zlib.error) as err:
        # a damaged zip, or one using a compression zipfile does not know
        raise ValidationFailed("translation.package_not_zip", field="file", name=archive.name) from err


def _check_members(archive: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise ValidationFailed("translation.package_unsafe", field="file", name=archive.name)
    for info in infos:
        path = PurePosixPath(info.filename)
        mode = info.external_attr >> 16
        if (path.is_absolute() or ".." in path.parts or "\\" in info.filename or info.filename.startswith("/")
                or stat.S_ISLNK(mode)):
            raise ValidationFailed("translation.package_unsafe", field="file", name=archive.name)


def _package_prefix(archive: Path, infos: list[zipfile.ZipInfo]) -> str:
    """The folder holding metadata.json: the archive root or its one top folder."""
    candidates = sorted((i.filename for i in infos if PurePosixPath(i.filename).name == "metadata.json"),
                        key=lambda name: name.count("/"))
    if not candidates or candidates[0].count("/") > 1:
        raise ValidationFailed("translation.package_no_metadata", field="file", name=archive.name)
    return candidates[0][: -len("metadata.json")]


def _check_metadata(archive: Path, raw: bytes) -> dict:
    bad = ValidationFailed("translation.package_bad_metadata", field="file", name=archive.name)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad from None
    if not isinstance(meta, dict) or meta.get("type", "translate") != "translate":
        raise bad
    if not all(isinstance(meta.get(k), str) and LANGUAGE_CODE.match(meta[k]) for k in ("from_code", "to_code")):
        raise bad
    if meta["from_code"] == meta["to_code"]:
        raise bad
    return meta


def _check_complete(archive: Path, members: dict[str, zipfile.ZipInfo], source: str) -> None:
    missing = []
    if "model/model.bin" not in members:
        missing.append("model/model.bin")
    if "sentencepiece.model" not in members and "bpe.model" not in members:
        missing.append("sentencepiece.model")
    if not any(name.startswith("minisbd/") and name.endswith(".onnx") for name in members):
        missing.append(f"minisbd/{source}.onnx")
    if missing:
        raise ValidationFailed("translation.package_incomplete", field="file", name=archive.name,
                               missing=", ".join(missing))


# --------------------------------------------------------------------------- installed folders


def _read_installed(folder: Path) -> PackageInfo | None:
    try:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("from_code"), str) or not isinstance(
            meta.get("to_code"), str):
        return None
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return PackageInfo(source=meta["from_code"], target=meta["to_code"], version=str(meta.get("package_version", "")),
                       source_name=str(meta.get("from_name", "")), target_name=str(meta.get("to_name", "")),
                       path=folder, size_bytes=size)


def sbd_model(folder: Path) -> Path | None:
    """The package's MiniSBD sentence splitter (an ``.onnx`` under ``minisbd/``)."""
    found = sorted((folder / "minisbd").glob("*.onnx")) if (folder / "minisbd").is_dir() else []
    return found[0] if found else None
