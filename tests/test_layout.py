"""Import rules of the architecture (STYLE.md §2), checked on the source, and the naming rule of
the test files (tests/conftest.py). Project-wide: it reads the whole package and tests/."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parents[1] / "voicecnn"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> dict[str, set[str]]:
    return {str(p.relative_to(PKG)): _imports(p) for p in PKG.rglob("*.py")}


def test_cli_libraries_stay_in_cli() -> None:
    for name, imports in _modules().items():
        if not name.startswith("cli/"):
            assert not imports & {"typer", "rich"}, name
        if name != "cli/listen.py":
            assert "sounddevice" not in imports, name


def test_light_modules_do_not_import_torch_or_librosa() -> None:
    mods = _modules()
    for name in ("io/audio.py", "detection/segments.py", "config.py", "errors.py", "io/pcm.py"):
        assert not mods[name] & {"torch", "librosa"}, name
    for name, imports in mods.items():  # librosa is for tests and data preparation only
        assert "librosa" not in imports, name


def test_ray_stays_in_its_module() -> None:
    for name, imports in _modules().items():
        if name != "detection/ray_batch.py":
            assert "ray" not in imports, name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run: at module level and inside functions, but not under
    ``if TYPE_CHECKING:`` (never executed)."""
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped
    ]


def import_graph() -> dict[str, set[str]]:
    """voicecnn module -> the voicecnn modules it imports.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``.
    The parent packages Python initialises on the way (``a`` for ``a.b``) are not edges: a
    package's ``__init__`` importing its own submodules is how packages work, not a cycle.
    """
    paths = {_module_name(p): p for p in PKG.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.startswith("voicecnn")}
                continue
            base = node.module or ""
            if node.level:
                up = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{up}.{base}" if base else up
            if base == "voicecnn" or base.startswith("voicecnn."):
                targets |= {resolve(f"{base}.{a.name}") for a in node.names}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or in a ring (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_import_cycle_finder_finds_a_ring() -> None:
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(ring) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    """No voicecnn modules import each other, counting the imports inside functions too.

    Lazy imports keep ``import voicecnn`` and ``voicecnn --help`` light (torch, scipy, rich are
    imported where they are used); they must not hide a cycle (``train.run`` and ``train.clips``
    once imported each other's private names that way).
    """
    graph = import_graph()
    assert graph["voicecnn.train.run"] >= {"voicecnn.train.core", "voicecnn.train.vad"}
    assert import_cycles(graph) == []


# The flow, bottom to top: a module imports only its own stage and those below it.
STAGES = ["errors", "config", "io", "net", "detection", "data", "train", "compat", "cli"]


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_imports_follow_the_flow() -> None:
    """io -> net -> detection -> data -> train -> compat -> cli: nothing imports a later stage
    (lazy imports counted), so the folder names say where a change belongs."""
    graph = import_graph()
    assert {_stage(m) for m in graph} >= set(range(len(STAGES)))
    upward = [
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if (a := _stage(m)) is not None and (b := _stage(t)) is not None and b > a
    ]
    assert upward == []


# --- test files: each names the module it tests (the rule: tests/conftest.py) ------------------

TESTS = Path(__file__).parent
PROJECT_WIDE = {  # test files about the project as a whole, not one module
    "test_bench.py": "the benchmark scripts in bench/, beside the package",
    "test_inference.py": "the inference-only install (no torch), across modules",
    "test_layout.py": "import rules over the whole package; this naming rule",
    "test_licences.py": "licences of the recipes' data and of the bundled weights",
    "test_readme.py": "README.md and docs/: examples, commands, links",
    "test_recipes.py": "the recipe scripts in recipes/, beside the package",
    "test_wheel.py": "the built wheel, installed in a clean environment",
}


def module_test_names() -> dict[str, set[str]]:
    """The names ``test_<name>.py`` may take, each with the voicecnn modules it names: the
    module's path below voicecnn joined by ``_`` (a package is named by its folder, a private
    module without its ``_``), shortened from the left; a command in cli/ keeps its ``cli_``."""
    public: dict[str, set[str]] = {}
    private: dict[str, set[str]] = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts.pop()
        if not parts:
            continue
        module = ".".join(["voicecnn", *parts])
        table = private if any(p.startswith("_") for p in parts) else public
        parts = [p.lstrip("_") for p in parts]
        shortest = len(parts) if parts[0] == "cli" else 1
        for k in range(shortest, len(parts) + 1):
            table.setdefault("_".join(parts[-k:]), set()).add(module)
    for name, modules in private.items():  # a public module keeps its name
        public.setdefault(name, modules)
    return public


def test_the_naming_rule_on_known_cases() -> None:
    names = module_test_names()
    assert names["segments"] == {"voicecnn.detection.segments"}
    assert names["stream"] == {"voicecnn.detection.stream"}  # the command is cli_stream
    assert names["cli_stream"] == {"voicecnn.cli.stream"} and "evaluate" not in names
    assert names["cli"] == {"voicecnn.cli"} and names["layers"] == {"voicecnn.net.layers"}
    assert names["cli_render"] == {"voicecnn.cli._render"}
    assert len(names["image"]) == 2  # net/models/image.py and train/image.py: ambiguous
    assert names["models_image"] == {"voicecnn.net.models.image"}


def test_each_test_file_names_one_module_or_is_project_wide() -> None:
    names = module_test_names()
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name in PROJECT_WIDE:
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path.name
            continue
        modules = names.get(path.stem.removeprefix("test_"), set())
        assert len(modules) == 1, (
            f"tests/{path.name} names {sorted(modules) or 'no voicecnn module'}: rename it after "
            "the module it tests (tests/conftest.py) or list it in PROJECT_WIDE"
        )
    assert all((TESTS / name).is_file() for name in PROJECT_WIDE)


def test_files_marked_no_torch_import_torch_only_inside_tests() -> None:
    """The inference-only install collects only these files (tests/conftest.py): an import of
    torch at their top would fail there."""
    for path in sorted(TESTS.glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        if "mark.no_torch" not in source:
            continue
        top = [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module}
        assert "torch" not in names, path.name
