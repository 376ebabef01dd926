"""Who says what: reporting frames, quotations and agency credits.

Three kinds of `Attribution`, all with ORIGINAL half-open offsets:

* ``quote`` — a direct quotation introduced by a reporting frame: the frame's
  content opens with a quotation mark (« » “ ” ") or a colon, or a quotation
  sits right before the verb ("…"، قال الوزير). `quote` is the quoted text
  without its marks (a colon quote runs to the end of the sentence).
* ``report`` — indirect speech: a reporting verb (قال إن، أكد، أفاد، ذكر، أضاف،
  أعلن …, reporting.txt), نقل X عن Y (Y speaks, X is the channel), or a frame
  before a source (بحسب، وفقا لـ، نقلا عن، على لسان …). `quote` is what is
  reported: after the complementizer (إن/أن/بأن) or, for verbs that take
  an object (أكد وقوع…، أفادت بمقتل…), after the speaker, to the end of the
  sentence; for a frame at the end of a sentence (…، بحسب الوكالة), the part
  of the sentence before it.
* ``credit`` — a news agency or outlet named as a source: "(واس)", "(أ ف ب)",
  a dateline "الرياض - واس", "وكالة تسنيم", "رويترز"; also an unknown name in
  parentheses at a dateline or closing a paragraph ("(واحة)"). An outlet's
  own name (its copyright line) is not a credit.

`start`/`end` is the span of the cue (the verb without its و/ف, the frame, or
the credit itself).

The speaker, in order of preference: a mention found by `entities` (a
person with a title, an organization, an agency); a source noun and its
modifiers (مصادر سورية، شهود عيان); a definite noun standing for someone named
earlier (الوكالة، الوزير، المرصد، المصادر — resolved to the most recent
mention or speaker containing that noun: the "anaphor" heuristic); for a verb
with no subject of its own (وأضاف أن، وأكد،، مضيفا) the most recent speaker of
the article whose grammatical gender agrees with the verb (قالت → feminine or
a plural of things; قال → masculine), else the most recent named mention —
the "pronoun" heuristic. Its span is where the speaker is named in this
sentence, or, for a pronoun, the antecedent's span.

English sentences (more Latin than Arabic letters) get a cheap treatment:
"X said/told/reported", "according to X" and '"…," he said'.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

from khabar.document import Document
from khabar.explain.common import Prepared, display
from khabar.explain.entities import M, Mention, find, to_mention
from khabar.explain.gazetteer import entities as gazetteer
from khabar.explain.gazetteer import norm, variants, words
from khabar.io.dates import is_month
from khabar.text.stem import stopwords
from khabar.text.view import TextView

KINDS = ("quote", "report", "credit")


@dataclass(frozen=True, slots=True)
class Attribution:
    doc: str
    kind: str
    """quote | report | credit"""
    cue: str
    """Original text of the reporting verb, frame or credit."""
    start: int
    end: int
    speaker: str | None
    """Canonical name of who speaks (resolved through anaphors and pronouns), or None."""
    speaker_start: int | None
    speaker_end: int | None
    quote: str | None
    """What is said: the quotation or the reported content (None for credits)."""
    quote_start: int | None
    quote_end: int | None

    def to_dict(self) -> dict:
        return asdict(self)


# -- word lists ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _lists() -> dict[str, frozenset[str]]:
    rep = "reporting.txt"
    return {
        "say": words(rep, "say"),
        "state": words(rep, "state"),
        "participle": words(rep, "participle"),
        "transmit": words(rep, "transmit"),
        "describe": words(rep, "describe"),
        "participle_object": words(rep, "participle_object"),
        "publish": words(rep, "publish"),
        "told": words(rep, "told"),
        "according": words(rep, "according"),
        "according_multi": words(rep, "according_multi"),
        "complement": words(rep, "complement"),
        "quote_intro": words(rep, "quote_intro"),
        "source": words(rep, "source"),
        "singular": words(rep, "singular"),
        "singular_f": words(rep, "singular_f"),
        "honorific_pronoun": words(rep, "honorific_pronoun"),
        "time_adverb": words(rep, "time_adverb"),
        "breaker": words(rep, "breaker") | words(rep, "complement"),
        "titles": words("titles.txt", "honorific") | words("titles.txt", "role"),
        "female": words("first-names.txt", "female"),
    }


_ADVERBS = frozenset("مرارا سابقا لاحقا ايضا رسميا حاليا مجددا مؤخرا اخيرا صراحة".split())
_QUANTIFIERS = frozenset("عدد بعض احد كثير معظم غالبية مجموعة".split())
_KANA = frozenset("كان كانت كانوا".split())
_ADJUNCT = frozenset("في خلال عبر امس اليوم مساء صباح ظهر عصر عقب اثر يوم لدي".split())
_WEEKDAYS = frozenset("السبت الاحد الاثنين الثلاثاء الاربعاء الخميس الجمعة".split())
_ABOUT = frozenset("كشف كشفت كشفوا يكشف تكشف كاشفا كاشفة".split())
_MASC_IN_T = frozenset("لفت تابع توقع".split())  # masculine verbs that look feminine
_PREPOSITIONS = frozenset("على علي عن من الى الي ب".split())
_PAREN = re.compile(r"\(([^()\n]{1,40})\)")


@lru_cache(maxsize=1)
def _body_words() -> frozenset[str]:
    """Words that name a kind of body before its name (شركة، وكالة، صحيفة، حركة …)."""
    out = words("cues.txt", "org_trigger") | words("cues.txt", "outlet_trigger")
    return frozenset(out | {_bare_noun(w) for w in out})


@lru_cache(maxsize=1)
def _multi_first() -> frozenset[str]:
    return frozenset(p.split()[0] for p in _lists()["according_multi"])


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return words("first-names.txt", "male") | words("first-names.txt", "female") | \
        words("first-names.txt", "foreign") | words("first-names.txt", "ambiguous")


def _verb_form(tok: str, table: frozenset[str]) -> tuple[str, int] | None:
    """The verb `tok` is (with a leading و or ف stripped), and how many characters were cut."""
    if tok in table:
        return tok, 0
    if len(tok) > 3 and tok[0] in "وف" and tok[1:] in table:
        return tok[1:], 1
    return None


def _masdar(w: str) -> bool:
    """The common verbal-noun shapes: إفعال، تفعيل، افتعال، استفعال (إنشاء، تشكيل، انتخاب)."""
    n = len(w)
    return (n == 5 and ((w[0] == "ا" and w[3] == "ا") or (w[0] == "ت" and w[3] == "ي"))) or \
        (n == 6 and w[0] == "ا" and w[4] == "ا") or (n == 7 and w.startswith("است") and w[5] == "ا")


def _source_gender(tok: str) -> str:
    """m, f or p (a plural) for a source noun: مسؤول is one man, مصادر a plural of things."""
    L = _lists()
    bare = _bare_noun(tok)
    if tok in L["singular"] or bare in L["singular"]:
        return "m"
    if tok in L["singular_f"] or bare in L["singular_f"]:
        return "f"
    return "p"


def _imperfect(form: str, table: frozenset[str]) -> bool:
    """يؤكد، تؤكد، يقول: the imperfect (present) of a reporting verb."""
    return form[0] == "ي" or (form[0] == "ت" and "ي" + form[1:] in table)


def _verb_gender(form: str) -> str | None:
    if form in _lists()["participle"]:
        if form.endswith("ين"):
            return "p"
        return "f" if form.endswith("ة") else "m"
    if form.endswith("وا") or form.endswith("ون"):
        return "p"
    if form in _MASC_IN_T:
        return "m"
    if form.endswith("ت") or form.endswith("ة") or form.endswith("تا") or \
            (form.startswith("ت") and len(form) >= 4):
        return "f"
    return "m"


def _agrees(verb: str | None, speaker: str | None) -> bool:
    if verb is None or speaker is None:
        return True
    if speaker == "p":
        return verb in ("f", "p")  # plurals of things agree with feminine verbs
    return verb == speaker


# -- speakers --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Speaker:
    name: str
    start: int | None
    end: int | None
    gender: str | None
    keys: frozenset[str]
    """Bare nouns the speaker can be referred back to with (وكالة، وزير، مرصد …)."""
    person: bool = False


def _bare_noun(tok: str) -> str:
    for v, _ in variants(tok):
        if v.startswith("ال") and len(v) > 3:
            return v[2:]
    return tok[2:] if tok.startswith("ال") and len(tok) > 3 else tok


def _keys(toks: Iterable[str]) -> frozenset[str]:
    out = set()
    for t in toks:
        b = _bare_noun(t)
        out.add(b)
        if b.endswith("ة"):
            out.add(b[:-1])
    return frozenset(out)


class _Doc:
    def __init__(self, p: Prepared, doc: Document | None, ms: list[M] | None = None) -> None:
        self.p = p
        self.L = _lists()
        self.sw = stopwords()
        self.ms = find(p) if ms is None else ms
        self.at: dict[int, M] = {}
        for m in self.ms:
            self.at.setdefault(m.i, m)
            if m.kind == "person" and 0 <= m.head < m.i:
                self.at[m.head] = m
        self.history: list[_Speaker] = []
        self.history_sent: list[tuple[_Speaker, int]] = []
        self.events: list[tuple[int, _Speaker]] = []
        """(token, speaker) of every speaker named so far and every clause subject: what an
        implicit subject (وأضاف، وقال سموه) refers back to, most recent first."""
        self.contents: list[tuple[int, int]] = []
        self.leads: list[tuple[int, int]] = []
        """Normalized spans between a cue and what it reports (أكد على لسان X أن …)."""
        """Normalized spans of what was reported so far (a verb inside one is part of it)."""
        self.doc_id = doc.id if doc is not None else p.view.id
        self.own = _own_names(doc.source) if doc is not None and doc.source else None
        self.quotes = _quote_spans(p)
        self.verbs = (self.L["say"] | self.L["state"] | self.L["participle"]
                      | self.L["transmit"] | self.L["describe"])
        self.subjects: list[tuple[int, _Speaker]] = []
        self.subjects = self._subjects()

    def _subjects(self) -> list[tuple[int, _Speaker]]:
        """Named clause subjects: a person or body right after the word opening its clause.

        News Arabic puts the verb first (تعرض المدرب X …، وفضل X …), so a name right
        after a clause's first word is its subject, while names deeper in a clause are
        objects or complements (… شكره لرئيس النادي Y). A pronoun later on refers to a
        subject or a speaker far more often than to whoever was named last.
        """
        p = self.p
        out = []
        for m in self.ms:
            if m.kind not in ("person", "organization", "agency"):
                continue
            h = m.head if m.kind == "person" and 0 <= m.head < m.i else m.i
            if h == 0:
                continue
            v = h - 1
            t = p.toks[v]
            g = p.gaps[v]
            opens = v == p.sent_first[p.sent_of[v]] or "\n" in g or any(c in g for c in "،,؛;.:")
            if not opens or t in self.sw or t in self.L["breaker"] or t.startswith("ال") \
                    or self.at.get(v) is not None or not t.isalpha() or len(t) < 3:
                continue
            if t[0] in "بلك" and len(t) > 3 and not _verb_form(t, self.L["say"] | self.L["state"]):
                continue  # بعد، لدى، كذلك …: a preposition or a noun opens the clause
            if self.in_quote(p.starts[h]):
                continue
            out.append((h, self.mention_speaker(m)))
        for h in range(1, len(p)):
            t = p.toks[h]
            if not (t in _QUANTIFIERS or t in self.L["source"]) or self.at.get(h) is not None:
                continue
            v = h - 1
            g = p.gaps[v]
            if not (v == p.sent_first[p.sent_of[v]] or "\n" in g or any(c in g for c in "،,؛;.:")):
                continue
            if p.toks[v] in self.sw or p.toks[v].startswith("ال") or self.in_quote(p.starts[h]):
                continue
            sp, _ = self.speaker_at(h, p.sentence_end_tok(h), None)
            if sp is not None:
                out.append((h, sp))
        out.sort(key=lambda e: e[0])
        return out

    def statement_end(self, j0: int, stop: int) -> int:
        """Normalized end of a statement starting at token j0: the sentence end, or before
        the next reporting verb that opens a clause of its own (…، مؤكدا أن، كما أكد، وقال)."""
        p = self.p
        for t in range(j0 + 1, stop):
            vf = _verb_form(p.toks[t], self.verbs)
            if vf is None or self.in_quote(p.starts[t]):
                continue
            prev = p.toks[t - 1]
            g = p.gaps[t]
            if self.opens_statement(t):
                end = t - 1 if prev in ("كما", "و", "ثم") and not any(c in g for c in "،,") \
                    else t
                if end > j0:
                    return p.ends[end - 1]
        return p.ends[stop - 1]

    def byline(self, i: int) -> bool:
        """Token i is on a short line with a dash (عين اليوم – هيفاء عبدالله): the reporter's
        or the outlet's signature, never who speaks in the report."""
        p = self.p
        a = p.starts[i]
        text = p.view.normalized
        ls = text.rfind("\n", 0, a) + 1
        le = text.find("\n", a)
        line = text[ls:le if le >= 0 else len(text)]
        return len(line.split()) <= 8 and ("-" in line or "–" in line)

    def in_quote(self, npos: int) -> bool:
        return any(qs <= npos < qe for qs, qe in self.quotes)

    # -- helpers ---------------------------------------------------------------------------------

    def is_own(self, name: str) -> bool:
        """Whether `name` (an agency or outlet) is the document's own outlet."""
        if self.own is None:
            return False
        n = norm(name)
        if n in self.own:
            return True
        core = _core(n)
        return bool(core) and any(f" {core} " in f" {own} " for own in self.own)

    def span(self, i: int, j: int, cut: int = 0) -> tuple[int, int]:
        return self.p.tok_orig(i, j, cut)

    def text(self, s: int, e: int) -> str:
        return self.p.view.original[s:e]

    def mention_speaker(self, m: M) -> _Speaker:
        s, e = self.span(m.i, m.j, m.cut)
        e = _close_quote(self.p.view.original, s, e)
        head = m.head if m.kind == "person" and 0 <= m.head < m.i else m.i
        # a person is referred back to by their title or name (الوزير، السراج), not by what
        # the title is of (مراسل الوكالة X is not "الوكالة")
        toks = [self.p.toks[head], *self.p.toks[m.i:m.j]]
        gender: str | None = "m"
        if m.kind == "person":
            gender = "f" if self.p.toks[m.i] in self.L["female"] or \
                self.p.toks[head].endswith("ة") else "m"
        elif m.kind == "agency" or self.p.toks[m.i].endswith("ة"):
            gender = "f"
        elif m.kind == "place":
            gender = None
        return _Speaker(m.canonical, s, e, gender, _keys(toks), m.kind == "person")

    def resolve(self, before: int, gender: str | None, key: str | None = None,
                person: bool = False) -> _Speaker | None:
        """Most recent speaker or clause subject (then mention) before token `before`
        matching `key` or `gender` (`person`: a person only, for سموه، سماحته)."""
        cands = sorted([e for e in self.events if e[0] < before]
                       + [e for e in self.subjects if e[0] < before], key=lambda e: e[0])
        for _, sp in reversed(cands):
            if person and not sp.person:
                continue
            if key is not None:
                if key in sp.keys:
                    return sp
            elif _agrees(gender, sp.gender):
                return sp
        for m in reversed(self.ms):
            if m.i >= before or m.kind == "place" or (person and m.kind != "person") \
                    or self.byline(m.i):
                continue
            sp = self.mention_speaker(m)
            if key is not None:
                if key in sp.keys:
                    return sp
            elif _agrees(gender, sp.gender):
                return sp
        return None

    def adverb(self, k: int) -> bool:
        """An adverb in -اً (مرارا، سابقا، رسميا): the original keeps its tanween."""
        if not self.p.toks[k].endswith("ا"):
            return False
        s, e = self.p.tok_orig(k, k + 1)
        return "\u064b" in self.p.view.original[s:e + 1] or self.p.toks[k] in _ADVERBS

    def hal(self, k: int) -> bool:
        """An indefinite active participle in the accusative (باكيا، ضاحكا، مبتسما): how
        the speaker spoke, never who."""
        t = self.p.toks[k]
        if not t.endswith("ا") or t in _names():
            return False
        return (len(t) == 5 and t[1] == "ا") or (len(t) in (5, 6) and t[0] == "م"
                                                 and t not in self.L["source"])

    def nominal(self, i: int) -> bool:
        """Token i, shaped like a reporting verb, is a noun: right after a preposition or a
        quantifier (من طالب الخدمة، لكل طالب), no verb can stand there."""
        if i == 0 or not self.p.joinable[i]:
            return False
        prev = self.p.toks[i - 1]
        return prev in _PREPOSITIONS or prev in ("في", "الى", "كل", "اي", "بعض", "لكل")

    def titled_person_ahead(self, k: int, stop: int) -> tuple[_Speaker, int] | None:
        """A title chain opening at token k that ends in a named person (سماحة مفتي عام
        المملكة رئيس هيئة كبار العلماء الشيخ عبدالعزيز …): that person, with the chain's
        titles as words they may later be called by (المفتي)."""
        p, L = self.p, self.L
        for t in range(k + 1, min(stop, k + 16)):
            g = p.gaps[t]
            if ":" in g or '"' in g or "\n" in g or "." in g:
                return None
            tok = p.toks[t]
            if tok in L["complement"] or _verb_form(tok, L["say"] | L["state"]) is not None:
                return None
            m = self.at.get(t)
            if m is not None and m.kind == "person":
                sp = self.mention_speaker(m)
                s, _ = self.span(k, k + 1)
                titles = [x for x in p.toks[k:t] if _bare_noun(x) in L["titles"]
                          or x in L["titles"]]
                return _Speaker(sp.name, s, sp.end, sp.gender, sp.keys | _keys(titles),
                                True), m.j
            if t > k + 1 and any(c in g for c in "،,"):
                # مدير معهد X في باريس، باسكال بونيفاس، أن: an unlisted name in apposition
                u = t
                while u < stop and u - t < 3 and (u == t or p.joinable[u]) \
                        and p.toks[u].isalpha() and p.toks[u] not in self.sw \
                        and not p.toks[u].startswith("ال") and p.toks[u] not in L["complement"]:
                    u += 1
                if u > t and u < stop and (any(c in p.gaps[u] for c in "،,")
                                           or p.toks[u] in L["complement"]):
                    s, _ = self.span(k, k + 1)
                    _, e = self.span(t, u)
                    ns, ne = self.span(t, u)
                    titles = [x for x in p.toks[k:t] if _bare_noun(x) in L["titles"]
                              or x in L["titles"]]
                    return _Speaker(display(self.text(ns, ne)), s, e, "m",
                                    _keys([*p.toks[t:u], *titles]), True), u
                return None
        return None

    def bare_name(self, k: int, stop: int, body_ok: bool = False
                  ) -> tuple[_Speaker | None, int]:
        """Unlisted name tokens at k closed by a title in apposition or by what is said.

        `body_ok` (a verb that needs a complement: قال، صرح): a noun phrase followed, a few
        words on, by what is said is its subject (وقالت رئاسة الجمهورية في بيان: …).
        """
        p, L = self.p, self.L
        j = k
        while j < stop and j - k < 5 and (j == k or p.joinable[j]):
            t = p.toks[j]
            if j == k and t[0] in "يتن" and t not in _names():
                break  # وقال يجب أن: an imperfect verb opens what is said, no name
            inner = self.at.get(j)
            if body_ok and inner is not None and j > k and inner.kind in ("place", "organization"):
                j = inner.j  # رئاسة الجمهورية التونسية: a body of a named place
                continue
            if t in self.sw or t in L["breaker"] or t in L["complement"] or not t.isalpha() \
                    or (j > k and t[0] in "وبل" and len(t) > 3) or inner is not None:
                break
            if _bare_noun(t) in L["titles"] or t in L["titles"]:
                break
            j += 1
        if j == k or j >= stop:
            return None, k
        nxt = p.toks[j]
        title = (_bare_noun(nxt) in L["titles"] or nxt in L["titles"]) and (
            p.joinable[j] or "," in p.gaps[j])
        said = nxt in L["complement"] or ":" in p.gaps[j] or '"' in p.gaps[j] or (
            nxt in ("الى", "الي", "على", "علي", "عن") and j + 1 < stop
            and p.toks[j + 1] in L["complement"])  # أشار وود إلى أن
        if body_ok and not (title or said) and (nxt in L["breaker"] or "," in p.gaps[j]) \
                and (self.complement_ahead(j, stop) is not None
                     or self.quote_ahead(j, stop) is not None):
            s, e = self.span(k, j)
            head = p.toks[k]
            return _Speaker(display(self.text(s, e)), s, e, "f" if head.endswith("ة") else "m",
                            _keys(p.toks[k:j]), False), j
        if not (title or said) or (said and j - k > 3):
            return None, k
        if any(_masdar(x) or x.endswith("ة") for x in p.toks[k:j]) and not title:
            return None, k  # أكد أهمية …: a noun phrase, what is said
        s, e = self.span(k, j)
        return _Speaker(display(self.text(s, e)), s, e, "m", _keys(p.toks[k:j]), True), j

    def same_sentence(self, i: int, vgender: str | None, participle: bool) -> _Speaker | None:
        """A participle's speaker (…، مضيفا): the speaker of its own sentence's reporting
        verb. Other implicit subjects go to `resolve` (a clause subject or a speaker: the
        person named last is often an object, شكره لرئيس النادي X، وقال …)."""
        s = self.p.sent_of[i]
        if participle:
            for sp, sent in reversed(self.history_sent):
                if sent == s and _agrees(vgender, sp.gender):
                    return sp
        return None

    def subject_left(self, i: int) -> _Speaker | None:
        """A named subject right before its verb, opening its clause (يذكر أن الأمم المتحدة
        أعلنت …، منظمة العمل العربية أعلنت …): news puts the verb first, so a name there,
        directly before it, is the subject."""
        p = self.p
        t = i - 1
        if t >= 0 and p.toks[t] == "قد":
            t -= 1
        if t < 0:
            return None
        m = next((m for m in reversed(self.ms) if m.j == t + 1 and m.i <= t), None)
        if m is None or m.kind not in ("person", "organization", "agency"):
            return None
        h = m.head if m.kind == "person" and 0 <= m.head < m.i else m.i
        g = p.gaps[h]
        opens = h == p.sent_first[p.sent_of[h]] or "\n" in g or any(c in g for c in "،,؛;.:")
        if not (opens or (h > 0 and (p.toks[h - 1] in self.L["complement"]
                                     or _verb_form(p.toks[h - 1], _KANA) is not None))):
            return None
        return self.mention_speaker(m)

    def subject_before(self, i: int, vgender: str | None) -> _Speaker | None:
        """The subject of "وكانت وكالة تسنيم قد ذكرت أن": named after كان, before the verb."""
        p = self.p
        first = p.sent_first[p.sent_of[i]]
        for k in range(max(first, i - 10), i - 1):
            if _verb_form(p.toks[k], _KANA) is None:
                continue
            if any('"' in g for g in p.gaps[k + 1:i + 1]):
                return None  # كان inside a quotation belongs to someone else's words
            nxt = p.toks[k + 1]
            if not (self.at.get(k + 1) or nxt.startswith("ال") or nxt in self.L["source"]):
                return None
            sp, j = self.speaker_at(k + 1, i, vgender)
            if sp is not None and j <= i and _agrees(vgender, sp.gender):
                return sp
        return None

    def phrase_end(self, k: int, stop: int, limit: int) -> int:
        p = self.p
        j = k
        while j < stop and j - k < limit and (j == k or p.joinable[j]):
            t = p.toks[j]
            if j > k and (t in self.L["breaker"] or t in self.L["quote_intro"] or t[0] == "و"):
                break
            if _verb_form(t, self.L["say"] | self.L["state"]) is not None and j > k:
                break
            if j > k and (t[0].isdigit() or (t[0] in "بل" and len(t) > 4)):
                break  # بمقتل، لوكالة: what follows the speaker, not the speaker
            j += 1
        return j

    def speaker_at(self, k: int, stop: int, vgender: str | None, frame: bool = False,
                   needs_complement: bool = False) -> tuple[_Speaker | None, int]:
        """Speaker starting at token k (stop = sentence end); returns it and the next token.

        After a frame (بحسب، وفقا لـ) the source is what follows, even with ل attached
        (وفقا لوسائل إعلام), and only a source is taken: a name, a source noun, a title,
        or a noun standing for one named before — "وفق الجدول" is not a source.
        """
        p, L = self.p, self.L
        if k >= stop or ":" in p.gaps[k] or '"' in p.gaps[k] or "," in p.gaps[k]:
            return None, k  # no subject of its own: a pronoun
        tok = p.toks[k]
        if (tok in L["breaker"] and tok not in L["source"]) or tok in L["quote_intro"] \
                or len(tok) < 2:
            return None, k  # (أفاد بيان للوزارة: a statement is a source, not a breaker)
        m = self.at.get(k)
        if m is not None and m.kind:
            return self.mention_speaker(m), m.j
        nxt_m = self.at.get(k + 1) if k + 1 < stop else None
        if nxt_m is not None and nxt_m.kind in ("organization", "agency") \
                and p.joinable[k + 1] and _bare_noun(tok) in _body_words():
            sp = self.mention_speaker(nxt_m)  # شركة فيسبوك: the kind word and the listed name
            s, _ = self.span(k, k + 1)
            return _Speaker(sp.name, s, sp.end, "f" if tok.endswith("ة") else sp.gender,
                            sp.keys | _keys([tok]), False), nxt_m.j
        if tok in L["honorific_pronoun"] or _bare_noun(tok) in L["honorific_pronoun"]:
            # وقال سموه، وحذر سماحته: the person the title honours, named before
            ante = self.resolve(k, "f" if tok.endswith("ها") else "m", person=True)
            if ante is None:
                return None, k
            s, e = self.span(k, k + 1)
            return _Speaker(ante.name, s, e, ante.gender, ante.keys, True), k + 1
        if tok in L["time_adverb"] or _bare_noun(tok) in L["time_adverb"] or self.hal(k):
            return None, k  # توقع حينها أن، وقال باكيا: an adverb, the subject is implicit
        if not frame and (_bare_noun(tok) in L["titles"] or tok in L["titles"]):
            found = self.titled_person_ahead(k, stop)
            if found is not None:
                return found
        cut = 0
        if frame and tok.startswith("لل") and len(tok) > 4:
            tok = "ال" + tok[2:]  # وفقا للصحيفة: ل and the article fused
        elif frame and tok[0] == "ل" and len(tok) > 3:
            tok, cut = tok[1:], 1
        if frame and not (tok.startswith("ال") or _bare_noun(tok) in L["source"]
                          or tok in L["source"] or _bare_noun(tok) in L["titles"]
                          or tok in L["titles"]):
            return None, k
        addressee = tok[0] == "ل" and len(tok) > 3 and tok not in _names()
        if tok in self.sw or self.adverb(k) or addressee \
                or (tok[0] == "ب" and (tok[1:3] == "ال" or _masdar(tok[1:]))):
            # قال للصحفيين إن، طالبوا بإنشاء، حذروا مرارا، طالب فيه: no subject of its own
            return None, k
        if tok.startswith("ال") or _bare_noun(tok) in L["titles"] or tok in L["titles"]:
            # الوكالة، الوزير، المرصد، المصادر: someone named before
            j = self.phrase_end(k, stop, 5)
            ante = self.resolve(k, None, _bare_noun(tok)) if j > k else None
            if ante is not None:
                s, e = self.span(k, j, cut)
                return _Speaker(ante.name, s, e, ante.gender, ante.keys, ante.person), j
            if frame and tok.startswith("ال") and _bare_noun(tok) not in L["source"] \
                    and tok not in L["titles"]:
                return None, k  # وفق الجدول، بحسب القانون: not a source
        if _bare_noun(tok) in L["source"] or tok in L["source"]:
            j = self.phrase_end(k, stop, 4)
            # "مصدر في الدفاع المدني"، "مصادر إعلامية من دير الزور": where the source sits
            if j < stop and p.toks[j] in ("في", "من") and p.joinable[j]:
                m2 = self.at.get(j + 1)
                j2 = m2.j if m2 is not None and m2.kind else self.phrase_end(j + 1, stop, 4)
                if j2 > j + 1:
                    j = j2
            s, e = self.span(k, j, cut)
            name = display(self.text(s, e))
            return _Speaker(name, s, e, _source_gender(tok), _keys(p.toks[k:j])), j
        if not (tok.startswith("ال") or _bare_noun(tok) in L["titles"] or tok in L["titles"]
                or tok in _QUANTIFIERS):
            # an undefined word: a name when the clause goes on with a title in apposition
            # (وذكر بريت ماكجيرك نائب المبعوث) or with what is said (قال عاصم جهاد إن);
            # else it is already what is said (أكد وجوده)
            body = needs_complement or (
                tok.endswith("ة") and not _masdar(tok) and k + 1 < stop
                and p.toks[k + 1].startswith("ال"))  # أكدت رئاسة الجمهورية، اليوم، أن
            return self.bare_name(k, stop, body_ok=body)
        # an unnamed speaker: its head word and the definite words after it (وزير الآثار،
        # رئيس البعثة، المجلس البلدي); anything else is already what is said (تفاصيل …)
        j = self.phrase_end(k, stop, 5)
        if j == k:
            return None, k
        j = min(j, k + 1 + next((n for n, t in enumerate(p.toks[k + 1:j])
                                 if not t.startswith("ال")), j - k - 1))
        if j == k + 1 and tok in _QUANTIFIERS and j < stop and p.toks[j] == "من":
            j = self.phrase_end(j + 1, stop, 4)  # عدد من الأهالي، أحد المسؤولين
        s, e = self.span(k, j, cut)
        head = p.toks[k]
        gender = "f" if head.endswith("ة") else vgender
        return _Speaker(display(self.text(s, e)), s, e, gender, _keys(p.toks[k:j])), j

    # -- content ---------------------------------------------------------------------------------

    def quote_starting(self, nstart: int, nend: int) -> tuple[int, int] | None:
        """A quotation (≥ 3 tokens) whose opening mark lies in normalized [nstart, nend)."""
        for qs, qe in self.quotes:
            if nstart <= qs - 1 < nend or nstart <= qs < nend:
                return qs, qe
            if qs > nend:
                break
        return None

    def content_after(self, k: int, stop: int, takes_object: bool,
                      only_about: bool = False) -> tuple[str, int, int] | None:
        """(kind, normalized start, normalized end) of what is reported from token k on.

        `takes_object`: a noun phrase may be what is said (أكد وقوع …، حذر من …);
        `only_about`: only "عن" or a complement opens it (كشف عن/أن; كشف سر … is not speech).
        """
        p, L = self.p, self.L
        k = self.past_adjunct(self.past_addressee(k, stop), stop)
        if k >= len(p):
            return None
        j = k
        while j < stop and j - k <= 15:
            g = p.gaps[j]
            if j > k and self.opens_statement(j):
                return None  # the next statement's verb: nothing said here
            if '"' in g:
                q = self.quote_starting(p.ends[j - 1] if j else 0, p.starts[j] + 1)
                if q is not None:
                    return "quote", q[0], q[1]
            if ":" in g:
                q = self.quote_starting(p.starts[j] - len(g), p.starts[j] + 1)
                if q is not None:
                    return "quote", q[0], q[1]
                return "quote", p.starts[j], self.statement_end(j, stop)
            t = p.toks[j]
            if t in L["complement"] or t in L["quote_intro"]:
                if t in L["quote_intro"] and j + 1 < stop and p.toks[j + 1] in L["complement"] \
                        and ":" not in p.gaps[j + 1] and '"' not in p.gaps[j + 1]:
                    j += 1  # قوله إن …
                if j + 1 >= stop:
                    return None
                q = self.quote_starting(p.ends[j], p.starts[j + 1] + 1)
                if q is not None:
                    return "quote", q[0], q[1]
                end = self.statement_end(j + 1, stop)
                if ":" in p.gaps[j + 1]:
                    return "quote", p.starts[j + 1], end
                inner = self.quote_starting(p.starts[j + 1], end)
                if inner is not None and inner[0] - p.starts[j + 1] < 40:
                    return "quote", inner[0], inner[1]  # إن القرار "كان متوقعا"
                return "report", p.starts[j + 1], end
            if j == k and takes_object:
                ahead = self.quote_ahead(k, stop)
                if ahead is not None:
                    return "quote", ahead[0], ahead[1]  # وذكر X نائب … على تويتر "…"
                comp = self.complement_ahead(k, stop)
                if comp is not None and comp > k:
                    j = comp
                    continue
            if j == k and takes_object and t not in L["breaker"] and not only_about:
                end = self.statement_end(j, stop)
                inner = self.quote_starting(p.starts[j], end)
                if inner is not None and inner[0] - p.starts[j] < 40:
                    return "quote", inner[0], inner[1]  # وأكد، بحسب الوكالة "على …"
                return "report", p.starts[j], end
            if j == k and takes_object and t in _PREPOSITIONS and j + 1 < stop \
                    and (not only_about or t == "عن"):
                return "report", p.starts[j + 1], self.statement_end(j + 1, stop)
            j += 1
        return None

    def past_adjunct(self, k: int, stop: int) -> int:
        """Skip a time or a place set off by commas before what is said (أعلنت الوزارة،
        الخميس، ارتفاع …; وأكد الصندوق، في بيان صادر عنه أمس، تلقيه …)."""
        p, L = self.p, self.L
        if k >= stop:
            return k
        tok = p.toks[k]
        opener = tok in _ADJUNCT or tok in _WEEKDAYS or (
            tok in L["breaker"] and any(c in p.gaps[k] for c in "،,"))
        if not opener or tok in L["complement"]:
            return k
        for t in range(k + 1, min(stop, k + 10)):
            tok = p.toks[t]
            if tok in L["complement"] or _verb_form(tok, self.verbs) is not None \
                    or any(c in p.gaps[t] for c in ".:\n\"") :
                return k
            if any(c in p.gaps[t] for c in "،,"):
                return t
        return k

    def past_addressee(self, k: int, stop: int) -> int:
        """Skip who the words were told to: لـ"الوطن"، لوكالة رويترز، للصحفيين."""
        p = self.p
        m = self.at.get(k)
        if m is not None and m.kind in ("agency", "organization") and m.cut \
                and p.toks[k][0] == "ل":
            return m.j
        if k < stop and p.toks[k] == "ل" and k + 1 < stop:
            m = self.at.get(k + 1)
            if m is not None and m.kind:
                return m.j
            if '"' in p.gaps[k + 1]:
                t = k + 1
                while t < min(stop, k + 6) and '"' not in p.gaps[t + 1]:
                    t += 1
                return t + 1
        return k

    def opens_statement(self, t: int) -> bool:
        """Token t is a reporting verb opening a clause of its own (…، مؤكدا، كما أكد، وقال)."""
        p = self.p
        vf = _verb_form(p.toks[t], self.verbs)
        if vf is None or self.in_quote(p.starts[t]):
            return False
        return bool(vf[1]) or any(c in p.gaps[t] for c in "،,؛;") \
            or p.toks[t - 1] in ("كما", "و", "ثم")

    def quote_ahead(self, k: int, stop: int) -> tuple[int, int] | None:
        """A quotation opening later in the clause, with no complement or other statement
        before it: the speaker's words after their titles and a place (على تويتر "…")."""
        p, L = self.p, self.L
        for t in range(k, min(stop, k + 25)):
            if p.toks[t] in L["complement"] or (t > k and self.opens_statement(t)):
                return None
            if '"' in p.gaps[t] and t > k:
                q = self.quote_starting(p.ends[t - 1], p.starts[t] + 1)
                if q is not None:
                    return q  # a short quoted name before it (لمجلة «X»:) is passed over
            if t > k and any(c in p.gaps[t] for c in ".\n"):
                return None
            if t > k and ":" in p.gaps[t]:
                return p.starts[t], self.statement_end(t, stop)
        return None

    def complement_ahead(self, k: int, stop: int) -> int | None:
        """A complement (أن، إن) a few words on, before any other reporting verb or the end
        of the sentence: what is said starts after it even when the verb could take a noun
        (أوضح المشرف العام على البرنامج X أن …: "على البرنامج X" is not what he said)."""
        p, L = self.p, self.L
        for t in range(k, min(stop, k + 12)):
            if t > k and (any(c in p.gaps[t] for c in ".:\n") or self.opens_statement(t)):
                return None
            tok = p.toks[t]
            if _verb_form(tok, self.verbs) is not None and t > k:
                return None
            if tok in L["complement"]:
                return t
        return None

    def quote_before(self, i: int) -> tuple[int, int] | None:
        """A quotation ending right before token i ("…"، قال)."""
        a = self.p.ends[i - 1] if i else 0
        b = self.p.starts[i]
        for qs, qe in self.quotes:
            if a - 2 <= qe <= b and qe - qs > 10:
                return qs, qe
        return None

    # -- the scan --------------------------------------------------------------------------------

    def run(self) -> list[Attribution]:
        p = self.p
        out: list[Attribution] = []
        verbs = self.verbs
        i = 0
        n = len(p)
        while i < n:
            tok = p.toks[i]
            vf = _verb_form(tok, verbs)
            if vf is not None:
                a = self.verb(i, vf[0], vf[1])
                if a is not None:
                    out.append(a)
                i += 1
                continue
            fr = self.frame_at(i)
            if fr is not None:
                a = self.frame(i, fr)
                if a is not None:
                    out.append(a)
                i += fr  # بحسب ما أفاد: the verb is the frame's, not a report of its own
                continue
            i += 1
        out.extend(self.credits())
        out.extend(_english(self))
        out.sort(key=lambda a: (a.start, a.kind))
        return _dedup(out)

    def emit(self, kind: str, i: int, j: int, cut: int, sp: _Speaker | None,
             content: tuple[int, int] | None) -> Attribution:
        s, e = self.span(i, j, cut)
        qs = qe = q = None
        if content is not None and content[1] > content[0]:
            qs, qe = self.p.orig(*content)
            q = self.text(qs, qe).strip().rstrip(".،,;؛").strip()
            if not q:
                qs = qe = q = None
        if sp is not None:
            self.history.append(sp)
            self.history_sent.append((sp, self.p.sent_of[i]))
            self.events.append((i, sp))
        if content is not None and content[1] > content[0]:
            self.contents.append(content)
            if self.p.ends[j - 1] < content[0]:
                self.leads.append((self.p.ends[j - 1], content[0]))
        return Attribution(self.doc_id, kind, self.text(s, e), s, e,
                           sp.name if sp else None, sp.start if sp else None,
                           sp.end if sp else None, q, qs, qe)

    def verb(self, i: int, form: str, cut: int) -> Attribution | None:
        p, L = self.p, self.L
        stop = p.sentence_end_tok(i)
        vg = _verb_gender(form)
        if form in L["transmit"]:
            # نقل X عن Y: the speaker is Y
            for k in range(i + 1, min(stop, i + 9)):
                if p.toks[k] == "عن":
                    sp, j = self.speaker_at(k + 1, stop, None)
                    if sp is None:
                        return None
                    c = self.content_after(j, stop, takes_object=False)
                    if c is None:
                        return self.emit("report", i, k + 1, cut, sp, None)
                    return self.emit(c[0], i, k + 1, cut, sp, (c[1], c[2]))
            return None
        if self.nominal(i):
            return None  # من طالب الخدمة: after a preposition the word is a noun
        if i > 0 and p.toks[i - 1] in ("التي", "الذي", "الذين", "اللذين", "اللتين") and not cut:
            return None  # … التي أوضحت أنها: the subject is the noun before, often no speaker
        if i > 0 and p.toks[i - 1] in ("لا", "لم", "لن") and not cut \
                and not _imperfect(form, self.verbs):
            return None  # لا نفي (we do not fulfil): after a negation only the imperfect
        if form in L["participle"]:
            sp, j = None, i + 1
        else:
            sp, j = self.speaker_at(i + 1, stop, vg, needs_complement=form in L["say"])
        if sp is None and any(a <= p.starts[i] < b for a, b in self.contents):
            return None  # توقع حينها أن … inside what someone is already saying
        if form in L["describe"]:
            if sp is not None and j < stop and p.toks[j] in L["complement"] \
                    and p.toks[j].startswith("ب"):
                sp, j = None, i + 1  # ووصف الحزب بأنه …: the party is described
            c = None if j >= stop else (
                "report", p.starts[j], self.statement_end(j, stop))
        else:
            takes_object = form in L["state"] or form in L["participle_object"]
            if _imperfect(form, self.verbs) and sp is None:
                takes_object = False  # ويؤكد تفوقه: no subject, no أن: not speech
            c = self.content_after(j, stop, takes_object, only_about=form in _ABOUT)
            if c is None and sp is not None:
                ahead = self.quote_ahead(j, stop)  # قال X في تصريحات لمجلة Y: «…»
                if ahead is not None:
                    c = ("quote", ahead[0], ahead[1])
        if c is None:
            qb = self.quote_before(i)
            if qb is None or sp is None:
                return None
            c = ("quote", qb[0], qb[1])
        if sp is None:
            ante = self.subject_before(i, vg) or self.subject_left(i) or \
                self.same_sentence(i, vg, form in L["participle"]) or self.resolve(i, vg)
            if ante is None:
                return None  # nobody to attribute it to: saying "someone said" misleads
            sp = _Speaker(ante.name, ante.start, ante.end, ante.gender, ante.keys, ante.person)
        return self.emit(c[0], i, i + 1, cut, sp, (c[1], c[2]))

    def frame_at(self, i: int) -> int | None:
        """Number of tokens of an according-frame at token i (بحسب، وفقا ل، على لسان …)."""
        p, L = self.p, self.L
        tok = p.toks[i]
        if tok == "فحسب":
            return None  # "only", not "according to"
        if _verb_form(tok, L["according"]) is not None:
            n = 1
            if tok.endswith("حسبما") and i + 1 < len(p) \
                    and _verb_form(p.toks[i + 1], self.verbs) is not None:
                return 2  # حسبما أكد مصدر: the verb belongs to the frame
            if tok.endswith("نقلا") or tok.endswith("استنادا"):
                if i + 1 < len(p) and p.toks[i + 1] in ("عن", "الى", "الي", "ل"):
                    n = 2
            elif i + 1 < len(p) and p.toks[i + 1] in ("ل", "ما", "لما"):
                n = 2
                if p.toks[i + 1] in ("ما", "لما") and i + 2 < len(p):
                    n = 3  # بحسب ما قالت، وفقا لما أعلنته: the verb is part of the frame
            return n
        if tok not in _multi_first():
            return None
        for phrase in L["according_multi"]:
            toks = phrase.split()
            if tuple(p.toks[i:i + len(toks)]) == tuple(toks) or (
                    i + len(toks) <= len(p) and p.toks[i + len(toks) - 1].startswith(toks[-1])
                    and tuple(p.toks[i:i + len(toks) - 1]) == tuple(toks[:-1])):
                return len(toks) - 1 if p.toks[i + len(toks) - 1] != toks[-1] else len(toks)
        return None

    def frame(self, i: int, n: int) -> Attribution | None:
        p = self.p
        stop = p.sentence_end_tok(i)
        cut = _verb_form(p.toks[i], self.L["according"])
        cut_chars = cut[1] if cut else 0
        k = i + n
        while k < len(p) and p.toks[k] in ("ل", "عنه", "عنها", "به", "بها", "له", "لها"):
            k += 1  # وفقا لـ، وفق ما كشف عنه X
        if any(a <= p.starts[i] < b for a, b in self.contents) or \
                any(a <= p.starts[i] < b for a, b in self.leads):
            return None  # وشدد X، وفقا لما نقلته وكالة Y، على …: Y carried X's words (a credit)
        with_verb = n == 2 and _verb_form(p.toks[i + 1], self.verbs) is not None
        # حسبما أفاد وود: after the frame's own verb the source is its subject, any name
        sp, j = self.speaker_at(k, stop, None, frame=not with_verb)
        if sp is None:
            if k >= len(p) or p.toks[k] not in self.L["quote_intro"]:
                return None  # وفق الجدول: no source
            # على حد قوله: the speaker is whoever spoke last
            ante = self.resolve(i, None)
            if ante is None:
                return None
            sp = _Speaker(ante.name, ante.start, ante.end, ante.gender, ante.keys, ante.person)
            j = k
        sent_start = p.starts[p.sent_first[p.sent_of[i]]]
        sent_end = p.ends[stop - 1]
        while j < stop and (p.toks[j] in self.L["complement"] or p.toks[j] in ("فان", "فقد")):
            j += 1
        while j < stop:
            m = self.at.get(j)
            if m is None or m.kind != "agency":
                break
            j = m.j  # told to an outlet: لوكالة أنباء الواحة
        before = p.sent_first[p.sent_of[i]] < i and p.starts[i] - sent_start > 10
        if stop - j >= 3:
            content = (p.starts[j], sent_end)
        elif before:
            content = (sent_start, p.ends[i - 1])
        else:
            # "وبحسب ما قالت مصادر … لـ"السورية.نت" فإن …": a dotted name split the sentence
            nxt = p.sentence_end_tok(stop) if stop < len(p) else stop
            if not any(p.toks[t] in self.L["complement"] for t in range(j, min(nxt, j + 4))):
                return None  # …، وفقا لرويترز. New sentence: the frame closed the last one
            while j < nxt:
                m = self.at.get(j)
                if m is not None and m.kind == "agency":
                    j = m.j  # told to an outlet: لـ"السورية.نت"
                elif p.toks[j] in self.L["complement"] or p.toks[j] in self.L["breaker"]:
                    j += 1
                else:
                    break
            if j >= nxt or "\n" in "".join(p.gaps[stop:j + 1]):
                return None
            content = (p.starts[j], p.ends[nxt - 1])
        return self.emit("report", i, k if k > i + n else i + n, cut_chars, sp, content)

    def credit_position(self, m: M, speaks: bool) -> bool:
        """Whether an outlet named at mention `m` is credited as a source there: it speaks
        (ذكرت وكالة X أن), stands after a publishing verb or a frame (نشرت صحيفة X، بحسب X،
        نقلا عن X، قال لـX، في تصريحات لـX), in parentheses, at a dateline, or on a line of
        credit (© …، المصدر: …). An outlet visited, sponsoring an event or employing
        someone is only a name."""
        p, L = self.p, self.L
        if speaks:
            return True
        text = p.view.normalized
        a, b = p.starts[m.i], p.ends[m.j - 1]
        o = text.rfind("(", max(0, a - 40), a)
        if o >= 0 and text.rfind(")", o, a) < 0 and text.find(")", b, b + 40) >= 0:
            return True
        if p.line_pos[m.i] <= 12 and ("-" in p.gaps[m.i] or "-" in p.gaps[min(m.j, len(p))]
                                      or ":" in p.gaps[min(m.j, len(p))]):
            return True
        line_start = text.rfind("\n", 0, a) + 1
        line = text[line_start:a]
        if "©" in line or "حقوق" in line or "المصدر" in line or "مصدر" in line[-12:]:
            return True
        lo = max(p.sent_first[p.sent_of[m.i]], m.i - 3)
        before = [_bare_noun(t) if t.startswith("ال") else t for t in p.toks[lo:m.i]]
        if m.cut and p.toks[m.i][0] == "ل":
            before.append("ل")  # لوكالة X، لـ"X": told to the outlet
        for k, t in enumerate(before):
            last = k == len(before) - 1
            if _verb_form(t, L["publish"]) is not None and last:
                return True
            if _verb_form(t, L["according"]) is not None or (t in ("عن", "ل") and last):
                return True
            if any(v in L["told"] for v, _ in variants(t)):
                return True  # بخبر في صحيفة X، في تصريحات لـX
        return False

    def credits(self) -> list[Attribution]:
        p = self.p
        out = []
        seen: set[tuple[int, int]] = set()
        speakers = {(sp.start, sp.end) for _, sp in self.events}
        for m in self.ms:
            if m.kind != "agency":
                continue
            if self.is_own(m.canonical):
                continue  # an outlet naming itself (dateline, copyright line) credits nobody
            s, e = self.span(m.i, m.j, m.cut)
            if not self.credit_position(m, (s, _close_quote(p.view.original, s, e)) in speakers
                                        or (s, e) in speakers):
                continue  # an outlet visited, sponsoring or employing someone: not a source
            e = _close_quote(self.p.view.original, s, e)
            seen.add((s, e))
            out.append(Attribution(self.doc_id, "credit", self.text(s, e), s, e,
                                   m.canonical, s, e, None, None, None))
        text = p.view.normalized
        for pm in _PAREN.finditer(text):
            inner_s, inner_e = pm.span(1)
            line_start = text.rfind("\n", 0, pm.start()) + 1
            after = text[pm.end():pm.end() + 3]
            at_dateline = pm.start() - line_start <= 60 and after.strip()[:1] in ("-", ":")
            nl = text.find("\n", pm.end())
            rest = text[pm.end():(nl if nl >= 0 else len(text))]
            at_end = rest.strip(" .") == ""
            if not (at_dateline or at_end):
                continue
            pos = inner_s
            parts = re.split(r"[,/]", text[inner_s:inner_e])
            if len(parts) > 2 or "..." in text[inner_s:inner_e]:
                continue  # a list in parentheses ("e-mail, Facebook, Twitter…"); joint credits
                # name two agencies at most
            for part in parts:
                ps = pos + len(part) - len(part.lstrip())
                pe = pos + len(part.rstrip())
                pos += len(part) + 1
                toks = part.split()
                if not toks or len(toks) > 4 or any(c.isdigit() for c in part):
                    continue
                if all(t in self.sw for t in toks):
                    continue
                s, e = p.orig(ps, pe)
                if any(a <= s and e <= b for a, b in seen):
                    continue
                entry = gazetteer().lookup(part)
                name = entry.canonical if entry is not None and entry.kind == "agency" \
                    else display(self.text(s, e))
                if entry is not None and entry.kind != "agency":
                    continue  # a place or organization in parentheses is not a credit
                if entry is None and toks[0] not in _kind_words() \
                        and any(t.startswith("ال") or t.startswith("وال") for t in toks):
                    continue  # (الأونصة)، (الدوري والكأس): common nouns, not an unknown agency
                if entry is None and (toks[0] in self.sw or any(is_month(t) for t in toks)):
                    # an unknown name must look like one: not a phrase opening with a
                    # function word ("(أو صك الملكية)"), not a month ("سبتمبر (أيلول)")
                    continue
                if self.is_own(name):
                    continue
                seen.add((s, e))
                out.append(Attribution(self.doc_id, "credit", self.text(s, e), s, e,
                                       name, s, e, None, None, None))
        return out


