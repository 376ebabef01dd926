"""Mentions of people, places, organizations and news agencies, by gazetteer and rule.

No model is involved (none can be downloaded at run time): names come from
the lists in `khabar/data/gazetteers/` and from a few rules about how Arabic
news introduces a name. Arabic has no capital letters, so a rule needs a cue:

* **gazetteer** — known places, organizations and agencies, longest match,
  with attached clitics (و ف ب ل ك, لل → ال) stripped;
* **title** — an honorific or role (الرئيس، الوزير، المتحدث باسم …), then what
  it is of (definite words, an organization: وزير النقل، قائد فيلق القدس
  الإيراني), optionally a comma, then 1–3 name tokens: the person;
* **first name** — a common given name (first-names.txt) and one or two more
  name tokens (إسماعيل قاآني، ليلى منصور);
* **apposition** — two name tokens right before ", <title>" (برايان هوك، المبعوث);
* **trigger** — وزارة/شركة/لجنة … + definite words: an organization;
  مدينة/بلدة/محافظة … + a name: a place; صحيفة/قناة/وكالة أنباء … + a name:
  an outlet (kind agency);
* **surname** — within one article, the last name of a person found earlier,
  on its own (قاآني، السراج), is that person again.

A name token is one that is not a function word, a reporting verb, a cue
word, a number, or shaped like a verbal noun (تشكيل، انتخاب: the word after a
title is often what the person did, not their name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from khabar.document import Document
from khabar.explain.common import Prepared, display
from khabar.explain.gazetteer import Entry, entities, variants, words
from khabar.pickling import fast_pickle
from khabar.text.stem import stopwords
from khabar.text.view import TextView

KINDS = ("person", "place", "organization", "agency")


@fast_pickle
@dataclass(frozen=True, slots=True)
class Mention:
    doc: str
    start: int
    """ORIGINAL offset, half-open span."""
    end: int
    text: str
    """The original text of the span."""
    kind: str
    """person | place | organization | agency"""
    canonical: str
    """Gazetteer name, or for names found by rule the name without harakat (same across the
    article for a surname on its own)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class M:
    """A mention inside the rules: token range [i, j) of a `Prepared`."""

    i: int
    j: int
    cut: int
    kind: str
    canonical: str
    rule: str
    head: int = -1
    """First token of the title chain that introduced a person (or `i`)."""
    nested: list[M] = field(default_factory=list)


@lru_cache(maxsize=1)
def _lists() -> dict[str, frozenset[str]]:
    rep = "reporting.txt"
    verbs = (words(rep, "say") | words(rep, "state") | words(rep, "participle")
             | words(rep, "transmit"))
    return {
        "honorific": words("titles.txt", "honorific"),
        "titles": words("titles.txt", "honorific") | words("titles.txt", "role"),
        "role": words("titles.txt", "role"),
        "first": (words("first-names.txt", "male") | words("first-names.txt", "female")
                  | words("first-names.txt", "foreign")),
        "ambiguous": words("first-names.txt", "ambiguous"),
        "place_trigger": words("cues.txt", "place_trigger") | words("cues.txt", "site_trigger"),
        "site_trigger": words("cues.txt", "site_trigger"),
        "weak_place_trigger": words("cues.txt", "weak_place_trigger"),
        "name_trigger": words("cues.txt", "name_trigger"),
        "sports_club": words("cues.txt", "sports_club"),
        "sports_context": words("cues.txt", "sports_context"),
        "place_context": words("cues.txt", "place_context"),
        # the definite forms too: الجبهة الجنوبية، الهيئة العامة للإحصاء
        "org_trigger": words("cues.txt", "org_trigger")
        | {"ال" + w for w in words("cues.txt", "org_trigger") if not w.startswith("ال")},
        "outlet_trigger": words("cues.txt", "outlet_trigger"),
        "verbs": verbs,
        "breaker": words(rep, "breaker") | words(rep, "complement"),
        "source": words(rep, "source"),
    }


