"""Every Keras idiom fastnn refuses (tools/keras_refusals.py, whose table the README's
Keras section summarizes) is refused early with an exception that says what fastnn
runs instead — none is accepted, none fails with a bare Python error."""
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "keras_refusals.py"
spec = importlib.util.spec_from_file_location("keras_refusals", TOOL)
refusals = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refusals)
BARE = ("got an unexpected keyword argument", "object has no attribute",
        "is not callable", "KeyError")


@pytest.mark.parametrize("idiom,func", refusals.IDIOMS, ids=[i for i, _ in refusals.IDIOMS])
def test_the_idiom_is_refused_with_a_message_that_says_why(idiom, func):
    kind, message = refusals.run(func)
    assert kind is not None, f"{idiom} was accepted"
    assert kind in ("TypeError", "ValueError", "ImportError", "AttributeError",
                    "KerasFileError", "ModelFileError"), (kind, message)
    assert not any(b in message for b in BARE), message
    # it says what is expected or what fastnn runs instead
    assert any(w in message.lower() for w in ("fastnn", "expected", "must", "keras")), message
