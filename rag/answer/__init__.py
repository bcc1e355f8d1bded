"""Answering: the instant answer, the cited phrase, its translation, the citation checks and follow-up rewriting.

Usage::

    from rag.answer.answering import build_answerer
    answer = build_answerer(settings).ask("how many soldiers?")   # a rag.answer.results.Answer

Start at :mod:`rag.answer.answering` (the :class:`Answerer` and ``build_answerer``). It uses, in the
order a question meets them: :mod:`~rag.answer.gating` (answer or refuse without the LLM),
:mod:`~rag.answer.quick` (the instant answer), :mod:`~rag.answer.turns` (one generation at a time),
:mod:`~rag.answer.prompting` (the prompt and the refusal word), :mod:`~rag.answer.finishing` (the reply
made a checked answer, with :mod:`~rag.answer.completing`, :mod:`~rag.answer.translating`,
:mod:`~rag.answer.citing` and :mod:`~rag.answer.supporting`); what it yields is in
:mod:`~rag.answer.results`. :mod:`~rag.answer.condensing` rewrites the chat's follow-up questions.
"""
