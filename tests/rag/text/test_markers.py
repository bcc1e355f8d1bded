"""Citation markers (pure functions)."""

from rag.text.markers import LOOSE_MARKER, marker_numbers, strip_markers


def test_cited_numbers_in_order_without_repeats():
    assert marker_numbers("a [2] b [1, 2] c [Passage 3]", LOOSE_MARKER) == [2, 1, 3]


def test_strict_markers_leave_loose_ones_alone():
    assert marker_numbers("a [2] b [1, 2] c [Passage 3]") == [2, 1]
    assert strip_markers("10.000 bis 12.000 [1] [2, 3].") == "10.000 bis 12.000."
    assert strip_markers("Kursk [Passage 2]", LOOSE_MARKER) == "Kursk"
