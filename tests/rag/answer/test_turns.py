"""Turns on the one model: answers wait in order and are told how many come first; rewrites wait too."""

from __future__ import annotations

import threading

from rag.answer.results import Waiting
from rag.answer.turns import ModelTurns


def in_thread(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_answers_waiting_for_the_model_are_told_how_many_come_first():
    turns = ModelTurns()
    assert list(turns.wait()) == []  # the model is free: the turn is taken at once
    second, third = turns.wait(), turns.wait()
    assert next(second) == Waiting(1)  # the one being written
    assert next(third) == Waiting(2)  # and the one that queued before
    third.close()  # a reader who leaves stops waiting and is no longer counted
    fourth = turns.wait()
    assert next(fourth) == Waiting(2)
    fourth.close()

    thread = in_thread(lambda: next(second, None))  # blocks until the first answer is done
    thread.join(timeout=0.2)
    assert thread.is_alive()
    with turns.held():
        pass  # the first answer is written: its turn is given back
    thread.join(timeout=5)
    assert not thread.is_alive()
    with turns.held():
        pass  # the second answer's turn, given back
    assert list(turns.wait()) == []


def test_a_rewrite_waits_for_the_answer_being_written():
    turns = ModelTurns()
    assert list(turns.wait()) == []
    rewritten = threading.Event()

    def rewrite() -> None:
        with turns:
            rewritten.set()

    thread = in_thread(rewrite)
    assert not rewritten.wait(0.2)
    with turns.held():
        pass
    assert rewritten.wait(5)
    thread.join(timeout=5)
    assert list(turns.wait()) == []  # the rewrite gave its turn back