_CONNECTORS = frozenset("بن ابن بنت ابو ابي ال عبد ولد".split())
_PATRONYMIC = frozenset("بن ابن بنت ال".split())
# second halves of compound given names (حسام الدين، عبد الله، نور الهدى)
_COMPOUND = frozenset("الدين الله الرحمن العزيز الاسلام الهدي الحق الرحيم".split())
# adjectives that follow an organization word and do not end like a nisba
_ADJECTIVES = frozenset("العام العامة العليا الاعلي الكبري الجديد الجديدة المستقل المستقلة "
                        "المتحد المتحدة الدائم الدائمة الموحد الموحدة الخاص الخاصة".split())
# titles that are also adjectives after a definite noun (المؤتمر الصحفي)
_ADJECTIVAL_TITLES = frozenset("الصحفي الصحافي الاعلامي الاعلامية المعارض المعارضة الراحل "
                               "الراحلة الفني الخبير المستشار".split())
_ONLY_QUOTED_OUTLET = frozenset("موقع شبكة تلفزيون".split())
_BROADCASTER = frozenset("الاخبارية الفضائية التلفزيونية التلفزيون الرياضية".split())
"""Words that make an unquoted قناة + name a broadcaster (normalized forms)."""


@lru_cache(maxsize=262144)
def _bare(tok: str, table: frozenset[str]) -> str | None:
    """`tok` or its clitic-stripped form, if it is in `table`."""
    for v, _ in variants(tok):
        if v in table:
            return v
    return None


def _is_definite(tok: str) -> bool:
    """A word with the article (ال, or لل for ل+ال), not a function word that merely
    starts with those letters (الى، التي، الذي)."""
    return (tok.startswith("ال") or (tok.startswith("لل") and len(tok) > 3)) \
        and tok not in stopwords()


def _is_nisba(tok: str) -> bool:
    return tok.endswith("ي") or tok.endswith("ية") or tok.endswith("يين") or tok.endswith("يون")


def _possessed(tok: str) -> bool:
    """A noun with a pronoun attached (نظيره، رحلته، حقه، تدعيمها): never part of a name."""
    # four-letter names do end in ه (عبده، نبيه، وجيه): only three letters or five and more
    return tok.endswith(("ها", "هم", "هما", "كم", "ته")) or (
        tok.endswith("ه") and len(tok) != 4 and len(tok) >= 3)


def _verbal_noun_shape(tok: str) -> bool:
    # تفعيل (تشكيل، تعليق) and إفعال/افتعال/استفعال (إعلان، انتخاب، استمرار)
    return len(tok) >= 5 and tok[0] in "تا" and tok[-2] in "يا"


