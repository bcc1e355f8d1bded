"""The chat's Articles sidebar: uploads kept beside the index, ingested, reported and answered from.

The handlers that page the list and take uploads from the page are tests/ui/test_handlers.py.
"""

from __future__ import annotations

from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.store import open_store
from tests.ingest.documents import docx_bytes, pdf_bytes
from tests.rag.answer.test_cascade import answers_from, cascade
from tests.ui.markup import answer_text, cited_passage, visible_text
from ui.articles import ingest_uploads
from ui.handlers import respond


def test_uploads_are_kept_beside_the_index_ingested_and_replaced_by_name(settings, tmp_path):
    incoming = tmp_path / "gradio-temp"  # where Gradio puts an upload before the handler runs
    incoming.mkdir()
    (incoming / "brücke.md").write_text("# Neue Brücke in Linz\n\nDie Brücke ist 300 Meter lang.", encoding="utf-8")
    (incoming / "notizen.odt").write_bytes(b"PK\x03\x04")
    steps = []
    summary = ingest_uploads(
        [str(incoming / "brücke.md"), str(incoming / "notizen.odt")], settings, lambda *step: steps.append(step)
    )
    assert "Not an article file (takes .txt, .md, .html, .htm, .jsonl, .pdf, .docx): notizen.odt" in summary
    assert "Ingested 1 article(s)" in summary and steps == [(1, 1, "brücke.md")]
    kept = settings.index_dir / "uploads" / "brücke.md"
    assert kept.is_file() and not (settings.index_dir / "uploads" / "notizen.odt").exists()
    store = open_store(settings, get_embeddings(settings))
    [article] = list_articles(store)
    assert (article.title, article.source) == ("Neue Brücke in Linz", str(kept))
    # The same name again replaces the article instead of adding a second one.
    (incoming / "brücke.md").write_text("# Neue Brücke in Linz\n\nDie Brücke ist 320 Meter lang.", encoding="utf-8")
    ingest_uploads([str(incoming / "brücke.md")], settings)
    [article] = list_articles(store)
    assert "320 Meter" in " ".join(store.collection.get(include=["documents"])["documents"])
    assert "300 Meter" not in " ".join(store.collection.get(include=["documents"])["documents"])


def test_uploaded_pdf_and_docx_are_answered_and_cited_by_page_and_paragraph(settings, tmp_path):
    incoming = tmp_path / "gradio-temp"
    incoming.mkdir()
    page_one = ["Hochwasser in Tirol", "Der Inn trat am Montag in Kufstein und Wörgl über die Ufer, die Feuerwehr war"]
    page_two = ["mit 400 Einsatzkräften unterwegs. Rund 300 Keller liefen voll.", "Die Pegel sinken seit Dienstag."]
    (incoming / "hochwasser.pdf").write_bytes(pdf_bytes([page_one, page_two]))
    (incoming / "lawinen.docx").write_bytes(
        docx_bytes(
            [
                ("Title", "Lawinen in Vorarlberg"),
                ("Normal", "Im Montafon herrscht Lawinenwarnstufe vier."),
                ("Normal", "Am Wochenende gingen drei Lawinen ab, zwei Skifahrer wurden verschüttet."),
            ]
        )
    )
    (incoming / "scan.pdf").write_bytes(pdf_bytes([[]]))
    summary = ingest_uploads([str(incoming / n) for n in ("hochwasser.pdf", "lawinen.docx", "scan.pdf")], settings)
    # the CLI's report (ingest.report.report_lines), by file name: the server's folders stay private
    skipped, totals = summary.splitlines()
    assert skipped == "skipped scan.pdf: scanned PDF without text: none of its 1 page(s) has a text layer (needs OCR)"
    assert totals.startswith("Ingested 2 article(s) from 3 file(s)") and totals.endswith("1 file(s) skipped.")

    for question, reply, place, support in (
        ("Wie viele Keller liefen in Tirol voll?", "300 Keller", "pp. 1–2", "Rund 300 Keller liefen voll."),
        ("Wie viele Lawinen gingen im Montafon ab?", "drei Lawinen", "¶ 1–3", "Am Wochenende gingen drei Lawinen ab"),
    ):
        # the default reader: one evidence at a time, answered by the one that holds the reply
        answerer, _ = cascade(settings, answers_from(reply))
        *_, (message, [sources]) = respond(answerer, question)
        assert reply in answer_text(message)
        _, _, passage = cited_passage(message, sources.body)
        meta = passage.split('<div class="nq-meta">', 1)[1].split("</div>", 1)[0]
        assert place in visible_text(meta)
        marked = passage.split('<mark class="nq-support">', 1)[1].split("</mark>", 1)[0]
        assert support in visible_text(marked)
