"""The docs stay true to the code: every registered module is described."""

from __future__ import annotations

import re
from pathlib import Path

from sayso.core.registry import registry

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_every_registered_module_appears_in_the_architecture_doc() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    keys = [module.key for module in registry]
    assert keys, "no modules registered"
    missing = [key for key in keys if not re.search(rf"\b{re.escape(key)}\b", text)]
    assert missing == [], f"docs/architecture.md does not mention: {', '.join(missing)}"
