"""Language-aware text analysis (Whoosh analyzers).

One tokenizer for every language: runs of CJK characters become overlapping
character bigrams (so any substring of two or more characters is found, as a
phrase of bigrams), everything else becomes words (``\\w`` runs, with inner
dots as in ``v2.0``), NFKC-normalised and lower-cased. Then per language:

* en, de, fr, es, pt: Whoosh stop words + Snowball stemmer, accents folded
  after stemming (``Übersicht`` and ``ubersicht`` meet).
* id: Indonesian stop words + a deliberately light stemmer (particles
  -lah/-kah/-pun, possessives -nya/-ku/-mu, prefixes di-/ke-/se-), guarded by
  minimum stem lengths and a list of roots that merely look affixed.
* ja, zh: bigrams; index mode also emits single characters (at the position of
  their bigram) so one-character queries work; Latin words inside are
  English-stemmed.

Index and query go through the same analyzer (Whoosh passes ``mode``), so
over-stemming only merges words, it never loses a match.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

from .types import LANGUAGES

# Han (incl. extension A and compatibility), Hiragana, Katakana (incl. half-width), Hangul.
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af"
CJK_RUN = re.compile(f"[{_CJK}]+")
TOKEN = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<word>[^\\W{_CJK}]+(?:\\.[^\\W{_CJK}]+)*)")
_CJK_CHAR = re.compile(f"[{_CJK}]")

SNOWBALL = ("en", "de", "fr", "es", "pt")
CJK_LANGUAGES = ("ja", "zh")


def is_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.match(text))


def normalize(text: str) -> str:
    """NFKC + lower case (full-width Latin becomes ASCII)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).lower()


# Indonesian: the commonest function words (conjunctions, prepositions,
# pronouns, particles, auxiliaries).
INDONESIAN_STOPWORDS = frozenset("""
ada adalah agar akan aku anda antara apa apabila atau bagaimana bagi bahwa baik banyak
beberapa begitu belum berapa bisa dalam dan dapat dari demikian dengan di dia engkau hal
hanya harus hingga ia ialah ini itu jadi jika juga kalau kami kamu kapan karena ke kecuali
kemudian kenapa kepada ketika kita lagi lain maka masih mana meskipun mereka mungkin namun
oleh pada para per pernah pula saat saja sama sambil sampai sangat sebab sebagai sebelum
sedang sedangkan sehingga sejak selain selama seperti serta sesudah setelah setiap siapa
suatu sudah supaya tanpa tapi telah tentang tergantung tersebut tetapi tidak untuk walaupun
yaitu yakni yang lah kah pun nya sini sana situ
""".split())

# Roots that look prefixed or suffixed but are not (the stemmer keeps them).
INDONESIAN_PROTECTED = frozenset("""
sekolah masalah langkah istilah kalah salah olah berkah nafkah jumlah perintah pemerintah
kelas keluar kembali kecil kepala kerja kereta kertas keras kena kenal kendali
sedang semua sendiri sering segera sekarang seluruh sesuai sistem senin selasa sepeda
setup server servis service sektor seksi sesi sejarah selamat
desain digital diskon diskusi display disk dinding dingin dunia dokumen
""".split())

_PARTICLES = ("lah", "kah", "pun")
_POSSESSIVES = ("nya", "ku", "mu")
_PREFIXES = ("di", "ke", "se")
_MIN_STEM = 4


@lru_cache(maxsize=50_000)
def stem_indonesian(word: str) -> str:
    """Light, conservative Indonesian stemming (see module docstring)."""
    if len(word) <= _MIN_STEM + 1 or word in INDONESIAN_PROTECTED or not word.isalpha():
        return word
    for suffix in _PARTICLES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    for suffix in _POSSESSIVES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    if word not in INDONESIAN_PROTECTED:
        for prefix in _PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM:
                word = word[len(prefix):]
                break
    return word


