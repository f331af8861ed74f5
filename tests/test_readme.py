"""The README's Python examples run as written, in order, in one namespace."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace = {}
    for i, block in enumerate(blocks):
        if block.startswith("# excerpt of "):       # a quoted piece of a module, not a runnable example
            continue
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    assert "test accuracy after one epoch" in capsys.readouterr().out
