"""Tiny but real Argos Translate packages (.argosmodel), built offline once per test session.

Test modules load this as a plugin (``pytest_plugins = ["argos_models"]``); the bench
imports :func:`build_packages` directly.

Each package is what an operator would install: a zip with ``metadata.json``, a real
SentencePiece model, a real CTranslate2 Transformer (``model/``) and a real MiniSBD
ONNX sentence splitter (``minisbd/<from>.onnx``). The Transformer's weights are set
by hand so that it glosses word by word from :data:`GLOSSARY` through the normal
path (sentencepiece -> CTranslate2 beam search -> detokenise): tests can assert exact
output. Words outside the glossary are copied. Capitalisation follows the source
word (``The`` -> ``Die``). Adapted from ``shared/reference/make_tiny_argos.py``.

    "The house is very small."  en->de  "Die haus ist sehr klein."
    "Hallo Welt."               de->en  "Hello World."
    "Hello world."              en->id  "Halo dunia."
    "Hello world."              en->ja  "こんにちは 世界."

Fixtures:

* ``argos_packages``: {"en-de": Path, ...} for :data:`PAIRS` (session, built once, < 2 s).
* ``translation_ready``: a fresh data dir and migrated database (instead of ``db``) with
  every pair of :data:`PAIRS` installed; returns the package files.

Helpers make broken packages for the refusal tests: :func:`make_not_a_zip`,
:func:`repack` (drop members or replace metadata of a good package).

(PYTEST_DONT_REWRITE: test modules import helpers from here before pytest loads it as a plugin.)
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

# English -> target, single words only (the model maps piece to piece). xx->en is the inverse.
GLOSSARY: dict[str, dict[str, str]] = {
    "de": {
        "hello": "hallo", "world": "welt", "the": "die", "a": "ein", "house": "haus", "is": "ist",
        "are": "sind", "small": "klein", "big": "groß", "good": "gut", "morning": "morgen", "cat": "katze",
        "dog": "hund", "i": "ich", "you": "du", "we": "wir", "and": "und", "or": "oder", "not": "nicht",
        "yes": "ja", "no": "nein", "book": "buch", "water": "wasser", "day": "tag", "night": "nacht",
        "city": "stadt", "car": "auto", "friend": "freund", "new": "neu", "old": "alt", "red": "rot",
        "blue": "blau", "one": "eins", "two": "zwei", "three": "drei", "this": "dies", "that": "das",
        "my": "mein", "have": "habe", "read": "lese", "where": "wo", "station": "bahnhof", "today": "heute",
        "very": "sehr", "guide": "anleitung", "install": "installiere", "run": "starte", "see": "siehe",
        "important": "wichtig", "price": "preis", "list": "liste", "partner": "partner",
    },
    "id": {
        "hello": "halo", "world": "dunia", "the": "itu", "a": "sebuah", "house": "rumah", "is": "adalah",
        "small": "kecil", "big": "besar", "good": "baik", "cat": "kucing", "dog": "anjing", "i": "saya",
        "you": "kamu", "and": "dan", "not": "tidak", "book": "buku", "water": "air", "city": "kota",
        "new": "baru", "red": "merah", "this": "ini", "where": "dimana", "station": "stasiun",
        "very": "sangat", "guide": "panduan",
    },
    "ja": {
        "hello": "こんにちは", "world": "世界", "the": "その", "house": "家", "is": "です", "small": "小さい",
        "big": "大きい", "cat": "猫", "dog": "犬", "book": "本", "water": "水", "city": "都市", "new": "新しい",
        "very": "とても", "guide": "ガイド",
    },
}
LANGUAGE_NAMES = {"en": "English", "de": "German", "id": "Indonesian", "ja": "Japanese"}
PAIRS: tuple[str, ...] = ("en-de", "de-en", "en-id", "en-ja")

# Common English words made whole pieces, so they are not split into pieces that happen
# to be glossary words ("there" -> "the" + "re").
_EXTRA_WORDS = (
    "there their then them these those other another here also about after again all always am an any "
    "as at be because been before being between both but by can could did do does down during each few "
    "for from further had has having he her him his how if in into it its just me more most much must nor "
    "now of off on once only our out over own same she should so some such than too under until up was "
    "were what when which while who why will with would your test text translate translation sentence "
    "paragraph document file page example sample language code make check build click link here table "
    "header footer bold italic"
).split()
_SENTENCE_END = ".!?\u3002\uff01\uff1f"


def pair_table(source: str, target: str) -> dict[str, str]:
    """The word table of one direction: en->xx as written, xx->en inverted (first sense wins)."""
    if source == "en" and target in GLOSSARY:
        return GLOSSARY[target]
    if target == "en" and source in GLOSSARY:
        inverse: dict[str, str] = {}
        for english, word in GLOSSARY[source].items():
            inverse.setdefault(word, english)
        return inverse
    raise ValueError(f"no glossary for {source}->{target}")


# --------------------------------------------------------------------------- SentencePiece


def _variants(word: str) -> list[str]:
    return sorted({word, word.capitalize(), word.upper()})


def build_sentencepiece(pairs: Iterable[tuple[str, str]]) -> bytes:
    """One small unigram model for all languages; every glossary word is a whole piece."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    words = set(_EXTRA_WORDS)
    for source, target in pairs:
        for k, v in pair_table(source, target).items():
            words.update((k, v))
    ordered = sorted(words)
    corpus = [v for w in ordered for v in _variants(w) for _ in range(20)]
    for i in range(0, len(ordered) - 3, 3):  # punctuation and spaces in context
        corpus.append(" ".join(ordered[i:i + 4]) + " .")
        corpus.append(ordered[i].capitalize() + " " + ordered[i + 1] + "?")
    corpus.append(" ".join(chr(c) for c in range(33, 127)) + " ä ö ü ß é è à ç ñ € 。 ！ ？ 、")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, model_type="unigram", vocab_size=2000,
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity", split_digits=True,
        bos_id=1, eos_id=2, unk_id=0, pad_id=-1, num_threads=1, minloglevel=2)
    # The trainer keeps too few pieces for such a corpus: add every missing whole word,
    # scored above all trained pieces so the segmentation prefers it.
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    have = {p.piece for p in proto.pieces}
    top = max(p.score for p in proto.pieces if p.type == sp_pb2.ModelProto.SentencePiece.NORMAL)
    for word in ordered:
        for v in _variants(word):
            if "\u2581" + v not in have:
                piece = proto.pieces.add()
                piece.piece, piece.score, piece.type = "\u2581" + v, top, sp_pb2.ModelProto.SentencePiece.NORMAL
                have.add(piece.piece)
    return proto.SerializeToString()


