"""The keyword index on PostgreSQL: a ``tsvector`` per passage in its language's text-search configuration.

Usage::

    keywords = PgKeywordIndex(Database.open(records))                       # records on postgresql+psycopg://
    words = keywords.query_terms("Wie viele Soldaten?", "de")               # ['soldat', 'viel']: PostgreSQL's lexemes
    keywords.search(words, k=20, sources={"/corpus/a.txt"})                 # [(id, bm25 score), ...]
    keywords.frequencies(words); keywords.stats(); keywords.terms_of(["id1", "id2"])

The same interface as :class:`rag.store.keywords.KeywordIndex` (SQLite FTS5), so retrieval does not
know which one it reads. What differs is who makes the terms: here PostgreSQL does, with the
``german``, ``english``, ``french``, ``spanish`` or ``italian`` configuration of the language a passage
is written in (``simple`` for others: lower case, no stemming), and a question gets its terms from
the configuration of its own language (:meth:`PgKeywordIndex.query_terms`). A GIN index finds the
passages holding any of a question's terms; they are ranked by BM25 (k1=1.2, b=0.75, FTS5's idf), the
ranking the SQLite index has, computed in SQL from the ``tsvector``'s positions, a per-term passage
count and the totals, all kept with every write like SQLite's. Written with every write to the
collection, in the transaction of :class:`rag.store.tables.SearchTables`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rag.store.database import PgConnection
from rag.store.keywords import KeywordTables, Row
from rag.text.language import detect_language

#: PostgreSQL's text-search configuration for each language rag.text.language recognises.
CONFIGS = {"de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian"}
#: For text in a language without one of those: words lower-cased, not stemmed.
OTHER = "simple"
K1, B = 1.2, 0.75  # BM25's constants, as the SQLite index (FTS5's bm25()) uses them


def config_for(language: str) -> str:
    """The text-search configuration of a language code (``"de"`` -> ``"german"``)."""
    return CONFIGS.get(language, OTHER)


def passage_config(text: str) -> str:
    """The text-search configuration of a passage: that of the language it is written in."""
    return config_for(detect_language(text, default=""))


def tsquery(words: Iterable[str]) -> str:
    """A ``tsquery`` matching any of these lexemes as they are (quoted: never split or stemmed again)."""
    quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words)
    return " | ".join(quoted)


@dataclass(frozen=True)
class PgKeywordIndex(KeywordTables):
    """The keyword index over the passages, in the record manager's PostgreSQL database."""

    #: BM25 in SQL costs about 20 microseconds a posting (340 ms for 15,834 postings of 105,000 passages,
    #: measured): about 40 ms at most for a question's first pass (rag.retrieval.keyword).
    posting_budget: ClassVar[int] = 2_000

    def create(self, conn: PgConnection) -> None:
        """Make the empty tables, inside the caller's transaction."""
        p = self.prefix
        conn.execute(
            f'CREATE TABLE {p}_passages (id TEXT COLLATE "C" PRIMARY KEY, source TEXT COLLATE "C" NOT NULL, '
            "config regconfig NOT NULL, terms tsvector NOT NULL, length INTEGER NOT NULL)"
        )
        conn.execute(f"CREATE INDEX {p}_passages_terms ON {p}_passages USING gin (terms)")
        conn.execute(f"CREATE INDEX {p}_passages_source ON {p}_passages (source)")
        # How many passages hold each term, kept with every write: counting a term's postings per
        # question would cost what the term is common.
        conn.execute(f'CREATE TABLE {p}_terms (term TEXT COLLATE "C" PRIMARY KEY, passages INTEGER NOT NULL)')
        conn.execute(f"CREATE TABLE {p}_stats (passages BIGINT NOT NULL, terms BIGINT NOT NULL)")
        conn.execute(f"INSERT INTO {p}_stats VALUES (0, 0)")

    # --- writing, inside the caller's transaction ---------------------------------------------------

    def write(self, conn: PgConnection, rows: Sequence[Row]) -> set[str]:
        """Index these passages (an id already indexed is replaced); the articles of the replaced ones."""
        p = self.prefix
        removed, removed_terms, sources = self._remove(conn, [key for key, _, _ in rows])
        added = conn.execute(
            f"INSERT INTO {p}_passages (id, source, config, terms, length) "
            "SELECT v.id, v.source, v.config, t.terms, "
            "(SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(t.terms)) "
            "FROM unnest(%s::text[], %s::text[], %s::regconfig[], %s::text[]) AS v(id, source, config, body) "
            "CROSS JOIN LATERAL (SELECT to_tsvector(v.config, v.body) AS terms) AS t "
            "RETURNING length, tsvector_to_array(terms)",
            (
                [key for key, _, _ in rows],
                [str(meta.get("source", "")) for _, _, meta in rows],
                [passage_config(text) for _, text, _ in rows],
                [text for _, text, _ in rows],
            ),
        ).fetchall()
        self._count_terms(conn, [lexemes for _, lexemes in added], +1)
        conn.execute(
            f"UPDATE {p}_stats SET passages = passages + %s, terms = terms + %s",
            (len(rows) - removed, sum(length for length, _ in added) - removed_terms),
        )
        return sources

    def delete(self, conn: PgConnection, ids: Sequence[str]) -> set[str]:
        """Drop these passages (ids that are not indexed are ignored); the articles they were of."""
        count, removed_terms, sources = self._remove(conn, ids)
        conn.execute(
            f"UPDATE {self.prefix}_stats SET passages = passages - %s, terms = terms - %s", (count, removed_terms)
        )
        return sources

    def passages_per_article(self, conn: PgConnection, sources: Iterable[str]) -> dict[str, int]:
        """How many passages each of these articles has now (0 for none), inside the transaction."""
        sources = sorted(sources)
        found = conn.execute(
            f"SELECT source, count(*) FROM {self.prefix}_passages WHERE source = ANY(%s) GROUP BY source", (sources,)
        ).fetchall()
        return {source: 0 for source in sources} | dict(found)

    def clear(self, conn: PgConnection) -> None:
        """Empty the tables (they stay)."""
        p = self.prefix
        conn.execute(f"TRUNCATE {p}_passages, {p}_terms")
        conn.execute(f"UPDATE {p}_stats SET passages = 0, terms = 0")

    def _remove(self, conn: PgConnection, ids: Sequence[str]) -> tuple[int, int, set[str]]:
        """Delete these passages' rows: how many there were, their terms in all, and their articles."""
        found = conn.execute(
            f"DELETE FROM {self.prefix}_passages WHERE id = ANY(%s) RETURNING source, length, tsvector_to_array(terms)",
            (list(ids),),
        ).fetchall()
        if found:
            self._count_terms(conn, [lexemes for _, _, lexemes in found], -1)
        return len(found), sum(length for _, length, _ in found), {source for source, _, _ in found}

    def _count_terms(self, conn: PgConnection, passages: Iterable[list[str]], sign: int) -> None:
        """Add (``sign=+1``) or take away (``-1``) these passages (their distinct terms) in the terms' counts."""
        counts = Counter(term for lexemes in passages for term in lexemes)
        terms = sorted(counts)  # rows locked in one order by every writer
        if not terms:
            return
        conn.execute(
            f"INSERT INTO {self.prefix}_terms (term, passages) SELECT * FROM unnest(%s::text[], %s::int[]) "
            "ON CONFLICT (term) DO UPDATE SET passages = excluded.passages + "
            f"{self.prefix}_terms.passages",
            (terms, [sign * counts[t] for t in terms]),
        )
        if sign < 0:
            conn.execute(f"DELETE FROM {self.prefix}_terms WHERE term = ANY(%s) AND passages <= 0", (terms,))

    # --- reading ----------------------------------------------------------------------------------

    def query_terms(self, text: str, language: str | None = None) -> list[str]:
        """The terms of a question as passages in its language were indexed (``language``: detected if None)."""
        config = config_for(language or detect_language(text))
        return list(self.db.read("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", (config, text))[0][0])

    def terms_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The indexed terms of these passages, by id (each as often as it occurs; ids not indexed are left out)."""
        rows = self.db.read(
            f"SELECT p.id, u.lexeme, cardinality(u.positions) FROM {self.prefix}_passages AS p, "
            "unnest(p.terms) AS u WHERE p.id = ANY(%s)",
            (list(ids),),
        )
        out: dict[str, list[str]] = {}
        for key, lexeme, count in rows:
            out.setdefault(key, []).extend([lexeme] * count)
        return out

    def frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of these terms (terms in none are left out)."""
        if not words:
            return {}
        sql = f"SELECT term, passages FROM {self.prefix}_terms WHERE term = ANY(%s) AND passages > 0"
        return dict(self.db.read(sql, (list(words),)))

    def search(self, words: Sequence[str], k: int, sources: set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` passages that BM25 (k1=1.2, b=0.75) ranks best for any of ``words``: ``[(id, score), ...]``."""
        if not words or k < 1:
            return []
        p = self.prefix
        only = "AND p.source = ANY(%(sources)s)" if sources else ""
        # FTS5's idf (never below a tiny positive weight) and term-frequency saturation, over the terms
        # of each passage the GIN index finds.
        rows = self.db.read(
            "WITH w AS (SELECT t.term, greatest(ln((s.n - t.passages + 0.5) / (t.passages + 0.5)), 1e-6) AS idf "
            f"FROM {p}_terms AS t, (SELECT passages::float8 AS n FROM {p}_stats) AS s WHERE t.term = ANY(%(words)s)), "
            f"a AS (SELECT terms::float8 / greatest(passages, 1) AS avg FROM {p}_stats) "
            f"SELECT p.id, sum(w.idf * cardinality(u.positions) * {K1 + 1} / (cardinality(u.positions) "
            f"+ {K1} * (1 - {B} + {B} * p.length / a.avg))) AS score "
            f"FROM {p}_passages AS p CROSS JOIN LATERAL unnest(p.terms) AS u "
            'JOIN w ON w.term = u.lexeme COLLATE "C" CROSS JOIN a '
            f"WHERE p.terms @@ %(query)s::tsquery {only} GROUP BY p.id ORDER BY score DESC, p.id LIMIT %(k)s",
            {"words": list(words), "query": tsquery(words), "sources": sorted(sources or ()), "k": k},
        )
        return [(key, float(score)) for key, score in rows]