_KIND_WORDS = ("صحيفة", "جريدة", "قناة", "وكالة", "موقع", "شبكة", "إذاعة", "مجلة")


@lru_cache(maxsize=1)
def _kind_words() -> frozenset[str]:
    return frozenset(norm(w) for w in _KIND_WORDS)


def _core(name: str) -> str:
    """A normalized outlet name without its kind word: صحيفة سبق -> سبق."""
    toks = name.split()
    return " ".join(toks[1:]) if len(toks) > 1 and toks[0] in _kind_words() else name


def _own_names(source: str) -> frozenset[str]:
    """Normalized names a document's outlet goes by: its `source` field as given and,
    when the gazetteer knows it (by name or web name: sabq, okaz), its canonical name."""
    names = {norm(source)}
    entry = gazetteer().lookup(source)
    if entry is not None and entry.kind == "agency":
        names.add(norm(entry.canonical))
    return frozenset(n for n in names if n)


def _close_quote(text: str, s: int, e: int) -> int:
    """Take the closing quotation mark along when the span holds only the opening one."""
    span = text[s:e]
    opened = sum(span.count(c) for c in '"“«”')
    if opened % 2 == 1 and e < len(text) and text[e] in '"”»“':
        return e + 1
    return e


_OPENERS = " \t(["
_CLOSERS = " \t.,،:;؛!?)]…"


