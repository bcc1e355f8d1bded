"""Answering: the instant answer, the cited phrase, its translation, the citation checks and follow-up rewriting."""
