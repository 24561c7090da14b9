"""Every problem the code raises carries its Chinese sentence (``zh=``).

``Problem.as_dict`` falls back to the English detail when ``zh`` is missing, so a problem built
without it shows English on a zh-CN page. This test reads every module under ``zerotrip/`` with
``ast`` and lists each call of a :class:`~zerotrip.problems.Problem` subclass that has no ``zh=``
keyword. The classes are found by importing the whole package and walking
``Problem.__subclasses__()``, so a subclass defined in any domain is checked too.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import zerotrip
from zerotrip.problems import Problem

ROOT = Path(zerotrip.__file__).resolve().parent

# (file, class) of calls whose sentence is passed through from elsewhere, so there is nothing to
# translate at the call. Empty: a passed-through detail passes its Chinese along too (a job's
# stored problem keeps ``detail_zh``; a media refusal is named in Chinese by its code).
PASSED_THROUGH: frozenset[tuple[str, str]] = frozenset()


def _problem_classes() -> set[str]:
    """Names of Problem and all its subclasses, after importing every module of the package."""
    for info in pkgutil.walk_packages(zerotrip.__path__, "zerotrip."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    names: set[str] = set()
    todo: list[type] = [Problem]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _names_a_sentence(call: ast.Call) -> bool:
    """A ``zh=`` keyword that is not ``None`` or empty (``**kwargs`` does not count)."""
    for keyword in call.keywords:
        if keyword.arg == "zh":
            value = keyword.value
            return not (isinstance(value, ast.Constant) and value.value in (None, ""))
    return False


def _without_zh(classes: set[str]) -> list[str]:
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            if name not in classes or (relative, name) in PASSED_THROUGH:
                continue
            if not _names_a_sentence(node):
                missing.append(f"zerotrip/{relative}:{node.lineno}: {name}(...) without zh=")
    return missing


def test_every_problem_has_a_chinese_sentence() -> None:
    missing = _without_zh(_problem_classes())
    assert not missing, "problems without a Chinese sentence:\n" + "\n".join(missing)


def test_the_scan_sees_subclasses_and_calls() -> None:
    """The scan is not vacuous: it knows the subclasses and finds the calls that have zh=."""
    classes = _problem_classes()
    assert {"InvalidInput", "NotFound", "IllegalTransition", "RateLimited"} <= classes
    found = 0
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _called_name(node) in classes:
                found += 1
    assert found > 200
