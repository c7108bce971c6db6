"""Where the source builds the errors a person reads: the classes and their call sites."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from isegoria import i18n

SRC = Path(i18n.__file__).parent


@functools.cache
def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(SRC.rglob("*.py"))}


@functools.cache
def error_classes() -> frozenset[str]:
    """Names of ``errors.Explained`` and every class that descends from it in the source."""
    classes = {"Explained"}
    grown = True
    while grown:
        grown = False
        for tree in _trees().values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in classes:
                    bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
                    if bases & classes:
                        classes.add(node.name)
                        grown = True
    return frozenset(classes)


@dataclass(frozen=True)
class Construction:
    """One call that builds an explained error, and its first argument's source."""

    where: str
    message: ast.expr


def constructions() -> Iterator[Construction]:
    """Every call in the source that builds an explained error with a message."""
    classes = error_classes()
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in classes:
                where = f"{path.relative_to(SRC)}:{node.lineno}"
                yield Construction(where, node.args[0])


def translation_keywords() -> dict[str, None]:
    """Babel keywords: each error class (its first argument is a message) and ``N_``."""
    return dict.fromkeys(sorted(error_classes() | {"N_"}))
