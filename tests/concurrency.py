"""Many requests at the same moment: the harness of every "nothing counts twice" test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask

from companion.extensions import db

T = TypeVar("T")


def run_at_once(app: Flask, count: int, work: Callable[[int], T], *, timeout: float = 120) -> list[T]:
    """Run ``work(i)`` for i in 0..count-1 in threads released together by a barrier.

    Each thread has its own app context, hence its own database session and connection (as a
    request on a real server would); it commits after ``work`` returns. The barrier is passed
    before any query, so waiting threads hold no pooled connection.

    :return: the results, in the order the threads finished.
    :raise AssertionError: listing every exception a thread raised, or a thread that did not end.
    """
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                result = work(index)
                db.session.commit()
                db.session.remove()
            with lock:
                results.append(result)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the others
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    assert errors == [], errors
    return results