# --------------------------------------------------------------------------- CTranslate2 gloss model


def _position_codes(n_pos: int, k: int) -> np.ndarray:
    """[n_pos, 4k]: (cos, sin, -cos, -sin) of geometric frequencies; p_t . p_s peaks only at s == t."""
    om = (np.pi / 2) * ((2 * np.pi / 2048) / (np.pi / 2)) ** (np.arange(k) / (k - 1))
    ang = np.outer(np.arange(n_pos), om)
    c, s = np.cos(ang), np.sin(ang)
    return np.concatenate([c, s, -c, -s], axis=1).astype(np.float32)


def build_gloss_spec(vocab: list[str], mapping: dict[int, int], seed: int = 0):
    """A 1+1-layer Transformer whose decoder step t attends to source position t and emits
    ``mapping[source token]`` (identity elsewhere; ``</s>`` -> ``</s>`` ends decoding)."""
    from ctranslate2.specs import transformer_spec

    rng = np.random.default_rng(seed)
    V, m, k, n_pos, ffn = len(vocab), 64, 16, 1100, 8
    d = 2 * m + 4 * k
    f32 = np.float32
    spec = transformer_spec.TransformerSpec.from_config(num_layers=(1, 1), num_heads=1)
    spec.config.add_source_eos = True
    enc, dec = spec.encoder, spec.decoder
    enc.scale_embeddings = dec.scale_embeddings = False

    def norm(x):
        x.gamma, x.beta = np.ones(d, f32), np.zeros(d, f32)

    def linear(x, w, b=None):
        x.weight = np.ascontiguousarray(w, dtype=f32)
        x.bias = np.zeros(w.shape[0], f32) if b is None else np.asarray(b, f32)

    half = rng.choice([-1.0, 1.0], size=(V, m))
    codes = np.concatenate([half, -half], axis=1)  # token codes with zero mean
    emb = np.zeros((V, d), f32)
    emb[:, :2 * m] = codes
    pos = np.zeros((n_pos, d), f32)
    pos[:, 2 * m:] = _position_codes(n_pos, k)
    tok_sel = np.zeros((d, d), f32)
    tok_sel[:2 * m, :2 * m] = np.eye(2 * m)
    pos_sel = np.zeros((d, d), f32)
    pos_sel[2 * m:, 2 * m:] = np.eye(4 * k)

    enc.embeddings[0].weight = emb
    dec.embeddings.weight = np.zeros((V, d), f32)  # the decoder ignores the previous token
    enc.position_encodings.encodings = pos
    dec.position_encodings.encodings = pos
    norm(enc.layer_norm)
    norm(dec.layer_norm)
    for layer in enc.layer:  # a residual no-op
        norm(layer.self_attention.layer_norm)
        norm(layer.ffn.layer_norm)
        linear(layer.self_attention.linear[0], np.zeros((3 * d, d), f32))
        linear(layer.self_attention.linear[1], np.zeros((d, d), f32))
        linear(layer.ffn.linear_0, np.zeros((ffn, d), f32))
        linear(layer.ffn.linear_1, np.zeros((d, ffn), f32))
    sig_e = np.sqrt((2 * m + 2 * k) / d)
    sig_q = np.sqrt((2 * k) / d)
    beta = 12.0 * sig_q * sig_e * np.sqrt(d) / 4.0
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        norm(layer.attention.layer_norm)
        norm(layer.ffn.layer_norm)
        linear(layer.self_attention.linear[0], np.zeros((3 * d, d), f32))
        linear(layer.self_attention.linear[1], np.zeros((d, d), f32))
        linear(layer.attention.linear[0], beta * pos_sel)  # query: position
        linear(layer.attention.linear[1], np.concatenate([pos_sel, tok_sel]))  # key: position, value: token
        linear(layer.attention.linear[2], sig_e * tok_sel)
        linear(layer.ffn.linear_0, np.zeros((ffn, d), f32))
        linear(layer.ffn.linear_1, np.zeros((d, ffn), f32))
    proj = np.zeros((V, d), f32)
    for u in range(V):
        proj[mapping.get(u, u), :2 * m] += codes[u]
    bias = np.zeros(V, f32)
    bias[1] = -50.0  # never emit <s>
    linear(dec.projection, 0.25 * proj, bias)
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization=None)
    return spec


