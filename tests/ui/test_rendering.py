"""The chat's HTML (ui.rendering) on its own: no server, no models, plain strings in and out.

Usage: ``pytest tests/ui/test_rendering.py``
"""

from __future__ import annotations

from rag.answer.quick import QuickAnswer
from rag.answer.results import Answer, Citation
from rag.retrieval.retrieving import Passage
from tests.ui.markup import answer_text, tags, visible_text
from ui.rendering import (
    EMPTY_SOURCES,
    Sources,
    answer_html,
    answer_sources,
    final_html,
    mark_numbers,
    message_html,
    plain_answer,
    quick_html,
    sources_panel,
)

TROOPS = Passage(
    text="Nordkorea hat Soldaten geschickt. Es sind 10.000 bis 12.000 Soldaten in Kursk.",
    source="/corpus/troops.txt",
    name="troops.txt",
    title="Soldaten in Russland",
    start=0,
    end=78,
    score=0.9,
)
LOSSES = Passage(
    text="Rund 4.000 Soldaten wurden getötet oder verletzt. Die Kämpfe dauern an.",
    source="/corpus/losses.txt",
    name="losses.txt",
    title="Verluste <b>hoch</b>",
    start=0,
    end=71,
    score=0.8,
)


def citation(n: int, passage: Passage) -> Citation:
    return Citation(
        n=n,
        source=passage.name,
        title=passage.title,
        text=passage.text,
        start=0,
        end=len(passage.text),
        path=passage.source,
        score=passage.score,
    )


def answer(text: str, cited: list[int], unsupported: list[str] = ()) -> Answer:
    passages = [TROOPS, LOSSES]
    return Answer(
        question="Wie viele <Soldaten>?",
        answer=text,
        refused=False,
        citations=[citation(n, passages[n - 1]) for n in cited],
        unsupported_numbers=list(unsupported),
        timings_ms={},
        language="de",
        passages=passages,
    )


def test_citations_become_links_to_this_turns_passages_and_the_rest_stays_text():
    shown = answer_html("a <b> [1, 2] and [x] [1]", "t9")
    links = [attrs["href"] for tag, attrs in tags(shown) if tag == "a"]
    assert links == ["#nq-t9-1", "#nq-t9-2", "#nq-t9-1"]
    assert [tag for tag, _ in tags(shown)] == ["a", "a", "a"]  # "<b>" is text, not a tag
    assert visible_text(shown) == "a <b> [1][2] and [x] [1]"


def test_unsupported_numbers_are_marked_whole_and_only_where_they_stand_alone():
    shown = mark_numbers("10.500 und 10, nicht 110 oder 12.000", ["10", "10.500", "2.000"])
    marked = [visible_text(part.split("</mark>")[0].split(">", 1)[1]) for part in shown.split("<mark")[1:]]
    assert marked == ["10.500", "10"]
    assert visible_text(shown) == "10.500 und 10, nicht 110 oder 12.000"
    assert mark_numbers("<i>", []) == "&lt;i&gt;"


def test_the_checked_answer_names_its_unsupported_numbers_and_reads_back_as_plain_text():
    shown = final_html(answer("Es sind 10.000 bis 99.000 Soldaten [1].", [1], ["99.000"]), "t1", searched="a <q>")
    assert answer_text(shown) == "Es sind 10.000 bis 99.000 Soldaten [1]."
    warning = shown.split('<div class="nq-warning">', 1)[1].split("</div>", 1)[0]
    assert "99.000" in warning and "10.000" not in warning
    assert "Searched for: a <q>" in visible_text(shown)
    # What the chat hands back as history is the answer alone, without warning or search line.
    assert plain_answer(shown) == "Es sind 10.000 bis 99.000 Soldaten [1]."


def test_the_quick_answer_links_its_passage_and_steps_back_once_the_answer_is_there():
    quick = QuickAnswer(
        text="Es sind 10.000 bis 12.000 Soldaten in Kursk.",
        passage=1,
        start=34,
        end=78,
        source="troops.txt",
        title="Soldaten in Russland. Und mehr",
        path="/corpus/troops.txt",
        score=0.9,
    )
    early, late = quick_html(quick, "t1"), quick_html(quick, "t1", done=True)
    assert tags(early)[0][1]["class"] == "nq-quick" and tags(late)[0][1]["class"] == "nq-quick nq-done"
    assert [a["href"] for t, a in tags(early) if t == "a"] == ["#nq-t1-1"]
    assert "“Soldaten in Russland.”" in visible_text(early)  # the title's first sentence only
    assert answer_text(message_html("", quick=early)) == ""  # the quick answer is not the answer


def test_sources_show_cited_passages_and_the_quick_answers_own_passage_marked():
    quick = QuickAnswer(
        text="Die Kämpfe dauern an.",
        passage=2,
        start=50,
        end=71,
        source="losses.txt",
        title=LOSSES.title,
        path=LOSSES.source,
        score=0.5,
    )
    sources = answer_sources(answer("10.000 bis 12.000 [1]", [1]), "t1", quick)
    ids = [attrs["id"] for tag, attrs in tags(sources.body) if tag == "article"]
    assert ids == ["nq-t1-1", "nq-t1-2"]
    first, second = sources.body.split("</article>")[:2]
    assert "12.000" in visible_text(first.split('<mark class="nq-support">', 1)[1].split("</mark>")[0])
    assert visible_text(second.split('<mark class="nq-support">', 1)[1].split("</mark>")[0]) == "Die Kämpfe dauern an."
    assert "(quick answer)" in visible_text(second) and "Verluste <b>hoch</b>" in visible_text(second)
    assert "No passage cited." in visible_text(answer_sources(answer("Nichts.", []), "t2").body)


def test_the_panel_opens_the_newest_answer_and_folds_the_older_ones():
    assert sources_panel([]) == EMPTY_SOURCES
    panel = sources_panel([Sources("t2", "second <q>", "<p>b</p>"), Sources("t1", "first", "<p>a</p>")])
    details = [attrs for tag, attrs in tags(panel) if tag == "details"]
    assert [("open" in d) for d in details] == [True, False]
    assert visible_text(panel) == "second <q>bfirsta"
