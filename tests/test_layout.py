"""The package's shape, read from the source with ``ast``: which module imports which.

Dependencies point one way (``api -> live, review, mailing, notify, … -> media, cases -> kit,
db, config``): no import cycle between modules, no domain reaches into ``api``, ``media`` and
``kit`` stand alone, and the outbox does not know who handles its dead letters. Imports under
``if TYPE_CHECKING:`` are for type hints only and are not followed (``wiring.setup`` names the
``Services`` it is given that way).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zerotrip"
DOMAINS = frozenset(
    {
        "accounts",
        "admin",
        "cases",
        "dashboard",
        "evidence",
        "identity_check",
        "jobs",
        "live",
        "mailing",
        "media",
        "notify",
        "outbox",
        "ratings",
        "review",
        "worklist",
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _package_of(name: str) -> str:
    path = modules()[name]
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


@cache
def imports_of(name: str) -> frozenset[str]:
    """The ``zerotrip`` modules ``name`` imports when it runs (function-level imports too)."""
    known = modules()
    tree = ast.parse(known[name].read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name in known)
            continue
        base = node.module or ""
        if node.level:
            package = _package_of(name).split(".")
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        if not base.startswith("zerotrip"):
            continue
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in known else base)
    targets.discard(name)
    return frozenset(t for t in targets if t in known)


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _offenders(source_top: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{name} -> {target}"
        for name in modules()
        if _top(name) == source_top
        for target in imports_of(name)
        if _top(target) in forbidden
    )


def test_there_is_no_import_cycle_between_modules():
    graph = {name: imports_of(name) for name in modules()}
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert cycles == []


def test_no_domain_imports_the_api():
    offenders = [o for top in DOMAINS for o in _offenders(top, {"api"})]
    assert offenders == []


def test_kit_imports_no_domain_and_no_api():
    assert _offenders("kit", set(DOMAINS) | {"api", "services"}) == []


def test_the_outbox_does_not_import_who_handles_its_dead_letters():
    assert _offenders("outbox", set(DOMAINS) - {"outbox"}) == []


def test_only_the_composition_root_and_the_api_import_the_composition_root():
    assert (
        sorted(
            name
            for name in modules()
            if "zerotrip.services" in imports_of(name) and _top(name) not in ("api", "cli")
        )
        == []
    )


def test_media_imports_no_other_domain():
    assert _offenders("media", set(DOMAINS) - {"media"}) == []


MUTATORS = frozenset(
    {"append", "add", "setdefault", "update", "pop", "remove", "discard", "clear", "extend"}
)
CONTAINERS = frozenset({"dict", "list", "set", "defaultdict", "WeakSet", "WeakValueDictionary"})
# The live room's aiortc internals keep their own weak registries until the room gets its
# collaborators through its constructor.
PENDING = frozenset({"zerotrip.live.peers:OPEN_PEERS", "zerotrip.live.passthrough:_ENCODED"})
# Filled by decorators while the module is imported, never afterwards.
DECLARED = frozenset({"zerotrip.cases.lifecycle:ACTIONS"})


def _module_containers(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        made = isinstance(value, ast.Dict | ast.List | ast.Set) or (
            isinstance(value, ast.Call)
            and (getattr(value.func, "id", None) or getattr(value.func, "attr", None)) in CONTAINERS
        )
        if made:
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _mutated_in_functions(tree: ast.Module, names: set[str]) -> set[str]:
    found: set[str] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names
                and node.func.attr in MUTATORS
            ):
                found.add(node.func.value.id)
            targets = (
                node.targets
                if isinstance(node, ast.Assign | ast.Delete)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    if target.value.id in names:
                        found.add(target.value.id)
    return found


def test_no_module_holds_state_a_running_service_changes():
    """What a process holds lives on the object the composition root builds: no ``global``
    rebinding, and no module-level container that functions add to (a registry, a pool cache,
    a flag)."""
    rebinding, registries = [], []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rebinding += [name for node in ast.walk(tree) if isinstance(node, ast.Global)]
        registries += [
            f"{name}:{held}" for held in _mutated_in_functions(tree, _module_containers(tree))
        ]
    assert rebinding == []
    assert sorted(set(registries) - PENDING - DECLARED) == []


def _route_sources() -> dict[str, str]:
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in (ROOT / "api" / "routes").glob("*.py")
    }


@pytest.mark.parametrize("needle", ["select(", "append_event("])
def test_handlers_leave_queries_and_the_audit_chain_to_the_domains(needle):
    assert sorted(name for name, text in _route_sources().items() if needle in text) == []


def test_the_walk_sees_the_package():
    """Guard against the checks above passing on nothing (a renamed root, a wrong path)."""
    assert "zerotrip.services" in modules() and "zerotrip.cases.lifecycle" in modules()
    assert "zerotrip.cases.audit" in imports_of("zerotrip.cases.lifecycle")
    assert "zerotrip.kit.reactions" in imports_of("zerotrip.services")
    assert "zerotrip.services" not in imports_of("zerotrip.review.wiring")  # TYPE_CHECKING only


def test_shared_primitives_come_from_the_kit():
    """``Actor``, the clock and canonical JSON are the kit's; nobody reaches into ``cases``
    for them (``cases.audit`` uses them too, which makes the names importable from there)."""
    moved = {"Actor", "utcnow", "canonical_json", "Clock"}
    offenders = []
    for name, path in modules().items():
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zerotrip."):
                wrong = {a.name for a in node.names} & moved
                if wrong and not node.module.startswith("zerotrip.kit"):  # type: ignore[union-attr]
                    offenders.append(f"{name}: {node.module} {sorted(wrong)}")
    assert offenders == []
