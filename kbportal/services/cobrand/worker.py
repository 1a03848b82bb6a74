"""The child process that opens untrusted co-branding inputs, and the parent side that runs it.

    python -m kbportal.services.cobrand.worker MODE INPUT WORKDIR ARGS_JSON LIMITS_JSON

MODE ``detect``: the fields of a template (ARGS ``{"kind": "docx"|"pdf"}``).
MODE ``logo``: check a partner logo (PNG or JPEG, sniffed from its bytes) and write a
clean re-encoded copy (EXIF orientation applied, metadata dropped, at most
``logo_max_side`` pixels a side) to ``WORKDIR/logo.png`` or ``logo.jpg``.

As in :mod:`kbportal.services.extraction`: the child limits itself first (CPU seconds,
address space, file size, no core dumps, via ``extract_worker.set_limits``); the parent
adds a wall-clock timeout, kills the whole process group, passes a minimal environment,
and reads the outcome from ``WORKDIR/result.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

RESULT = "result.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


# ---------------------------------------------------------------------- parent side


def run(mode: str, path: Path, args: dict, limits, work: Path | None = None) -> dict:
    """Run the child on ``path``; its result dict, or a failure dict when it was killed or crashed.
    ``work`` receives the child's outputs (a temporary directory when None, removed after)."""
    from kbportal.services import extraction

    if work is None:
        with extraction.workdir() as tmp:
            result = run(mode, path, args, limits, work=tmp)
            if result.get("ok") and result.get("file"):
                result["data"] = (tmp / result["file"]).read_bytes()
            return result
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / RESULT).unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k in extraction._CHILD_ENV}
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    env["OMP_NUM_THREADS"] = "1"
    with open(work / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kbportal.services.cobrand.worker", mode, str(Path(path).resolve()), str(work),
             json.dumps(args), json.dumps(asdict(limits))],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=work, env=env,
            start_new_session=True, close_fds=True)
        try:
            returncode = proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            extraction._kill_group(proc)
            return {"ok": False, "killed": True}
        finally:
            extraction._kill_group(proc)
    result_path = work / RESULT
    if result_path.is_file():
        try:
            return json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return {"ok": False, "killed": True}
    return {"ok": False, "returncode": returncode}  # crashed without a word: the caller says "unreadable"


# ---------------------------------------------------------------------- child side


def normalize_logo(path: Path, work: Path, limits: dict) -> dict:
    """Raises ValidationFailed (field "logo")."""
    import warnings

    from kbportal.services.errors import ValidationFailed

    from PIL import Image, ImageOps

    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(PNG_MAGIC):
        fmt = "PNG"
    elif head.startswith(JPEG_MAGIC):
        fmt = "JPEG"
    else:
        raise ValidationFailed("cobrand.logo_type", field="logo")
    max_pixels = int(limits["max_logo_pixels"])
    max_side = int(limits["logo_max_side"])
    Image.MAX_IMAGE_PIXELS = None  # checked by hand below, before any pixel is decoded
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        image = Image.open(path, formats=[fmt])
    except Exception as exc:
        raise ValidationFailed("cobrand.logo_unreadable", field="logo") from exc
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ValidationFailed("cobrand.logo_too_many_pixels", field="logo", megapixels=round(width * height / 1e6, 1),
                           max_megapixels=round(max_pixels / 1e6))
        if min(width, height) < 16:
            raise ValidationFailed("cobrand.logo_too_small", field="logo", min_pixels=16)
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            if fmt == "JPEG":
                image.draft("RGB", (max_side, max_side))
            image.load()
            picture = ImageOps.exif_transpose(image)
        except Exception as exc:
            raise ValidationFailed("cobrand.logo_unreadable", field="logo") from exc
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
    picture = picture.convert("RGBA" if has_alpha else "RGB")
    if has_alpha and picture.getchannel("A").getextrema()[0] == 255:
        picture = picture.convert("RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.LANCZOS)
    if fmt == "PNG" or picture.mode == "RGBA":
        name, mime = "logo.png", "image/png"
        picture.save(work / name, "PNG", compress_level=6)
    else:
        name, mime = "logo.jpg", "image/jpeg"
        picture.save(work / name, "JPEG", quality=92, optimize=True)
    return {"file": name, "mime_type": mime, "width": picture.size[0], "height": picture.size[1]}


def detect(path: Path, args: dict, limits: dict) -> dict:
    from kbportal.services.cobrand.fields import Limits, detect_in_process

    return {"fields": detect_in_process(path, args["kind"], Limits(**limits)).to_dict()}


def _write_result(work: Path, result: dict) -> None:
    tmp = work / (RESULT + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, work / RESULT)


def main(argv: list[str]) -> int:
    from kbportal.services.errors import ValidationFailed
    from kbportal.services.extract_worker import set_limits

    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    mode, input_path, workdir, args_json, limits_json = argv
    limits = json.loads(limits_json)
    set_limits(limits)
    path, work = Path(input_path), Path(workdir)
    try:
        if mode == "detect":
            result = {"ok": True, **detect(path, json.loads(args_json), limits)}
        elif mode == "logo":
            result = {"ok": True, **normalize_logo(path, work, limits)}
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    except ValidationFailed as rejected:
        result = {"ok": False, "code": rejected.code, "params": rejected.params}
    except (MemoryError, RecursionError):
        result = {"ok": False, "out_of_memory": True}
    except Exception as exc:  # the caller says "unreadable"
        result = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:500]}
    _write_result(work, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