# --------------------------------------------------------------------------- MiniSBD ONNX (hand-written protobuf)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _f_int(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n)


def _f_bytes(field: int, b: bytes | str) -> bytes:
    b = b.encode() if isinstance(b, str) else b
    return _varint((field << 3) | 2) + _varint(len(b)) + b


def _value_info(name: str, elem_type: int, dims: list) -> bytes:
    shape = b"".join(_f_bytes(1, _f_bytes(2, dm) if isinstance(dm, str) else _f_int(1, dm)) for dm in dims)
    return _f_bytes(1, name) + _f_bytes(2, _f_bytes(1, _f_int(1, elem_type) + _f_bytes(2, shape)))


def build_minisbd_onnx(lang: str) -> bytes:
    """A MiniSBD model: a per-character table; sentence end (class 2) at . ! ? and CJK forms."""
    FLOAT, INT64 = 1, 7
    chars = [chr(c) for c in range(32, 127)] + list("äöüßÄÖÜéèàçñ€\u3002\uff01\uff1f")
    id2unit = ["<PAD>", "<UNK>"] + chars
    unit2id = {u: i for i, u in enumerate(id2unit)}
    table = np.zeros((len(id2unit), 5), np.float32)
    table[:, 0] = 5.0
    for ch in _SENTENCE_END:
        table[unit2id[ch]] = [0, 0, 5.0, 0, 0]
    tensor = (_f_int(1, table.shape[0]) + _f_int(1, table.shape[1]) + _f_int(2, FLOAT)
              + _f_bytes(8, "table") + _f_bytes(9, table.astype("<f4").tobytes()))
    node = (_f_bytes(1, "table") + _f_bytes(1, "units") + _f_bytes(2, "logits") + _f_bytes(3, "gather")
            + _f_bytes(4, "Gather") + _f_bytes(5, _f_bytes(1, "axis") + _f_int(3, 0) + _f_int(20, 2)))
    graph = (_f_bytes(1, node) + _f_bytes(2, "minisbd_tiny") + _f_bytes(5, tensor)
             + _f_bytes(11, _value_info("units", INT64, ["batch", "seq"]))
             + _f_bytes(11, _value_info("features", FLOAT, ["batch", "seq", "nfeat"]))
             + _f_bytes(12, _value_info("logits", FLOAT, ["batch", "seq", 5])))
    vocab = {"lang": lang, "idx": 0, "cutoff": 0, "lower": False, "_unit2id": unit2id, "_id2unit": id2unit}
    config = {"skip_newline": False, "max_seqlen": 1000, "no_ssplit": False, "batch_size": 32, "feat_funcs": [],
              "use_dictionary": False, "num_dict_feat": 0}
    meta = {"lang_code": lang, "config": json.dumps(config), "vocab": json.dumps(vocab), "lexicon": "null"}
    opset = _f_bytes(8, _f_bytes(1, "") + _f_int(2, 13))  # ai.onnx v13
    return (_f_int(1, 8) + _f_bytes(2, "kbportal-tests") + _f_bytes(7, graph) + opset
            + b"".join(_f_bytes(14, _f_bytes(1, k) + _f_bytes(2, v)) for k, v in meta.items()))


