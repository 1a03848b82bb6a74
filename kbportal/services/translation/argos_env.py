"""Importing ``argostranslate`` without it touching $HOME or the network.

``argostranslate.settings`` decides every path when it is first imported (from
``ARGOS_*`` and ``XDG_*``), creates folders under ``~/.local`` and ``~/.config``,
and reads a user ``settings.json`` from there. Its package index lives in
``<data>/index.json``; when that file is missing, ``get_available_packages()``
downloads it (and retries for a minute offline). So, before the first import:

* ``ARGOS_PACKAGES_DIR`` -> kbportal's package folder; ``ARGOS_PACKAGE_INDEX`` -> a
  ``file://`` folder holding an ``index.json`` of ``[]`` (even an explicit index
  update reads a local file), ``ARGOS_CHUNK_TYPE=MINISBD``, ``ARGOS_DEVICE_TYPE=cpu``;
* ``XDG_DATA_HOME`` / ``XDG_CONFIG_HOME`` / ``XDG_CACHE_HOME`` point into kbportal's
  data dir *only while importing*, then are restored: other libraries in the process
  (Reflex) read them too.

kbportal itself never calls an Argos function that downloads: packages are unpacked
by :mod:`.packages`, and MiniSBD is always given the ``.onnx`` file shipped in the
package. When the data dir changes (tests), :func:`argos` re-points the settings.

ONNX Runtime (under MiniSBD) 1.2x+ on Linux writes a device id and an event store
under ``~/.cache/Microsoft/DeveloperTools`` and, about a minute later, tries to
upload telemetry (DNS lookups seen with strace). Only ``ORT_DISABLE_TELEMETRY=1``
*before onnxruntime is imported* stops both (``disable_telemetry_events()`` does
not), so importing this module sets it (argos.py imports it before any model loads).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_POINTED_AT: Path | None = None
_XDG = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")


# Before onnxruntime can be imported (only MiniSBD imports it, when a model loads).
_ORT_IMPORTED_EARLY = "onnxruntime" in sys.modules and not os.environ.get("ORT_DISABLE_TELEMETRY")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def warn_if_telemetry_on() -> None:
    if _ORT_IMPORTED_EARLY:
        log.warning("onnxruntime was imported before kbportal could disable its telemetry: "
                    "set ORT_DISABLE_TELEMETRY=1 in the environment of kbportal")


def _layout(home: Path) -> dict[str, Path]:
    return {"data": home / "data", "config": home / "config", "cache": home / "cache"}


def _prepare(home: Path, packages_dir: Path) -> None:
    dirs = _layout(home)
    for path in (*dirs.values(), packages_dir, dirs["data"] / "argos-translate"):
        path.mkdir(parents=True, exist_ok=True)
    for index in (dirs["data"] / "argos-translate" / "index.json", home / "index.json"):
        if not index.exists() or index.read_text(encoding="utf-8").strip() != "[]":
            index.write_text("[]", encoding="utf-8")
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir)
    os.environ["ARGOS_PACKAGE_INDEX"] = home.as_uri() + "/"
    os.environ.setdefault("ARGOS_CHUNK_TYPE", "MINISBD")
    os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")


def argos(home: Path, packages_dir: Path) -> ModuleType:
    """``argostranslate.package``, imported (once) and pointed at ``home`` (Argos's own
    data, config and cache) and ``packages_dir``."""
    global _POINTED_AT
    with _LOCK:
        _prepare(home, packages_dir)
        dirs = _layout(home)
        if "argostranslate.settings" not in sys.modules:
            saved = {name: os.environ.get(name) for name in _XDG}
            os.environ.update({"XDG_DATA_HOME": str(dirs["data"]), "XDG_CONFIG_HOME": str(dirs["config"]),
                               "XDG_CACHE_HOME": str(dirs["cache"])})
            try:
                import argostranslate.package  # noqa: F401
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
        import argostranslate.package as package
        import argostranslate.settings as settings

        if _POINTED_AT != home:
            _repoint(settings, home, packages_dir)
            _POINTED_AT = home
        return package


def _repoint(settings: ModuleType, home: Path, packages_dir: Path) -> None:
    """Argos reads these module globals at call time; set them for the current data dir."""
    dirs = _layout(home)
    settings.data_dir = dirs["data"] / "argos-translate"
    settings.config_dir = dirs["config"] / "argos-translate"
    settings.cache_dir = dirs["cache"] / "argos-translate"
    settings.downloads_dir = settings.cache_dir / "downloads"
    settings.settings_file = settings.config_dir / "settings.json"
    settings.local_package_index = settings.data_dir / "index.json"
    settings.package_index = home.as_uri() + "/"
    settings.remote_package_index = settings.package_index + "index.json"
    settings.remote_repo = settings.package_index
    settings.package_data_dir = packages_dir
    settings.package_dirs = [packages_dir]
    for path in (settings.config_dir, settings.downloads_dir):
        path.mkdir(parents=True, exist_ok=True)
    try:  # where MiniSBD would cache a model it downloads (it never does: we pass files)
        from minisbd import models as minisbd_models

        minisbd_models.cache_dir = str(dirs["cache"] / "minisbd")
    except ImportError:  # pragma: no cover - minisbd comes with argos-translate-lt
        pass


def index_is_empty(home: Path) -> bool:
    """True when Argos's package index is the empty local one (a doctor-style check)."""
    path = _layout(home)["data"] / "argos-translate" / "index.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) == []
    except (OSError, ValueError):
        return False