def _mark_side(line: str, k: int) -> str:
    """Whether the quote mark at line[k] opens, closes, or cannot tell: a mark after a
    space and before a word opens (قال "نعرف), one after a word and before a space or a
    stop closes (التحدث".); the glyph is not trusted, scrapers swap “ and ”."""
    before = line[k - 1] if k else " "
    after = line[k + 1] if k + 1 < len(line) else " "
    opens = before in _OPENERS or before == '"'
    closes = after in _CLOSERS or after == '"'
    if opens and not closes:
        return "open"
    if closes and not opens:
        return "close"
    return "?"


def _quote_spans(p: Prepared) -> list[tuple[int, int]]:
    """Quotations of at least three tokens, as normalized spans without their marks.

    All quote styles are one character (") after normalization. Each mark is read as
    opening or closing from what surrounds it (`_mark_side`), so a stray closing mark
    (… المثال". وأضاف "لكن …") is passed over instead of pairing everything after it the
    wrong way round; marks are kept on a stack, so a quotation inside a quotation keeps
    both; an opening mark never closed ends its quotation at the end of the paragraph.
    """
    text = p.view.normalized
    out = []
    pos = 0
    for line in text.split("\n"):
        stack: list[int] = []
        for m in re.finditer('"', line):
            k = m.start()
            side = _mark_side(line, k)
            if side == "?":
                side = "close" if stack else "open"
            if side == "open":
                stack.append(k)
            elif stack:
                a = stack.pop()
                if len(line[a + 1:k].split()) >= 3:
                    out.append((pos + a + 1, pos + k))
        if stack:
            a = stack[0]
            tail = line[a + 1:].rstrip(" .،,")
            if len(tail.split()) >= 3:
                out.append((pos + a + 1, pos + a + 1 + len(tail)))
        pos += len(line) + 1
    out.sort()
    return out


