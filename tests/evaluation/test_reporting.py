"""An evaluation's report: the terminal table and the JSON object."""

from __future__ import annotations

from evaluation.reporting import EvalReport


def test_the_table_shows_rates_to_three_places_times_to_one_and_missing_figures_as_a_dash():
    report = EvalReport({"questions": 200, "hit@4": 0.98, "retrieve_ms_p50": 41.27, "true_refusal": None}, {"top_k": 4})
    assert report.table().splitlines() == [
        "questions            200",
        "hit@4                0.980",
        "retrieve_ms_p50      41.3",
        "true_refusal         -",
    ]
    assert report.to_json() == {
        "questions": 200,
        "hit@4": 0.98,
        "retrieve_ms_p50": 41.27,
        "true_refusal": None,
        "settings": {"top_k": 4},
    }
