"""HTML article extraction: newsqa's BeautifulSoup rules, trafilatura (+ htmldate), and both combined.

    .venv/bin/python bench/html_extraction.py

On the article pages in tests/ingest/loading/news_pages/ (navigation, teasers, comments, cookie
banners, ads, JSON-LD or meta dates, and hidden text carrying planted instructions), counts for each
extractor: article phrases kept (of those listed in expected.json), junk phrases let through, hidden
phrases let through, and whether the publication date was found. Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.loading import html  # noqa: E402

PAGES = ROOT / "tests" / "ingest" / "loading" / "news_pages"


def tag_rules_extract(data: bytes) -> tuple[str, str | None]:
    """What newsqa did before: the BeautifulSoup rules on the main element, meta-tag dates only."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data.decode("utf-8"), "html.parser")
    date = html._published_date(soup)
    root = html._main_container(soup)
    html._drop_invisible(soup)
    return html._block_text(root), date


def newsqa_extract(data: bytes) -> tuple[str, str | None]:
    article = html.parse(data, "/bench/page.html", "page")
    return article.text, article.date


def trafilatura_extract(data: bytes) -> tuple[str, str | None]:
    import trafilatura
    from htmldate import find_date

    text = trafilatura.extract(data.decode("utf-8"), include_comments=False, include_tables=True, favor_recall=True)
    return text or "", find_date(data.decode("utf-8"), extensive_search=True, original_date=True)


def score(extract, expected: dict) -> dict:
    totals = {"article": 0, "article_kept": 0, "junk": 0, "junk_kept": 0, "hidden_kept": 0, "dates": 0, "seconds": 0.0}
    per_page = {}
    for name, want in expected.items():
        data = (PAGES / name).read_bytes()
        start = time.perf_counter()
        text, date = extract(data)
        totals["seconds"] += time.perf_counter() - start
        kept = [p for p in want["article"] if p in text]
        junk = [p for p in want["junk"] if p in text]
        hidden = [p for p in want["hidden"] if p in text]
        date_ok = bool(date) and date.startswith(want["date"])
        totals["article"] += len(want["article"])
        totals["article_kept"] += len(kept)
        totals["junk"] += len(want["junk"])
        totals["junk_kept"] += len(junk)
        totals["hidden_kept"] += len(hidden)
        totals["dates"] += date_ok
        per_page[name] = {
            "missing": [p for p in want["article"] if p not in text],
            "junk": junk,
            "hidden": hidden,
            "date": date,
        }
    return {"totals": totals, "pages": per_page}


def main() -> None:
    expected = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
    results = {
        "tag rules (before)": score(tag_rules_extract, expected),
        "trafilatura + htmldate": score(trafilatura_extract, expected),
        "newsqa now (combined)": score(newsqa_extract, expected),
    }
    print(f"{len(expected)} pages")
    print(f"{'':26} {'article kept':>14} {'junk through':>14} {'hidden through':>16} {'date found':>11} {'ms/page':>8}")
    for name, result in results.items():
        t = result["totals"]
        print(
            f"{name:26} {t['article_kept']:>6}/{t['article']:<7} {t['junk_kept']:>6}/{t['junk']:<7} "
            f"{t['hidden_kept']:>16} {t['dates']:>5}/{len(expected):<5} {1000 * t['seconds'] / len(expected):>8.1f}"
        )
        for page, got in result["pages"].items():
            if got["missing"] or got["junk"] or got["hidden"]:
                print(f"    {page}: missing {got['missing']}, junk {got['junk']}, hidden {got['hidden']}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
