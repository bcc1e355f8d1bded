"""Answer quality you can measure: ``newsqa eval`` (retrieval, answers, citations, refusals)."""
