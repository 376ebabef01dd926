"""Hand-built report data: a small fictional story set that exercises every part of a page.

Used by the tests and handy for working on the look of the report without
running the pipeline (``python -m khabar.report.sample OUT_DIR``). The records
are built with the attribute names agreed with the stages (stories, reuse
passages, novelty, summary, attributions, mentions) and go through
`assemble_story`, the same path as real data.

One article is hostile on purpose: its text, title, outlet, id and URL carry
``<script>``, an ``<img onerror>``, ``</textarea>``, a ``javascript:`` URL and
attribute-breaking quotes. The report must show all of it as text. Its
scripts would set ``window.__pwned`` and change ``document.title``; the
browser test checks that neither happened.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from khabar.document import Document
from khabar.repair import Repair, RepairAction
from khabar.report.model import ReportData, assemble_story
from khabar.text.offsets import OffsetMap
from khabar.text.sentences import split_sentences

HOSTILE_ID = 'blog/تدوينة 1 "<x>"'
HOSTILE_SCRIPT = '<script>window.__pwned = 1; document.title = "pwned";</script>'
HOSTILE_TEXT = (
    "قطار تل الريحان: ما لم تقله الوزارة\n"
    f"قال مدون إن الحادث كان متوقعاً {HOSTILE_SCRIPT} منذ أشهر.\n"
    'وأضاف: «الصيانة شكلية» <img src="x" onerror="window.__pwned = 2"> '
    "</textarea><b>غامق</b> <a href=\"javascript:window.__pwned=3\">رابط</a>.\n"
    "وخرج قطار الركاب رقم 214 عن مساره قرب بلدة تل الريحان مساء الإثنين."
)

_A_TEXT = (
    "خرج قطار الركاب رقم 214 عن مساره قرب بلدة تل الريحان مساء اليوم الإثنين، ما أدى إلى "
    "إصابة عدد من الركاب.\n"
    "وقال وزير النقل نبيل السراج إن «فرق الطوارئ وصلت إلى الموقع خلال دقائق وبدأت إخلاء "
    "المصابين».\n"
    "وأفادت مصادر في الدفاع المدني بأن القطار كان يقل نحو 300 راكب. (واحة)"
)
_B_TEXT = (
    "ارتفعت حصيلة حادث قطار تل الريحان إلى أربعة قتلى و37 جريحاً، بحسب وزارة الصحة.\n"
    "وقال وزير النقل نبيل السراج إن «فرق الطوارئ وصلت الموقع خلال دقائق وباشرت إخلاء "
    "المصابين».\n"
    "وَأَكَّدَ رئيس نقابة عمال السكك الحديدية فارس عبد الجليل أن العربات تجاوز عمرها أربعين "
    "سنة."
)
_C_TEXT = (
    "Four people were killed when passenger train No. 214 derailed near Tal al-Rayhan on "
    "Monday evening, the Health Ministry said.\n"
    "Transport Minister Nabil al-Sarraj said emergency teams reached the site within minutes "
    "(واحة)."
)
_F1_TEXT = (
    "لقي شخصان حتفهما إثر سيول جارفة اجتاحت بلدة الغدير في محافظة وادي السدر.\n"
    "وأفاد الدفاع المدني بأن 120 أسرة أُجليت من منازلها."
)
_F2_TEXT = (
    "لقي شخصان حتفهما إثر سيول جارفة اجتاحت بلدة الغدير في وادي السدر.\n"
    "وعُثر على راعٍ مفقود حياً صباح اليوم التالي 🙏🏽."
)
_S_TEXT = "ثبّت البنك المركزي سعر الفائدة الرئيسي عند 5.25% للمرة الثالثة على التوالي."


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def _span(text: str, piece: str, start: int = 0) -> tuple[int, int]:
    i = text.index(piece, start)
    return i, i + len(piece)


def _sentences(doc: str, text: str, repeated: dict[str, tuple[str, str, str, str]] | None = None
               ) -> list[SimpleNamespace]:
    """Novelty records: every sentence new except those starting with a key of `repeated`
    (-> first doc, its text, the piece seen first, evidence)."""
    out = []
    for i, (s, e) in enumerate(split_sentences(text)):
        key = next((k for k in repeated or {} if text.startswith(k, s)), None)
        rec: dict[str, Any] = dict(doc=doc, index=i, start=s, end=e, status="new",
                                   first_doc=None, first_start=None, first_end=None,
                                   evidence=None, similarity=None)
        if repeated and key is not None:
            first_doc, first_text, piece, evidence = repeated[key]
            fs, fe = _span(first_text, piece)
            rec.update(status="repeated", first_doc=first_doc, first_start=fs, first_end=fe,
                       evidence=evidence, similarity=0.93 if evidence == "reuse" else 0.81)
        out.append(SimpleNamespace(**rec))
    return out


def _attribution(doc: str, text: str, kind: str, cue: str, speaker: str | None,
                 quote: str | None) -> SimpleNamespace:
    cs, ce = _span(text, cue)
    # an agency credit names the agency by its abbreviation: no speaker span then
    ss, se = _span(text, speaker) if speaker and speaker in text else (None, None)
    qs, qe = _span(text, quote) if quote else (None, None)
    ends = [x for x in (ce, se, qe) if x is not None]
    return SimpleNamespace(doc=doc, kind=kind, cue=cue, start=cs, end=max(ends), speaker=speaker,
                           speaker_start=ss, speaker_end=se, quote=quote, quote_start=qs,
                           quote_end=qe)


def _mention(doc: str, text: str, piece: str, kind: str, canonical: str | None = None
             ) -> SimpleNamespace:
    s, e = _span(text, piece)
    return SimpleNamespace(doc=doc, start=s, end=e, text=piece, kind=kind,
                           canonical=canonical or piece)


def _doc(doc_id: str, text: str, source: str, date: datetime | None, *, title: str | None = None,
         url: str | None = None, actions: Sequence[RepairAction] = (),
         probable_title: str | None = None) -> tuple[Document, Repair]:
    doc = Document(id=doc_id, text=text, title=title, source=source, date=date, url=url)
    return doc, Repair(text, OffsetMap.identity(len(text)), list(actions), probable_title)


def sample_report() -> ReportData:
    """Three stories (one with an English and a hostile article), built by hand."""
    quote_a = "فرق الطوارئ وصلت إلى الموقع خلال دقائق وبدأت إخلاء المصابين"
    quote_b = "فرق الطوارئ وصلت الموقع خلال دقائق وباشرت إخلاء المصابين"
    hostile_quote = "الصيانة شكلية"
    documents = dict([
        ("waha/2025/03/10/train", _doc(
            "waha/2025/03/10/train", _A_TEXT, "وكالة أنباء الواحة", _at(10, 17, 5),
            title="خروج قطار ركاب عن مساره قرب تل الريحان",
            url="https://www.waha-news.example/ar/2025/03/10/train")),
        ("sawt-04", _doc(
            "sawt-04", _B_TEXT, "صوت المدينة", _at(11, 8, 30),
            title="ارتفاع حصيلة حادث القطار إلى أربعة قتلى",
            url="https://sawt.example/news?id=4&lang=ar")),
        ("observer-01.txt", _doc(
            "observer-01.txt", _C_TEXT, "The Observer", _at(11, 12, 0),
            title="Four dead as train derails near Tal al-Rayhan",
            url="https://observer.example/world/train-derails")),
        (HOSTILE_ID, _doc(
            HOSTILE_ID, HOSTILE_TEXT, 'مدونة "<b>حرة</b>"', _at(11, 20, 45),
            title=f"عنوان خبيث {HOSTILE_SCRIPT}", url="javascript:window.__pwned=4",
            actions=[RepairAction("headline", 0, HOSTILE_TEXT.index("\n"),
                                  detail="<script>window.__pwned=5</script>")],
            probable_title="قطار تل الريحان: ما لم تقله الوزارة")),
        ("alwaha-01.txt", _doc(
            "alwaha-01.txt", _F1_TEXT, "وكالة أنباء الواحة", _at(9, 15, 10),
            title="سيول جارفة تجتاح بلدة الغدير")),
        ("sawt-01.txt", _doc(
            "sawt-01.txt", _F2_TEXT, "صوت المدينة", _at(10, 6, 0),
            actions=[RepairAction("whitespace", 0, 0)])),
        ("annakheel-02.txt", _doc(
            "annakheel-02.txt", _S_TEXT, "النخيل", None)),
    ])
    a, b, c, h = "waha/2025/03/10/train", "sawt-04", "observer-01.txt", HOSTILE_ID
    train = SimpleNamespace(
        story="قصة/قطار تل الريحان 1", title="خروج قطار ركاب عن مساره قرب تل الريحان",
        first_seen=_at(10, 17, 5), last_seen=_at(11, 20, 45), members=[a, b, c, h],
        sources=["وكالة أنباء الواحة", "صوت المدينة", "The Observer", 'مدونة "<b>حرة</b>"'],
        confidence={a: 1.0, b: 0.92, c: 0.74, h: 0.61},
    )
    flood = SimpleNamespace(
        story="ghadir-flood", title="سيول جارفة تجتاح بلدة الغدير", first_seen=_at(9, 15, 10),
        last_seen=_at(10, 6), members=["alwaha-01.txt", "sawt-01.txt"],
        sources=["وكالة أنباء الواحة", "صوت المدينة"], confidence=[1.0, 0.88],
    )
    rate = SimpleNamespace(story="rate hold", title="", first_seen=None, last_seen=None,
                           members=["annakheel-02.txt"], sources=["النخيل"])

    a_sent = split_sentences(_A_TEXT)
    novelty = [
        *_sentences(a, _A_TEXT),
        *_sentences(b, _B_TEXT, {"وقال": (a, _A_TEXT, _A_TEXT[a_sent[1][0]:a_sent[1][1]],
                                         "reuse")}),
        *_sentences(c, _C_TEXT, {"Transport": (a, _A_TEXT, quote_a, "paraphrase")}),
        *_sentences(h, HOSTILE_TEXT, {"وخرج": (a, _A_TEXT, "خرج قطار الركاب رقم 214",
                                               "paraphrase")}),
        *_sentences("alwaha-01.txt", _F1_TEXT),
        *_sentences("sawt-01.txt", _F2_TEXT, {"لقي": ("alwaha-01.txt", _F1_TEXT,
                                                     "لقي شخصان حتفهما", "paraphrase")}),
    ]
    b_sent = split_sentences(_B_TEXT)
    h_line = _span(HOSTILE_TEXT, HOSTILE_TEXT.split("\n")[1])
    summary = [
        SimpleNamespace(doc=a, start=a_sent[0][0], end=a_sent[0][1],
                        text=_A_TEXT[a_sent[0][0]:a_sent[0][1]], carriers=[a, c, h],
                        outlets=["وكالة أنباء الواحة", "The Observer", 'مدونة "<b>حرة</b>"'],
                        exclusive=False),
        SimpleNamespace(doc=b, start=b_sent[0][0], end=b_sent[0][1],
                        text=_B_TEXT[b_sent[0][0]:b_sent[0][1]], carriers=[b, c],
                        outlets=["صوت المدينة", "The Observer"], exclusive=False),
        SimpleNamespace(doc=b, start=b_sent[2][0], end=b_sent[2][1],
                        text=_B_TEXT[b_sent[2][0]:b_sent[2][1]], carriers=[b],
                        outlets=["صوت المدينة"], exclusive=True),
        SimpleNamespace(doc=h, start=h_line[0], end=h_line[1],
                        text=HOSTILE_TEXT[h_line[0]:h_line[1]], carriers=[h],
                        outlets=['مدونة "<b>حرة</b>"'], exclusive=True),
    ]
    attributions = [
        _attribution(a, _A_TEXT, "quote", "وقال", "وزير النقل نبيل السراج", quote_a),
        _attribution(a, _A_TEXT, "report", "وأفادت", "مصادر في الدفاع المدني",
                     "القطار كان يقل نحو 300 راكب"),
        _attribution(a, _A_TEXT, "credit", "(واحة)", "وكالة أنباء الواحة", None),
        _attribution(b, _B_TEXT, "quote", "وقال", "وزير النقل نبيل السراج", quote_b),
        _attribution(b, _B_TEXT, "report", "وَأَكَّدَ", "رئيس نقابة عمال السكك الحديدية فارس "
                     "عبد الجليل", "العربات تجاوز عمرها أربعين سنة"),
        _attribution(c, _C_TEXT, "credit", "(واحة)", "وكالة أنباء الواحة", None),
        _attribution(h, HOSTILE_TEXT, "quote", "وأضاف", None, hostile_quote),
        _attribution(h, HOSTILE_TEXT, "report", "قال", "مدون",
                     f"الحادث كان متوقعاً {HOSTILE_SCRIPT} منذ أشهر"),
    ]
    mentions = [
        _mention(a, _A_TEXT, "نبيل السراج", "person"),
        _mention(b, _B_TEXT, "نبيل السراج", "person"),
        _mention(c, _C_TEXT, "Nabil al-Sarraj", "person", "نبيل السراج"),
        _mention(b, _B_TEXT, "فارس عبد الجليل", "person"),
        _mention(a, _A_TEXT, "تل الريحان", "place"),
        _mention(b, _B_TEXT, "تل الريحان", "place"),
        _mention(c, _C_TEXT, "Tal al-Rayhan", "place", "تل الريحان"),
        _mention(a, _A_TEXT, "الدفاع المدني", "organization"),
        _mention(b, _B_TEXT, "وزارة الصحة", "organization"),
        _mention(a, _A_TEXT, "(واحة)", "agency", "وكالة أنباء الواحة"),
        _mention(h, HOSTILE_TEXT, "<b>غامق</b>", "organization", "<b>غامق</b>"),
    ]
    qa, qb = a_sent[1], b_sent[1]
    passages = [
        SimpleNamespace(a=a, a_start=qa[0], a_end=qa[1], b=b, b_start=qb[0], b_end=qb[1],
                        score=0.91, source=a, rule="date", boilerplate=False),
        SimpleNamespace(a=h, a_start=_span(HOSTILE_TEXT, "وخرج قطار")[0],
                        a_end=len(HOSTILE_TEXT), b=a, b_start=0, b_end=a_sent[0][1] - 28,
                        score=0.72, source=None, rule=None, boilerplate=False),
        SimpleNamespace(a="alwaha-01.txt", a_start=0, a_end=_F1_TEXT.index("\n"),
                        b="sawt-01.txt", b_start=0, b_end=_F2_TEXT.index("\n"), score=0.88,
                        source="alwaha-01.txt", rule="date", boilerplate=False),
        SimpleNamespace(a=b, a_start=0, a_end=5, b="sawt-01.txt", b_start=0, b_end=5,
                        score=1.0, source=None, rule=None, boilerplate=True),
    ]
    stories = [train, flood, rate]
    doc_story = {m: s.story for s in stories for m in s.members}
    pages = [
        assemble_story(s, documents, passages=passages, novelty=novelty,
                       summary=summary if s is train else (), attributions=attributions,
                       mentions=mentions, doc_story=doc_story)
        for s in stories
    ]
    return ReportData(stories=pages, documents=len(documents))


if __name__ == "__main__":
    from khabar.report import write_report

    print(write_report(sample_report(), Path(sys.argv[1] if len(sys.argv) > 1 else "report")))