class _Finder:
    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.L = _lists()
        self.gaz = entities()
        self.sw = stopwords()
        self.taken = [False] * len(p)

    # -- small predicates --------------------------------------------------------------------

    def is_ali(self, j: int) -> bool:
        """Token j is the name علي, not the preposition على (they fold together)."""
        if self.p.toks[j] != "علي":
            return False
        s, e = self.p.tok_orig(j, j + 1)
        return self.p.view.original[s:e].endswith("ي")

    def plain(self, j: int) -> bool:
        """Token j is an ordinary word that may be part of a name."""
        t = self.p.toks[j]
        L = self.L
        if t == "علي":
            return self.is_ali(j)
        return (
            len(t) >= 2 and t.isalpha() and t not in self.sw and t not in L["breaker"]
            and t not in L["verbs"] and t not in L["honorific"] and t not in L["role"]
            and t not in L["source"] and _bare(t, L["org_trigger"]) is None
            and t not in L["place_trigger"] and t not in L["outlet_trigger"]
        )

    def in_parens(self, i: int, j: int) -> bool:
        text = self.p.view.normalized
        a, b = self.p.starts[i], self.p.ends[j - 1]
        o = text.rfind("(", max(0, a - 40), a)
        return o >= 0 and text.rfind(")", o, a) < 0 and text.find(")", b, b + 40) >= 0

    def dateline(self, i: int, j: int) -> bool:
        p = self.p
        after = p.gaps[j] if j <= len(p) else ""
        return p.line_pos[i] <= 12 and ("-" in p.gaps[i] or "-" in after)

    # -- gazetteer -----------------------------------------------------------------------------

    def gazetteer(self, i: int) -> M | None:
        p = self.p
        hit = self.gaz.match(p.toks, i, p.joinable)
        if hit is None:
            return None
        n, cut, entry = hit
        if entry.credit_only and not (self.in_parens(i, i + n) or self.dateline(i, i + n)):
            return None
        if entry.needs_cue and not (self._place_context(i, cut)
                                    or (cut and p.toks[i][0] in "بل")):  # بالمملكة
            return None
        if entry.kind == "place" and not cut and i > 0 and p.joinable[i] \
                and _is_definite(p.toks[i - 1]) and _is_nisba(p.toks[i + n - 1]) \
                and p.toks[i - 1] not in self.L["place_context"]:
            return None  # الشركات السعودية، العمالة السعودية: an adjective, not the country
        return M(i, i + n, cut, entry.kind, entry.canonical, "gazetteer")

    def _place_context(self, i: int, cut: int) -> bool:
        p = self.p
        if i == 0 or "\n" in p.gaps[i] or "," in p.gaps[i]:
            return False
        return _bare(p.toks[i - 1], self.L["place_context"]) is not None

    # -- trigger rules ---------------------------------------------------------------------------

    def org(self, i: int) -> M | None:
        """وزارة الصحة، نقابة عمال السكك الحديدية (construct: the trigger then its genitive);
        الشركة الوطنية للسكك الحديدية، البنك المركزي (definite trigger: only adjectives and
        ل-phrases may follow, else the next definite word is an object: أغلقت الشرطة الطريق)."""
        p = self.p
        bare = _bare(p.toks[i], self.L["org_trigger"])
        if bare is None or p.toks[i] in ("لمصلحة", "لصالح"):
            return None  # لمصلحة X: "in favour of", not the authority called مصلحة
        if bare == "القوات" and i + 1 < len(p) and _is_nisba(p.toks[i + 1]) and not (
                i + 2 < len(p) and p.joinable[i + 2] and p.toks[i + 2].startswith("لل")):
            return None  # القوات الأفغانية: forces described, not a body's name
        definite = bare.startswith("ال")
        j = i + 1
        after_lil = False
        joined = False
        if not definite and i + 1 < len(p) and p.toks[i + 1].startswith("لل"):
            return None  # كلية للبنين: a college for boys, a description, not a name
        if not definite and _bare(p.toks[i], self.L["name_trigger"]) is not None:
            named = self._proper_name_after(i)
            if named is not None:
                return named
        while j < len(p) and j - i <= 5 and p.joinable[j] and not self.taken[j]:
            t = p.toks[j]
            if t in self.sw or t in self.L["breaker"] or (j > i + 1 and '"' in p.gaps[j]):
                break
            if definite:
                fem_agrees = p.toks[i].endswith("ة") and t.endswith("ة")
                if _is_definite(t) and (_is_nisba(t) or fem_agrees or t in _ADJECTIVES):
                    j += 1
                elif t.startswith("لل") and j > i + 1:
                    after_lil = True
                    j += 1
                elif after_lil and _is_definite(t):
                    j += 1
                elif after_lil and not joined and t.startswith("وال") and len(t) > 5 \
                        and t[1:] not in self.sw:
                    joined = True
                    j += 1  # المؤسسة العامة للتدريب التقني والمهني
                else:
                    break
            elif t in self.L["honorific"] or t in self.L["role"]:
                break  # شرطة منطقة القصيم الرائد …: the title starts a person
            elif j > i + 1 and not after_lil:
                # after the genitive only adjectives (الأميركية، الجوية) or a ل-phrase
                fem_agrees = p.toks[i].endswith("ة") and t.endswith("ة")
                if _is_definite(t) and (_is_nisba(t) or fem_agrees or t in _ADJECTIVES):
                    j += 1
                elif t.startswith("لل"):
                    after_lil = True
                    j += 1
                elif _is_definite(t) and not _is_definite(p.toks[j - 1]):
                    j += 1  # نقابة عمال السكك: construct chain, one more genitive
                elif not joined and t.startswith("وال") and len(t) > 5 \
                        and t[1:] not in self.sw and _is_definite(p.toks[j - 1]):
                    joined = True
                    j += 1  # وزارة التجارة والصناعة: two domains joined make one name
                else:
                    break
            elif _is_definite(t) or (j == i + 1 and '"' in p.gaps[j] and not _is_nisba(t)):
                j += 1
            elif j == i + 1 and j + 1 < len(p) and p.joinable[j + 1] \
                    and _is_definite(p.toks[j + 1]) and self.plain(j):
                j += 1  # construct chain: نقابة عمال السكك، مستشفى تل الريحان
            else:
                break
        if j == i + 1:
            return None
        cut = self._cut(i, self.L["org_trigger"])
        return M(i, j, cut, "organization", "", "org-trigger")

    def _proper_name_after(self, i: int) -> M | None:
        """شركة فيات كرايسلر، حزب نداء تونس: a body named by unknown words (no article, no
        feminine or nisba ending: those describe it), up to three."""
        p = self.p
        j = i + 1
        while j < len(p) and j - i <= 3 and p.joinable[j] and not self.taken[j]:
            t = p.toks[j]
            if not self.plain(j) or _is_definite(t) or t.endswith("ة") or \
                    (len(t) >= 4 and _is_nisba(t)) or t[:3] in ("وال", "بال", "فال") \
                    or t.startswith("لل") or _verbal_noun_shape(t):
                break
            j += 1
        if j == i + 1:
            return None
        return M(i, j, self._cut(i, self.L["org_trigger"]), "organization", "", "org-trigger")

    def outlet(self, i: int) -> M | None:
        p = self.p
        trig = _bare(p.toks[i], self.L["outlet_trigger"])
        if trig is None or i + 1 >= len(p) or not p.joinable[i + 1]:
            return None
        j = i + 1
        if '"' in p.gaps[j]:
            # a quoted name: up to the closing quote, at most four tokens
            k = j
            while True:
                if k >= len(p) or k - i > 4:
                    return None
                if '"' in p.gaps[k + 1]:
                    break
                if k + 1 < len(p) and not p.joinable[k + 1]:
                    return None
                k += 1
            j = k + 1
        elif trig in _ONLY_QUOTED_OUTLET:
            return None
        elif trig == "وكالة":
            if p.toks[j] not in ("انباء", "الانباء"):
                return None
            j += 1
            while j < len(p) and j - i <= 4 and p.joinable[j] and self.plain(j) \
                    and not (j > i + 2 and '"' in p.gaps[j]):
                j += 1
            if j == i + 2:
                return None
        else:
            if not self.plain(j):
                return None
            j += 1
            foreign = not _is_definite(p.toks[i + 1])
            while j < len(p) and j - i <= 3 and p.joinable[j] and self.plain(j) and (
                    _is_definite(p.toks[j]) if not foreign else not (
                        _is_definite(p.toks[j]) or p.toks[j].endswith("ة")
                        or _is_nisba(p.toks[j]) or p.toks[j][0] in "وبلف")):
                j += 1  # صحيفة الشرق الأوسط; مجلة فرانس فوتبول (before الفرنسية)
            if trig in ("قناة", "اذاعة") and not _is_definite(p.toks[i + 1]):
                return None
            if trig == "قناة":
                # قناة is also a canal (قناة السويس، قناة السيول): unquoted and unknown to the
                # gazetteer, it is a broadcaster only when called one (قناة المدار الإخبارية)
                if j < len(p) and p.joinable[j] and p.toks[j] in _BROADCASTER:
                    j += 1
                if not any(t in _BROADCASTER for t in p.toks[i + 1:j]):
                    return None
        j = min(j, len(p))
        return M(i, j, self._cut(i, self.L["outlet_trigger"]), "agency", "", "outlet-trigger")

    def place(self, i: int) -> M | None:
        p = self.p
        if _bare(p.toks[i], self.L["place_trigger"]) is None or i + 1 >= len(p):
            return None
        j = i + 1
        if not p.joinable[j] or self.taken[j] or not self.plain(j) or p.toks[j][0].isdigit():
            return None
        first = p.toks[j]
        feminine = p.toks[i].endswith("ة")
        if not _is_definite(first) and (first.endswith("ة") or (
                len(first) >= 4 and _is_nisba(first) and not feminine)):
            return None  # قرية صغيرة، ولاية أمريكية: an adjective, not a name
        if _bare(p.toks[i], self.L["weak_place_trigger"]) is not None and _is_definite(first):
            return None  # منطقة الحادث: "the area of the accident"; named areas are listed
        if _is_definite(first) and _is_nisba(first):
            return None
        j += 1
        if j < len(p) and p.joinable[j] and _is_definite(p.toks[j]) and self.plain(j) \
                and not _is_nisba(p.toks[j]):
            j += 1
        if _bare(p.toks[i], self.L["site_trigger"]) is not None:
            # a port or an airport is named with its word (ميناء جيهان)
            return M(i, j, self._cut(i, self.L["site_trigger"]), "place", "", "site-trigger")
        return M(i + 1, j, 0, "place", "", "place-trigger")

    # -- persons -------------------------------------------------------------------------------

    def _given_name_near(self, ks: range, stop: Callable[[int], bool]) -> tuple[int, int] | None:
        """(start, end) of the name opening at the first known given name among `ks`, looking
        no further than where `stop` says; None when there is none."""
        p, L = self.p, self.L
        for k in ks:
            if stop(k):
                return None
            if p.toks[k] in L["first"] or p.toks[k] in L["ambiguous"]:
                end = self.name_from(k, after_title=True)
                return (k, end) if end > k else None
        return None

    def name_from(self, j: int, after_title: bool, cut: int = 0) -> int:
        """End of a person name starting at token j (j itself when there is none); `cut`
        leading characters of token j are a conjunction (وعبدالله حامد)."""
        p, L = self.p, self.L
        if j >= len(p) or self.taken[j] or (not cut and not self.plain(j)):
            return j
        first = p.toks[j][cut:]
        known = first in L["first"] or (after_title and first in L["ambiguous"]) \
            or first in _CONNECTORS or self.is_ali(j)
        if not known and _possessed(first):
            return j  # التقى نظيره التركي: "his counterpart", not a name
        if _is_definite(first) or (not known and _verbal_noun_shape(first)):
            return j
        if not known and (first[0] in "وفبلك" or first.endswith("ة")):
            return j  # وجسرا، لاستخبارات، إدارة: a clitic or a noun, not a name
        if not known and (first[0] == "ي" or (first[0] == "ت" and len(first) == 4)):
            return j  # يرسل، يشكو، تخلف: a verb after the title, not a name
        if not known and first[0] == "م" and len(first) >= 5:
            return j  # مدرب متخصص، مساعد: a participle describing the title, not a name
        if first == "علي" and j + 1 < len(p) and _is_definite(p.toks[j + 1]) \
                and not p.toks[j + 1].endswith("ي") and not after_title:
            return j  # عرض علي السفر: the preposition spelled with ي, not the name
        k = j + 1
        if k < len(p) and p.toks[k] == "الله" and (first.endswith("ه") or first.endswith("هم")
                                                   or first.endswith("ها")) \
                and first not in _CONNECTORS:
            return j  # حفظه الله، رحمهم الله: a prayer, not a name
        while k < len(p) and k - j < 6 and p.joinable[k] and not self.taken[k]:
            t, prev = p.toks[k], p.toks[k - 1]
            if "-" in p.gaps[k]:
                break  # أحمد علي- سبق: a byline's dash ends the name
            if prev in _CONNECTORS and t.isalpha() and t not in self.sw \
                    and t not in L["breaker"]:
                k += 1  # after بن/آل anything is a name: آل الشيخ
                continue
            if not self.plain(k):
                break
            if t.startswith("لل") or (_verbal_noun_shape(t) and not _is_definite(t)):
                break
            if not _is_definite(t) and _possessed(t) and t not in L["first"]:
                break  # إبراهيم تدعيمها، حقه: a noun with a pronoun ends the name
            hit = self.gaz.match(p.toks, k, p.joinable)
            if hit is not None and hit[2].kind == "place" and not hit[2].needs_cue:
                break  # غزا صدام الكويت: a country after the name is not a family name
            if t[0] in "بلوفك" and (_verbal_noun_shape(t[1:]) or t[1:3] == "ال"):
                break  # باستقطاب، بالخطر: a preposition and a noun
            if k == j + 1:
                # a surname, with or without article: إسماعيل قاآني، نبيل السراج، ياسين بوعزة
                if t.endswith("ة") and not known and not _is_definite(t):
                    break
                if _is_definite(t) and t.endswith("ية"):
                    break  # مارتن الأمريكية: a feminine adjective, not a family name
                k += 1
            elif t[0] in "وفبلكي" and t not in L["first"]:
                break  # عز الدين بقدر، … يرسل: not a third name
            elif (prev in L["first"] or self.is_ali(k - 1)) and k == j + 2 and not t.endswith("ة") \
                    and not _is_definite(prev):
                k += 1  # a father's name between: محمد علي جعفري
            elif prev in _CONNECTORS or prev in _COMPOUND or t in _CONNECTORS \
                    or (t in _COMPOUND and not _is_definite(prev)):
                k += 1  # فارس عبد الجليل، حسام الدين النجار، محمد بن سلمان
            elif _is_definite(t) and not _is_definite(prev) \
                    and any(x in _PATRONYMIC for x in p.toks[j:k]):
                k += 1  # the family name closing a chain: خالد بن عبدالله المصلح
                break
            else:
                break
        while k > j and p.toks[k - 1] in _CONNECTORS:
            k -= 1  # never end on بن or آل
        if first in _CONNECTORS and k == j + 1:
            return j
        return k

    def titled(self, i: int) -> M | None:
        """Title chain at token i and the name after it."""
        p, L = self.p, self.L
        titles = L["titles"]
        if _bare(p.toks[i], titles) is None:
            return None
        if p.toks[i] in _ADJECTIVAL_TITLES and i > 0 and p.joinable[i] \
                and _is_definite(p.toks[i - 1]):
            return None  # المؤتمر الصحفي، المكتب الإعلامي: an adjective here, not a title
        nested: list[M] = []
        j = i + 1
        comma_used = False
        steps = 0
        while j < len(p) and steps < 7:
            steps += 1
            g = p.gaps[j]
            if not p.joinable[j]:
                if ("," in g or "،" in g) and not comma_used and "\n" not in g and j > i + 1:
                    comma_used = True  # apposition: قائد فيلق القدس الإيراني، إسماعيل قاآني
                else:
                    break
            t = p.toks[j]
            if t in titles:
                j += 1
                continue
            if t == "باسم" and j + 1 < len(p):
                sub = self.gazetteer(j + 1) or self.org(j + 1)
                if sub is not None:
                    nested.append(sub)  # المتحدث باسم الأمم المتحدة
                    j = sub.j
                else:
                    j += 2
                continue
            sub = self.gazetteer(j) or self.org(j) or self.outlet(j)
            if sub is not None and not comma_used:
                nested.append(sub)
                j = sub.j
                continue
            if _is_definite(t) and not comma_used and t not in self.sw:
                j += 1
                continue
            break
        if j >= len(p) or (not p.joinable[j] and not comma_used):
            end = j
        else:
            end = self.name_from(j, after_title=True)
            bare_role = not _is_definite(p.toks[j - 1]) \
                and _bare(p.toks[j - 1], L["role"]) is not None
            if end > j and bare_role and p.toks[j] not in L["first"] \
                    and p.toks[j] not in L["ambiguous"] and not self.is_ali(j):
                end = j  # مدير قسم الهندسة: a role without ال needs its complement first
            if end > j and p.toks[j] not in L["first"] and not self.is_ali(j):
                # مدرب نجوم المنارة جمال المهيري، مدير مكتب الحملة بتركيا خالد السلامة:
                # an unknown word first and a given name soon after: the first was a complement
                start = end
                found = self._given_name_near(
                    range(start, min(start + 3, len(p))),
                    lambda k: k > start and not p.joinable[k])
                if found is not None:
                    j, end = found
        if end == j and j < len(p):
            # محافظ وادي السدر عادل الطحان: an unlisted place or body, then a known given name
            found = self._given_name_near(range(j + 1, min(j + 4, len(p))),
                                          lambda k: not p.joinable[k] or self.taken[k])
            if found is not None:
                j, end = found
        if end == j:
            if nested:
                return M(i, i, 0, "", "", "chain", nested=nested)
            return None
        return M(j, end, 0, "person", "", "title", head=i, nested=nested)

    def first_name(self, i: int) -> M | None:
        p = self.p
        t = p.toks[i]
        cut = 0
        if t not in self.L["first"] and not self.is_ali(i):
            if not (len(t) > 3 and t[0] == "و" and t[1:] in self.L["first"]):
                return None
            cut = 1  # وعبدالله حامد: a given name with the conjunction attached
        end = self.name_from(i, after_title=False, cut=cut)
        if end - i < 2:
            return None
        return M(i, end, cut, "person", "", "first-name", head=i)

    def listed(self, i: int, prev: M | None) -> M | None:
        """"…، X Y وZ W": a two-word name joined by و right after a person continues a list
        of people (the first word need not be a listed given name)."""
        p = self.p
        if prev is None or prev.kind != "person" or prev.j != i or i + 1 >= len(p):
            return None
        t = p.toks[i]
        if len(t) < 4 or t[0] != "و" or not p.joinable[i + 1] or self.taken[i + 1]:
            return None
        bare = t[1:]
        if bare in self.sw or _is_definite(bare) or not bare.isalpha() or _possessed(bare) \
                or bare in self.L["verbs"] or _verbal_noun_shape(bare) \
                or _bare(bare, self.L["titles"]) is not None or not self.plain(i + 1):
            return None
        if "," in p.gaps[i] or "\n" in p.gaps[i]:
            return None
        end = i + 2
        return M(i, end, 1, "person", "", "list", head=i)

    def apposition(self, i: int) -> M | None:
        """Two name tokens at i, i+1 followed by ", <title>"."""
        p, L = self.p, self.L
        k = i + 2
        # the cheap tests on the gaps first: most tokens fail them
        if k >= len(p) or not p.joinable[i + 1] or "\n" in p.gaps[k]:
            return None
        comma = "،" in p.gaps[k] or "," in p.gaps[k]
        if not comma and not p.joinable[k]:
            return None
        after_verb = i > 0 and p.joinable[i] and _bare(p.toks[i - 1], L["verbs"]) is not None
        if not comma and not after_verb:
            return None
        if _bare(p.toks[k], L["titles"]) is None:
            return None
        if not self.plain(i) or not self.plain(i + 1):
            return None
        if _is_definite(p.toks[i]) or _verbal_noun_shape(p.toks[i]):
            return None
        # the word before must end a clause or be a reporting verb, so the name starts at i
        if i > 0 and p.joinable[i]:
            prev = p.toks[i - 1]
            if not (_bare(prev, L["verbs"]) or prev in self.sw or prev in L["breaker"]):
                return None
        return M(i, i + 2, 0, "person", "", "apposition", head=i)

    # -- the pass ------------------------------------------------------------------------------

    def run(self) -> list[M]:
        p = self.p
        out: list[M] = []
        i = 0
        n = len(p)
        while i < n:
            m = (self.gazetteer(i) or self.titled(i) or self.outlet(i) or self.org(i)
                 or self.place(i) or self.first_name(i) or self.apposition(i)
                 or self.listed(i, out[-1] if out else None))
            if m is None:
                i += 1
                continue
            for sub in m.nested:
                out.append(sub)
            if m.kind:
                out.append(m)
            stop = max([m.j, *(s.j for s in m.nested)])
            for k in range(i, stop):
                self.taken[k] = True
            i = max(stop, i + 1)
        self._surnames(out)
        self._propagate(out)
        self._clubs(out)
        out.sort(key=lambda m: m.i)
        for m in out:
            if not m.canonical:
                s, e = p.tok_orig(m.i, m.j, m.cut)
                m.canonical = display(p.view.original[s:e])
        self._link_short_names(out)
        return out

    def _link_short_names(self, out: list[M]) -> None:
        """عبد الجليل after فارس عبد الجليل: a shorter name ending a longer one is that person."""
        p = self.p
        seen: list[tuple[tuple[str, ...], str]] = []
        for m in out:
            if m.kind != "person":
                continue
            toks = tuple(p.toks[m.i:m.j])
            for full, canonical in seen:
                if len(toks) < len(full) and full[-len(toks):] == toks:
                    m.canonical = canonical
                    break
            else:
                seen.append((toks, m.canonical))

    def _clubs(self, out: list[M]) -> None:
        """In an article about sport, a club's bare name (الهلال، النصر) is the club."""
        p, L = self.p, self.L
        context = sum(1 for t in p.toks if _bare(t, L["sports_context"]) is not None)
        if context < 3:
            return
        for k in range(len(p)):
            if self.taken[k]:
                continue
            for v, cut in variants(p.toks[k]):
                if v in L["sports_club"]:
                    nxt = p.toks[k + 1] if k + 1 < len(p) and p.joinable[k + 1] else ""
                    if nxt.startswith("ال") and not _is_nisba(nxt):
                        break  # الاتحاد الدولي، الخليج العربي: another name goes on
                    out.append(M(k, k + 1, cut, "organization", "", "club"))
                    self.taken[k] = True
                    break

    def _propagate(self, out: list[M]) -> None:
        """A place named after its cue word (إقليم لوغار) or a body named after its kind
        (نادي النصر، حزب العمال) is the same place or body when the name recurs alone."""
        p = self.p
        names: dict[tuple[str, ...], M] = {}
        for m in out:
            if m.rule == "place-trigger":
                names.setdefault(tuple(p.toks[m.i:m.j]), m)
            elif m.rule == "org-trigger" and m.j - m.i >= 2 \
                    and _bare(p.toks[m.i], self.L["name_trigger"]) is not None:
                toks = tuple(p.toks[m.i + 1:m.j])
                if len(toks) <= 3 and not any(t in self.sw for t in toks):
                    names.setdefault(toks, m)
        if not names:
            return
        firsts: dict[str, list[tuple[str, ...]]] = {}
        for toks in names:
            firsts.setdefault(toks[0], []).append(toks)
        for k in range(len(p)):
            if self.taken[k]:
                continue
            for v, cut in variants(p.toks[k]):
                hit = None
                for toks in firsts.get(v, ()):
                    n = len(toks)
                    if k + n <= len(p) and all(p.toks[k + x] == toks[x] and p.joinable[k + x]
                                               and not self.taken[k + x] for x in range(1, n)):
                        hit = toks
                        break
                if hit is None:
                    continue
                src = names[hit]
                n = len(hit)
                canonical = src.canonical or display(p.view.original[slice(
                    *p.tok_orig(src.i, src.j, src.cut))])
                out.append(M(k, k + n, cut, src.kind, canonical, "propagated"))
                for x in range(k, k + n):
                    self.taken[x] = True
                break

    def _cut(self, i: int, table: frozenset[str]) -> int:
        for v, cut in variants(self.p.toks[i]):
            if v in table:
                return cut
        return 0

    def _surnames(self, out: list[M]) -> None:
        """A person's last name on its own, later in the article, is that person again."""
        p = self.p
        persons = [m for m in out if m.kind == "person" and m.j - m.i >= 2]
        if not persons:
            return
        last: dict[str, M] = {}
        for m in persons:
            s = p.toks[m.j - 1]
            if len(s) >= 3 and s not in self.sw:
                last.setdefault(s, m)
                if s.startswith("ال"):
                    last.setdefault(s[2:], m)
        first_at = min(m.i for m in persons)
        for k in range(first_at, len(p)):
            if self.taken[k]:
                continue
            for v, cut in variants(p.toks[k]):
                src = last.get(v)
                if src is not None and src.i < k:
                    s, e = p.tok_orig(src.i, src.j, src.cut)
                    # الوزير السراج: a title right before the surname belongs to it
                    titles = self.L["titles"]
                    head = k - 1 if k > 0 and not cut and p.joinable[k] and \
                        _bare(p.toks[k - 1], titles) is not None else k
                    out.append(M(k, k + 1, cut, "person", display(p.view.original[s:e]),
                                 "surname", head=head))
                    self.taken[k] = True
                    break


def find(p: Prepared) -> list[M]:
    """All mentions of a prepared document, in token order (internal form)."""
    return _Finder(p).run()


def to_mention(p: Prepared, doc_id: str, m: M) -> Mention:
    s, e = p.tok_orig(m.i, m.j, m.cut)
    return Mention(doc_id, s, e, p.view.original[s:e], m.kind, m.canonical)


def mentions(view: TextView, doc: Document | None = None) -> list[Mention]:
    """People, places, organizations and agencies named in one document, in text order."""
    p = Prepared.of(view)
    doc_id = doc.id if doc is not None else view.id
    return [to_mention(p, doc_id, m) for m in find(p)]


def count_by_kind(items: Iterable[Mention]) -> dict[str, int]:
    out = dict.fromkeys(KINDS, 0)
    for m in items:
        out[m.kind] = out.get(m.kind, 0) + 1
    return out


__all__ = ["KINDS", "Entry", "Mention", "count_by_kind", "mentions"]