def _dedup(items: list[Attribution]) -> list[Attribution]:
    """One attribution per cue, and one per statement: two cues over the same words
    (وختم حديثه … وقال: "…") report one statement, kept at its first cue."""
    out: list[Attribution] = []
    seen = set()
    said = set()
    for a in items:
        key = (a.kind, a.start, a.end)
        if key in seen:
            continue
        if a.kind != "credit" and a.quote_start is not None:
            if (a.quote_start, a.quote_end) in said:
                continue
            said.add((a.quote_start, a.quote_end))
        seen.add(key)
        out.append(a)
    return out


# -- English ---------------------------------------------------------------------------------------

_CAP = r"(?:(?:al-|el-|bin |de |van )?[A-Z][\w.'’-]*)"
_EN_NAME = rf"(?:[Tt]he\s+)?(?:[\w-]+\s+)?{_CAP}(?:\s+{_CAP}){{0,5}}"
_EN_QUOTE = re.compile(
    rf"[\"“](?P<q>[^\"”]{{8,}}?)[,.]?[\"”],?\s+(?P<sp>he|she|they|{_EN_NAME})\s+"
    r"(?P<v>said|says|told|added|stated)\b")
_EN_SAID = re.compile(rf"(?P<sp>{_EN_NAME})\s+(?P<v>said|says|told|reported|announced|added)\b")
_EN_ACCORDING = re.compile(rf"\b(?P<v>[Aa]ccording to)\s+(?P<sp>{_EN_NAME})")


