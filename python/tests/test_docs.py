"""The ```python examples of docs/python.md run, in order, in one namespace (blocks marked
```python skip are not run: the untested PySpark recipe)."""

import re
import warnings
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def blocks():
    text = DOC.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.skipif(not DOC.exists(), reason="docs/python.md is not beside this checkout")
def test_docs_examples_run(capsys):
    found = blocks()
    assert len(found) >= 6
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, code in enumerate(found):
            exec(compile(code, f"docs/python.md block {i}", "exec"), namespace)
    assert namespace["gm"].converged_
