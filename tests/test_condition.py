"""The `forget --where` condition: accepted forms decided per run, everything else refused."""

from __future__ import annotations

import pytest

from pypet_sm.execute.condition import Condition, ConditionError
from pypet_sm.execute.forget import SelectionError, parse_runs

NAMES = ["model.x", "model.y", "other.y", "label"]
RUN = {"model.x": 0.5, "model.y": 2, "other.y": -1, "label": "a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x > 0.4", True),
        ("model.x >= 0.6", False),
        ("parameters.model.x == 0.5", True),
        ("0 < x < 1", True),
        ("0 < x < 0.2", False),
        ("model.y == 2 and other.y == -1", True),
        ("not (x > 0.4) or label == 'b'", False),
        ("label in ('a', 'b')", True),
        ("label not in ['a']", False),
        ("x != 0.5 or model.y in (1, 2, 3)", True),
    ],
)
def test_accepted_conditions(text, expected):
    assert Condition(text, NAMES).matches(RUN) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("y > 1", "'y' names several explored parameters (model.y, other.y)"),
        ("z > 1", "'z' is not an explored parameter"),
        ("x > abs(-1)", "'abs(-1)' is not accepted"),
        ("x.__class__ == 1", "'x.__class__' is not an explored parameter"),
        ("[c for c in ()]", "is not accepted"),
        ("x ** 2 > 1", "is not accepted"),
        ("x is None", "is not accepted"),
        ("lambda: 1", "is not accepted"),
        ("x >", "not a condition"),
    ],
)
def test_refused_conditions(text, message):
    with pytest.raises(ConditionError, match=None) as raised:
        Condition(text, NAMES)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_undecidable_condition_names_the_run():
    with pytest.raises(ConditionError) as raised:
        Condition("label > 1", NAMES).matches(RUN)
    assert "cannot be decided for the run with" in str(raised.value)


def test_run_ranges():
    assert parse_runs("3, 7-9,3", 10) == {3, 7, 8, 9}
    for text in ("10", "-1", "a", "4-2", "1-", ""):
        with pytest.raises(SelectionError):
            parse_runs(text, 10)