_LATIN_RUN = re.compile(r"[A-Za-z]{2,}(?:\W+[A-Za-z]{2,}){3,}")


def _english(d: _Doc) -> list[Attribution]:
    p = d.p
    out: list[Attribution] = []
    text = p.view.original
    if not _LATIN_RUN.search(text):
        return out  # no English sentence anywhere: skip the per-sentence scan
    starts, ends = p.view.sentences
    last: _Speaker | None = None
    for ns, ne in zip(starts.tolist(), ends.tolist(), strict=True):
        s, e = p.orig(ns, ne)
        sent = text[s:e]
        latin = sum(1 for c in sent if "a" <= c.lower() <= "z")
        arabic = sum(1 for c in sent if "\u0600" <= c <= "\u06ff")
        if latin <= arabic or latin < 10:
            continue
        taken: list[tuple[int, int]] = []
        for m in _EN_QUOTE.finditer(sent):
            sp_text = m.group("sp")
            if sp_text in ("he", "she", "they"):
                sp = last
                sps = spe = None
            else:
                sps, spe = s + m.start("sp"), s + m.end("sp")
                sp = _Speaker(_en_name(sp_text), sps, spe, None, frozenset())
            out.append(Attribution(d.doc_id, "quote", m.group("v"), s + m.start("v"),
                                   s + m.end("v"), sp.name if sp else None,
                                   sp.start if sp else None, sp.end if sp else None,
                                   m.group("q"), s + m.start("q"), s + m.end("q")))
            taken.append(m.span())
            if sp is not None:
                last = sp
        for rx in (_EN_SAID, _EN_ACCORDING):
            for m in rx.finditer(sent):
                if any(a <= m.start() < b for a, b in taken):
                    continue
                sps, spe = s + m.start("sp"), s + m.end("sp")
                sp = _Speaker(_en_name(m.group("sp")), sps, spe, None, frozenset())
                tail = sent[m.end():].strip(" .,")
                if rx is _EN_SAID and len(tail.split()) > 4:
                    cs = m.end() + (len(sent[m.end():]) - len(sent[m.end():].lstrip(" ,")))
                    if sent[cs:cs + 5].lower() == "that ":
                        cs += 5
                    q_s, q_e = s + cs, e
                else:
                    head = sent[:m.start()].rstrip(" ,")
                    q_s, q_e = s, s + len(head)
                q = text[q_s:q_e].strip(" .,") or None
                out.append(Attribution(d.doc_id, "report", m.group("v"), s + m.start("v"),
                                       s + m.end("v"), sp.name, sps, spe, q,
                                       q_s if q else None, q_e if q else None))
                last = sp
    return out


