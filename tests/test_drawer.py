"""The drawing process's loop draws each pickled call and answers whether it was drawn."""

from __future__ import annotations

import io
import pickle
import struct
from functools import partial

from nnrun import drawer


def _job(call: object) -> bytes:
    data = pickle.dumps(call)
    return struct.pack("<Q", len(data)) + data


def test_each_call_is_answered_drawn_or_failed_until_the_end_of_input() -> None:
    jobs = io.BytesIO(_job(partial(len, [1, 2])) + _job(partial(int, "not a number")) + _job(partial(abs, -3)))
    answers = io.BytesIO()
    drawer.serve(jobs, answers)
    assert answers.getvalue() == b"101"