class TextAnalyzer(Tokenizer):
    """The whole analysis chain in one pass (tokenize, normalise, stop, stem, fold).

    Every filter works word by word, so each distinct word's form is computed
    once and cached: indexing and highlighting cost a dictionary lookup per
    repeated word instead of a chain of generators and a stemmer run.

    ``purpose``:
      * ``"text"``: the ``text_<lang>`` fields (see module docstring);
      * ``"spell"``: unstemmed alphabetic words of 3+ letters, accents kept, no CJK;
      * ``"prefix"``: unstemmed, accent-folded words, CJK bigrams (+ characters).

    Stop words are removed and the remaining words numbered consecutively, so a
    phrase with a stop word inside still matches.
    """

    is_morph = True
    _CACHE_LIMIT = 300_000

    def __init__(self, lang: str = "en", purpose: str = "text"):
        if purpose == "text" and lang not in LANGUAGES:
            raise ValueError(f"unsupported language: {lang}")
        self.lang = lang
        self.purpose = purpose
        self._forms: dict[str, str] = {}
        self._memo: tuple | None = None  # (value, start_pos, [(text, pos)]): see ``_indexed``

    def __getstate__(self):  # the schema is pickled into the index: no cache in it
        return {"lang": self.lang, "purpose": self.purpose}

    def __setstate__(self, state):
        self.lang = state["lang"]
        self.purpose = state["purpose"]
        self._forms = {}
        self._memo = None

    def __eq__(self, other):
        return type(other) is type(self) and (other.lang, other.purpose) == (self.lang, self.purpose)

    def __hash__(self):
        return hash((self.lang, self.purpose))

    def __repr__(self):
        return f"TextAnalyzer({self.lang!r}, {self.purpose!r})"

    @property
    def cjk_unigrams(self) -> bool:
        return self.purpose == "prefix" or (self.purpose == "text" and self.lang in CJK_LANGUAGES)

    def form(self, word: str) -> str:
        """The indexed form of one word ("" = dropped: a stop word, or not spelling material)."""
        forms = self._forms
        out = forms.get(word)
        if out is None:
            out = _word_form(self.lang, self.purpose, word)
            if len(forms) >= self._CACHE_LIMIT:
                forms.clear()
            forms[word] = out
        return out

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if (mode == "index" and self.purpose == "text" and tokenize and removestops and not chars
                and not keeporiginal and isinstance(value, str)):
            return self._indexed(value, positions, start_pos, kwargs)
        return self._tokens(value, positions, chars, keeporiginal, removestops, start_pos, start_char,
                            tokenize, mode, kwargs)

    def _indexed(self, value: str, positions: bool, start_pos: int, kwargs: dict):
        """Index-mode tokens of a ``text`` analyzer. Each entry's text goes through the
        same analyzer twice in a row (the ``text_<lang>`` field and its positional twin
        ``pos_<lang>``): the second call replays the first one's (text, position) pairs.
        The memo is one immutable tuple, replaced whole, keyed on the very string object."""
        memo = self._memo
        if memo is not None and memo[0] is value and memo[1] == start_pos:
            pairs = memo[2]
        else:
            pairs = [(t.text, t.pos) for t in self._tokens(value, True, False, False, True, start_pos, 0, True,
                                                           "index", {})]
            self._memo = (value, start_pos, pairs)
        return self._replay(pairs, positions, kwargs)

    @staticmethod
    def _replay(pairs, positions: bool, kwargs: dict):
        t = Token(positions, False, removestops=True, mode="index", **kwargs)
        t.stopped = False
        for text, pos in pairs:
            t.text = text
            t.boost = 1.0
            if positions:
                t.pos = pos
            yield t

    def _tokens(self, value, positions, chars, keeporiginal, removestops, start_pos, start_char, tokenize, mode,
                kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        forms = self._forms
        form_of = self.form
        unigrams = self.cjk_unigrams and mode != "query"
        keep_cjk = self.purpose != "spell"
        pos = start_pos
        for match in TOKEN.finditer(value):
            if match.lastgroup == "word":
                word = match.group()
                text = forms.get(word)
                if text is None:
                    text = form_of(word)
                if not text:
                    if removestops or self.purpose != "text":
                        continue
                    t.stopped = True
                    text = normalize(word)
                else:
                    t.stopped = False
                t.text = text
                t.boost = 1.0
                if keeporiginal:
                    t.original = word
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + match.start()
                    t.endchar = start_char + match.end()
                if not t.stopped:
                    pos += 1
                yield t
                continue
            if not keep_cjk:
                continue
            run = match.group()
            start = match.start()
            n = len(run)
            if n == 1:
                grams = [(run, 0, 0)]
            else:
                grams = [(run[i:i + 2], i, i) for i in range(n - 1)]
                if unigrams:
                    grams += [(run[i], i, min(i, n - 2)) for i in range(n)]
            t.stopped = False
            for text, offset, rel in grams:
                text = normalize(text)
                t.text = text
                t.boost = 1.0
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos + rel
                if chars:
                    t.startchar = start_char + start + offset
                    t.endchar = t.startchar + len(text)
                yield t
            pos += max(n - 1, 1)


@lru_cache(maxsize=None)
def _stemmer(lang: str):
    return stemmer_for_language(lang)


@lru_cache(maxsize=None)
def _stopwords(lang: str) -> frozenset[str]:
    if lang == "id":
        return INDONESIAN_STOPWORDS
    if lang in SNOWBALL:
        return frozenset(stopwords_for_language(lang))
    return frozenset()


def fold(text: str) -> str:
    return text if text.isascii() else text.translate(accent_map)


def _word_form(lang: str, purpose: str, word: str) -> str:
    text = normalize(word)
    if purpose == "spell":
        return text if len(text) >= 3 and text.isalpha() and not is_cjk(text) else ""
    if purpose == "prefix":
        return fold(text)
    if lang in CJK_LANGUAGES:
        return _stemmer("en")(text) if text.isascii() and text.isalpha() else text
    if text in _stopwords(lang):
        return ""
    if lang == "id":
        return stem_indonesian(text)
    return fold(_stemmer(lang)(text))


def language_analyzer(lang: str) -> TextAnalyzer:
    """The analyzer of the ``text_<lang>`` fields."""
    return TextAnalyzer(lang, "text")


def spell_analyzer() -> TextAnalyzer:
    """Unstemmed words (accents kept): the vocabulary for "did you mean"."""
    return TextAnalyzer("en", "spell")


def prefix_analyzer() -> TextAnalyzer:
    """Unstemmed, accent-folded title words (and CJK bigrams) for as-you-type suggestions."""
    return TextAnalyzer("en", "prefix")


@lru_cache(maxsize=None)
def cached_language_analyzer(lang: str) -> TextAnalyzer:
    return language_analyzer(lang)


def analyze(lang: str, text: str, mode: str = "index") -> list[str]:
    """Token texts of ``text`` as the ``lang`` fields index (or query) them."""
    return [t.text for t in cached_language_analyzer(lang)(text, mode=mode)]


assert all(lang in SNOWBALL + CJK_LANGUAGES + ("id",) for lang in LANGUAGES)