def _en_name(text: str) -> str:
    return re.sub(r"^[Tt]he\s+", "", text).strip()


# -- API -------------------------------------------------------------------------------------------


def attributions(view: TextView, doc: Document | None = None) -> list[Attribution]:
    """Quotations, reported speech and agency credits of one document, in text order."""
    return _Doc(Prepared.of(view), doc).run()


def analyze(view: TextView, doc: Document | None = None) -> tuple[list[Attribution], list[Mention]]:
    """`attributions` and `mentions` of one document, sharing the work they have in common."""
    p = Prepared.of(view)
    ms = find(p)
    doc_id = doc.id if doc is not None else view.id
    return _Doc(p, doc, ms).run(), [to_mention(p, doc_id, m) for m in ms]


@dataclass(frozen=True, slots=True)
class Source:
    """One source of a story: who is quoted or credited, how often and where."""

    name: str
    kind: str
    """person | organization | agency | place | unnamed (مصادر، شهود) | other"""
    quotes: int
    reports: int
    credits: int
    docs: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.quotes + self.reports + self.credits

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "quotes": self.quotes,
                "reports": self.reports, "credits": self.credits, "docs": list(self.docs)}


def story_sources(
    views: Sequence[TextView],
    docs: Sequence[Document],
    attributions_by_doc: dict[str, list[Attribution]] | None = None,
    mentions_by_doc: dict[str, list[Mention]] | None = None,
) -> list[Source]:
    """The quoted sources and credited agencies of a story, most cited first.

    Names are grouped by their normalized form, so "إسماعيل قاآني" and "اسماعيل
    قاآني" count as one; the spelling shown is the most frequent one.
    """
    from khabar.explain.entities import mentions

    if attributions_by_doc is None:
        attributions_by_doc = {d.id: attributions(v, d) for v, d in zip(views, docs, strict=True)}
    kinds: dict[str, str] = {}
    for v, d in zip(views, docs, strict=True):
        ms = mentions_by_doc[d.id] if mentions_by_doc is not None else mentions(v, d)
        for m in ms:
            kinds.setdefault(norm(m.canonical), m.kind)
    source_nouns = _lists()["source"]
    counts: dict[str, Counter] = {}
    spellings: dict[str, Counter] = {}
    where: dict[str, set[str]] = {}
    for d in docs:
        for a in attributions_by_doc.get(d.id, []):
            if not a.speaker:
                continue
            key = norm(a.speaker)
            if not key:
                continue
            counts.setdefault(key, Counter())[a.kind] += 1
            spellings.setdefault(key, Counter())[a.speaker] += 1
            where.setdefault(key, set()).add(d.id)
    out = []
    for key, c in counts.items():
        kind = kinds.get(key)
        if kind is None:
            if c["credit"] and not (c["quote"] or c["report"]):
                kind = "agency"
            elif key.split()[0] in source_nouns:
                kind = "unnamed"
            else:
                kind = "other"
        name = spellings[key].most_common(1)[0][0]
        out.append(Source(name, kind, c["quote"], c["report"], c["credit"],
                          tuple(sorted(where[key]))))
    out.sort(key=lambda s: (-s.total, -len(s.docs), s.name))
    return out


__all__ = ["KINDS", "Attribution", "Source", "attributions", "story_sources"]
