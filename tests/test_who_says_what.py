"""Who says what: the errors careful readers found, rewritten in made-up text.

Every sentence here was written for these tests (no article text): each one
stands for a kind of error listed in issue 13, and each assertion fails on the
extractor that made that error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from khabar.document import Document
from khabar.explain.attribution import analyze, attributions
from khabar.explain.export import records, write_who_says_what
from khabar.explain.speakers import speaker_key, who_says_what
from khabar.explain.summary import summarize
from khabar.text.view import prepare


def run(text: str, source: str | None = None):
    doc = Document(id="x", text=text, source=source)
    atts = attributions(prepare([doc])[0], doc)
    return [a for a in atts if a.kind != "credit"], [a for a in atts if a.kind == "credit"], doc


def said(atts, doc, fragment: str):
    """The statement whose content holds `fragment`."""
    hits = [a for a in atts if a.quote_start is not None
            and fragment in doc.text[a.quote_start:a.quote_end]]
    assert hits, (fragment, [(a.cue, a.speaker, a.quote) for a in atts])
    return hits[0]


# -- verbs, nouns and adverbs ---------------------------------------------------------------------


def test_an_adverb_after_the_verb_is_not_the_speaker():
    text = ("استقبل المدرب سامي العتيبي لاعبيه في النادي. "
            "وقال باكيا إن الفريق قدم موسما لا ينسى.")
    atts, _, doc = run(text)
    a = said(atts, doc, "الفريق قدم موسما")
    assert a.speaker == "سامي العتيبي"


def test_a_time_adverb_is_not_the_speaker():
    text = ("قال الطبيب نادر الحربي إن الحالة مستقرة، مؤكدا أنه شعر بتحسن وتوقع حينها "
            "أن يغادر قريبا.")
    atts, _, doc = run(text)
    assert all(a.speaker != "حينها" for a in atts)
    # what he expected is part of what he said, not a second statement by nobody
    assert said(atts, doc, "شعر بتحسن").speaker == "نادر الحربي"


@pytest.mark.parametrize("text", [
    "وتنتظر الإدارة رد من طالب الخدمة قبل نهاية الأسبوع.",   # a noun: the applicant
    "ويؤكد تفوقه في كل مباراة يلعبها مع فريقه.",             # shows, not says
    "كشف سر علاجها بعد سنوات من البحث في المختبر.",          # revealed a secret, not speech
    "فهو وطن لا نفي حقه مهما قدمنا له من جهد.",              # a verb of another root
])
def test_a_word_of_another_sense_is_not_a_report(text):
    atts, _, _ = run(text)
    assert atts == []


def test_a_reporting_verb_with_its_own_complement_is_a_report():
    atts, _, doc = run("كشفت وزارة الإسكان عن خطة لبناء ألف وحدة سكنية.")
    assert said(atts, doc, "خطة لبناء").speaker == "وزارة الإسكان"


# -- pronouns and titles --------------------------------------------------------------------------


def test_an_honorific_pronoun_goes_to_the_prince_named_before():
    text = ("افتتح صاحب السمو الأمير خالد بن فهد، أمس، المعرض الدولي. "
            "وقال سموه إن المعرض يعكس تطور الصناعة الوطنية.")
    atts, _, doc = run(text)
    assert said(atts, doc, "المعرض يعكس").speaker == "خالد بن فهد"


def test_a_title_chain_ends_at_the_name_and_the_title_refers_back():
    text = ("أكد سماحة مفتي عام المنطقة رئيس مجلس العلماء الشيخ صالح بن عمر آل ناصر أهمية "
            "الحوار مع الشباب. وشدد المفتي على ضرورة فتح الأبواب أمامهم.")
    atts, _, doc = run(text)
    assert said(atts, doc, "أهمية الحوار").speaker == "صالح بن عمر آل ناصر"
    assert said(atts, doc, "ضرورة فتح").speaker == "صالح بن عمر آل ناصر"


def test_an_implicit_subject_is_the_clause_subject_not_the_last_name():
    # the coach is the subject; the chairman is only named among those he thanks
    text = ("تعرض المدرب فواز الخطيب لإصابة مفاجئة. وفضل الخطيب السفر للعلاج، مقدما شكره "
            "لرئيس النادي مشعل الغامدي وأعضاء الإدارة، وقال: هذه الأزمة عرفتني محبة الجماهير.")
    atts, _, doc = run(text)
    assert said(atts, doc, "هذه الأزمة").speaker == "فواز الخطيب"


def test_an_implicit_subject_agrees_in_gender():
    text = ("قالت الوزيرة ليلى منصور إن الموازنة أقرت بعد نقاش طويل مع النائب سعد الزهراني. "
            "وأضافت أن الإنفاق على التعليم سيرتفع.")
    atts, _, doc = run(text)
    assert said(atts, doc, "الإنفاق على التعليم").speaker == "ليلى منصور"


def test_an_unnamed_official_and_then_he():
    text = "وأكد مسؤول عسكري في العاصمة وقوع الضربة وقال إن لجنة تحقق في الحادث."
    atts, _, doc = run(text)
    assert said(atts, doc, "لجنة تحقق").speaker.startswith("مسؤول عسكري")
    assert said(atts, doc, "وقوع الضربة").speaker.startswith("مسؤول عسكري")


def test_a_speaker_named_before_كان():
    text = ("وكان دبلوماسي غربي كبير قال على تويتر إن بلاده تدين الهجوم وأضاف أنه "
            "لا صلة بين الضربات والاتفاق الأخير.")
    atts, _, doc = run(text)
    assert said(atts, doc, "بلاده تدين").speaker == "دبلوماسي غربي كبير"
    assert said(atts, doc, "لا صلة").speaker == "دبلوماسي غربي كبير"


def test_nobody_to_attribute_to_means_no_attribution():
    atts, _, _ = run("وقال لها: ما يحدث هنا ليس من شأنك أبدا.")
    assert all(a.speaker for a in atts)


# -- spans ----------------------------------------------------------------------------------------


def test_a_quote_after_titles_and_a_place_is_the_quotation_not_the_titles():
    text = ("وذكر جورج ماكلين نائب المبعوث الخاص للتحالف على تويتر “لا توجد صلة بين "
            "الغارات الأخيرة والتفاهمات الجديدة”.")
    atts, _, doc = run(text)
    a = said(atts, doc, "لا توجد صلة")
    assert a.speaker == "جورج ماكلين"
    assert not doc.text[a.quote_start:a.quote_end].startswith("نائب")


def test_a_statement_ends_where_the_next_one_begins():
    text = ("ولفت الخبير ماجد الشهري إلى أن الضحية هو المستخدم، محذرا من تداول الإعلانات، "
            "كما أكد أن الشركات الوهمية لا تزال تعلن.")
    atts, _, doc = run(text)
    warned = said(atts, doc, "تداول الإعلانات")
    assert "الشركات الوهمية" not in doc.text[warned.quote_start:warned.quote_end]
    assert said(atts, doc, "الشركات الوهمية").cue == "أكد"


def test_unbalanced_quote_marks_do_not_swallow_the_next_sentence():
    text = ('وقال المتحدث هشام النعيمي: "الطريق سيفتح غدا أمام السيارات.\n'
            'وفي سياق آخر، أعلنت البلدية عن مشروع جديد للحدائق.')
    atts, _, doc = run(text)
    a = said(atts, doc, "الطريق سيفتح")
    assert "البلدية" not in doc.text[a.quote_start:a.quote_end]


def test_two_domains_make_one_ministry():
    doc = Document(id="x", text="أعلنت وزارة التجارة والصناعة عن حملة تفتيش جديدة.")
    _, ms = analyze(prepare([doc])[0], doc)
    assert "وزارة التجارة والصناعة" in {m.text for m in ms if m.kind == "organization"}


def test_names_joined_by_و_in_a_list_are_each_a_person():
    doc = Document(id="x", text="وضمت البعثة اللاعبين سامي الجابر ووليد القحطاني وعازم الدوسري "
                                "من الفريق الأول.")
    _, ms = analyze(prepare([doc])[0], doc)
    names = {m.text for m in ms if m.kind == "person"}
    assert {"سامي الجابر", "وليد القحطاني", "عازم الدوسري"} <= names


# -- credits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "ارتفع سعر الذهب إلى 1200 دولار (الأونصة).",
    "يشارك الفريق هذا الموسم في ثلاث بطولات (الدوري والكأس وكأس الرابطة).",
    "زار الوفد مقر قناة الريادة الإخبارية في دبي واطلع على استوديوهاتها.",     # a place visited
    "أقيم الحفل برعاية صحيفة النهار الجديد وحضره عدد من المسؤولين.",           # a sponsor
])
def test_what_is_not_a_credit(text):
    _, credits, _ = run(text, source="okaz")
    assert credits == []


@pytest.mark.parametrize(("text", "agency"), [
    ("نشرت وكالة رويترز تقريرا عن الأزمة.", "وكالة رويترز"),
    ("وقال مصدر مطلع في تصريحات لصحيفة النهار الجديد إن القرار نهائي.", None),
    ("جدة (واس) - افتتح المعرض اليوم.", "وكالة الأنباء السعودية"),
])
def test_credits_in_credit_positions(text, agency):
    _, credits, _ = run(text, source="okaz")
    assert credits
    if agency is not None:
        assert credits[0].speaker == agency


# -- the files the scorer reads -------------------------------------------------------------------


def test_the_three_files_are_what_the_scorer_reads(tmp_path):
    text = "الرياض (واس) - قال وزير الصحة حسن العلي إن الحملة ستبدأ غدا في مدينة جدة."
    doc = Document(id="d1", text=text, source="okaz")
    atts, ms = analyze(prepare([doc])[0], doc)
    counts = write_who_says_what(tmp_path, atts, ms)
    assert counts == {k: len(v) for k, v in
                      {k.split(".")[0]: v for k, v in records(atts, ms).items()}.items()}
    rows = [json.loads(x) for x in (tmp_path / "attributions.jsonl").read_text().splitlines()]
    assert rows[0]["kind"] == "reported" and rows[0]["speaker"] == "حسن العلي"
    s, e = rows[0]["content"]
    assert text[s:e].startswith("الحملة ستبدأ")
    assert text[slice(*rows[0]["cue"])] == "قال"
    assert text[slice(*rows[0]["speaker_span"])].endswith("حسن العلي")
    credit = json.loads((tmp_path / "credits.jsonl").read_text().splitlines()[0])
    assert text[slice(*credit["span"])] == "واس"
    mentions = [json.loads(x) for x in (tmp_path / "mentions.jsonl").read_text().splitlines()]
    assert {"type": "place", "text": "جدة"} in [{"type": m["type"], "text": m["text"]}
                                                for m in mentions]
    assert all(m["type"] in ("person", "place", "organization") for m in mentions)


# -- who says what across stories -----------------------------------------------------------------


def test_name_variants_of_one_speaker_join_one_entry():
    texts = {
        "a": "قال وزير الصحة توفيق الربيعة إن اللقاحات متوفرة في كل المراكز.",
        "b": "وأكد الدكتور توفيق الربيعة أن المستشفيات جاهزة لموسم الحج.",
        "c": "قالت وزارة الصحة إن عدد الإصابات انخفض هذا الأسبوع.",
    }
    docs = [Document(id=k, text=v) for k, v in texts.items()]
    atts = [a for v, d in zip(prepare(docs), docs, strict=True) for a in attributions(v, d)]
    # a third article names him by his family name alone
    third = Document(id="d", text="قال الوزير سعيد الربيعة إن الطرق مفتوحة. "
                                  "وأضاف الربيعة أن الصيانة مستمرة.")
    atts += attributions(prepare([third])[0], third)
    texts["d"] = third.text
    story_of = {"a": "s1", "b": "s2", "c": "s1", "d": "s3"}
    dates = {k: datetime(2015, 7, 20 + i, tzinfo=UTC) for i, k in enumerate("abcd")}
    entries = {e.key: e for e in who_says_what(atts, texts, story_of, dates)}
    rabiah = entries[speaker_key("توفيق الربيعة")]
    assert {s.doc for s in rabiah.statements} == {"a", "b"}
    assert [sid for sid, _ in rabiah.by_story()] == ["s1", "s2"]   # grouped by story, in time
    # a different person of the same family keeps his own entry
    assert speaker_key("سعيد الربيعة") in entries
    assert "وزارة الصحة" in entries and len(entries["وزارة الصحة"].statements) == 1


def test_a_family_name_alone_joins_the_one_full_name():
    texts = {"a": "قال المهندس ناصر القحطاني إن المشروع اكتمل.",
             "b": "وقال القحطاني إن الافتتاح سيكون الشهر المقبل."}
    docs = [Document(id=k, text=v) for k, v in texts.items()]
    atts = [a for v, d in zip(prepare(docs), docs, strict=True) for a in attributions(v, d)]
    entries = who_says_what(atts, texts)
    assert len(entries) == 1 and len(entries[0].statements) == 2
    assert entries[0].name == "ناصر القحطاني"


# -- the exclusive mark -------------------------------------------------------------------------


def test_a_paraphrase_by_another_outlet_is_not_exclusive():
    a = Document(id="a", source="one", text=(
        "أعلنت البلدية افتتاح جسر الملك فهد الجديد أمام حركة السير صباح اليوم.\n"
        "وبلغت تكلفة المشروع 300 مليون ريال."))
    b = Document(id="b", source="two", text=(
        "بتكلفة 300 مليون ريال، صار جسر الملك فهد الجديد مفتوحا للسيارات منذ الصباح.\n"
        "وكانت البلدية قد أعلنت الافتتاح عبر حسابها."))
    summary = summarize(prepare([a, b]), [a, b])
    for s in summary:
        if "تكلفة المشروع" in s.text:
            assert not s.exclusive, s


def test_a_link_footer_never_enters_a_summary():
    a = Document(id="a", source="one", text=(
        "افتتحت الوزارة مستشفى جديدا في المدينة بسعة مئتي سرير.\n"
        "رابط الخبر بصحيفة الأولى: افتتاح مستشفى جديد في المدينة بسعة مئتي سرير"))
    b = Document(id="b", source="two", text="افتتحت الوزارة مستشفى جديدا في المدينة.")
    summary = summarize(prepare([a, b]), [a, b])
    assert summary and not any("رابط الخبر" in s.text for s in summary)


def test_one_fact_never_twice_in_a_summary():
    a = Document(id="a", source="one", text=(
        "قتل خمسة أشخاص في حادث سير على طريق الساحل مساء الأحد.\n"
        "وأوضحت الشرطة أن الحادث وقع بسبب السرعة الزائدة."))
    b = Document(id="b", source="two", text=(
        "لقي خمسة أشخاص حتفهم مساء الأحد في حادث على طريق الساحل.\n"
        "وقد تسببت السرعة في اصطدام مركبتين."))
    summary = summarize(prepare([a, b]), [a, b])
    deaths = [s for s in summary if "خمسة" in s.text]
    assert len(deaths) == 1