# --------------------------------------------------------------------------- packages


def build_package(source: str, target: str, out_dir: Path, sp_model: bytes, version: str = "1.0") -> Path:
    """One ``translate-<source>_<target>-<version>.argosmodel`` in ``out_dir``."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=sp_model)
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert vocab[:3] == ["<unk>", "<s>", "</s>"], vocab[:3]
    piece_id = {p: i for i, p in enumerate(vocab)}
    mapping: dict[int, int] = {}
    for s_word, t_word in pair_table(source, target).items():
        for case in (str.lower, str.capitalize, str.upper):
            s_piece, t_piece = "\u2581" + case(s_word), "\u2581" + case(t_word)
            if s_piece in piece_id and t_piece in piece_id:
                mapping[piece_id[s_piece]] = piece_id[t_piece]
    name = f"translate-{source}_{target}-{version.replace('.', '_')}"
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / name
        (pkg / "model").mkdir(parents=True)
        (pkg / "minisbd").mkdir()
        (pkg / "sentencepiece.model").write_bytes(sp_model)
        build_gloss_spec(vocab, mapping).save(str(pkg / "model"))
        (pkg / "minisbd" / f"{source}.onnx").write_bytes(build_minisbd_onnx(source))
        (pkg / "metadata.json").write_text(json.dumps({
            "package_version": version, "argos_version": "1.9.0", "from_code": source,
            "from_name": LANGUAGE_NAMES[source], "to_code": target, "to_name": LANGUAGE_NAMES[target],
            "type": "translate", "links": []}, indent=2))
        (pkg / "README.md").write_text(f"Tiny word-by-word test package {source}->{target}. Not a translator.\n")
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"{name}.argosmodel"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(pkg.rglob("*")):
                zf.write(path, path.relative_to(tmp))
    return out


def build_packages(out_dir: Path, pairs: Iterable[str] = PAIRS, version: str = "1.0") -> dict[str, Path]:
    """Every pair ("en-de", ...) as a package in ``out_dir``, sharing one SentencePiece model."""
    split = [tuple(p.split("-")) for p in pairs]
    sp_model = build_sentencepiece(split)
    return {f"{s}-{t}": build_package(s, t, out_dir, sp_model, version) for s, t in split}


def make_not_a_zip(path: Path) -> Path:
    path.write_bytes(b"this is not a zip archive\n" * 10)
    return path


def repack(good: Path, out: Path, *, drop: tuple[str, ...] = (), metadata: dict | None = None,
           extra: dict[str, bytes] | None = None) -> Path:
    """A copy of package ``good`` without members whose path (below the top folder) starts
    with one of ``drop``, with ``metadata`` as its metadata.json when given, plus ``extra`` members."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            inner = info.filename.split("/", 1)[1] if "/" in info.filename else info.filename
            if any(inner.startswith(d) for d in drop):
                continue
            data = src.read(info)
            if inner == "metadata.json" and metadata is not None:
                data = json.dumps(metadata).encode()
            dst.writestr(info, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def argos_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_packages(tmp_path_factory.mktemp("argos-packages"))


@pytest.fixture(scope="session")
def installed_packages(argos_packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package folder with every pair installed (by the real installer), to copy from."""
    from kbportal.services.translation import PackageStore

    store = PackageStore(tmp_path_factory.mktemp("argos-installed"))
    for path in argos_packages.values():
        store.install(path)
    return store.packages_dir


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory):
    from factories import build_template

    return build_template(tmp_path_factory, "translation-db", lambda session: None)


@pytest.fixture
def translation_ready(db_from_template, migrated_template, argos_packages: dict[str, Path],
                      installed_packages: Path) -> dict[str, Path]:
    """A fresh migrated database and data dir (like ``db``, copied from a template: faster)
    with every pair of :data:`PAIRS` installed (copied too: faster than unpacking)."""
    import shutil

    from kbportal.services import translation

    db_from_template(migrated_template)
    shutil.copytree(installed_packages, translation.translation_dir() / "packages")
    return argos_packages
