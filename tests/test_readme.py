"""The README and docs/: examples run as written, the two commands are CI's, links resolve."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "recipes").glob("*/README.md")), ROOT / "bench" / "README.md"]
# [text](target): relative targets are files of the repository, #anchor a heading of the page
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a page (```text and ```py blocks are shown, not run)."""
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def run_blocks(page: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "__readme__"}  # one session, as a reader's
    for block in python_blocks(page):
        exec(compile(block, page.name, "exec"), namespace)
    return namespace


def test_readme_python_examples_run(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert python_blocks(ROOT / "README.md"), "README has no python example"
    run_blocks(ROOT / "README.md", monkeypatch)
    out = capsys.readouterr().out
    assert "speech " in out  # the sample's speech segments were printed
    assert "start " in out and "end " in out  # and the stream's events


@pytest.mark.parametrize("name", ["library.md", "streaming.md", "compat.md"])
def test_docs_python_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    page = ROOT / "docs" / name
    assert python_blocks(page), f"docs/{name} has no python example"
    namespace = run_blocks(page, monkeypatch)
    assert "model" in namespace  # the examples ran to the end, with a model loaded


def test_readme_commands_match_ci() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", readme)
    assert len(commands) == 2
    assert "voicecnn detect samples/speech_over_noise.flac" in commands[0]
    assert "torch" not in commands[0]  # detection installs without torch
    assert commands[0] in ci.splitlines() and commands[1] in ci.splitlines()


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, - for spaces."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file, or heading, does not exist."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not checked offline
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert page.exists()
    assert broken_links(page) == []


def test_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Top\n[ok](there.md) [ok](there.md#a-heading) [ok](#top) [web](https://x.org)\n"
                    "[gone](missing.md) [gone](there.md#nowhere) [gone](#bottom) [gone](no.md#x)\n",
                    encoding="utf-8")
    assert broken_links(page) == ["missing.md", "there.md#nowhere", "#bottom", "no.md#x"]


def test_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme) if t.startswith("docs/")}
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")}


def table_rows(text: str, header_start: str) -> dict[str, list[str]]:
    """The rows of the first Markdown table whose header starts so: first cell -> other cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [re.sub(r"\*\*|`", "", c).strip().removesuffix(" ms")
                 for c in line.strip("|").split("|")]
        rows[cells[0].replace(" (default)", "")] = cells[1:]
    return rows


def test_readme_headline_matches_the_benchmark_tables() -> None:
    """The README's comparison quotes the table `bench/run.py --update-md` wrote, not an old run."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bench = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    levels = bench[bench.index("### Probability against input level"):]
    bench = bench[bench.index("### Real recordings, labels independent"):]
    quoted = table_rows(readme, "| system | ROC-AUC | F1 | false alarms |")
    measured = table_rows(bench, "| system | ROC-AUC | F1 |")
    by_level = table_rows(levels, "| system | -80 dBFS |")  # bench/levels.py's ROC-AUC table
    assert any("(default)" in line for line in readme.splitlines() if line.startswith("| voicecnn"))
    for system, (auc, f1, fa, end_ms, worst, at_m70) in quoted.items():
        row = measured[system]  # ROC-AUC F1 precision recall FA start end ... worst
        assert (auc, f1, fa, end_ms, worst) == (row[0], row[1], row[4], row[6], row[-1]), system
        assert at_m70 == by_level[system][1], system  # -80, -70, ... dBFS


def test_readme_layout_names_existing_files() -> None:
    """Every folder and file the README's Layout block names exists (globs match something)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Layout"):]
    block = re.search(r"```\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    absolute = re.compile(r"(?:voicecnn|docs|recipes|bench|samples)/[\w/]*")
    relative = re.compile(r"(?<![\w/.*])([\w*]+\.(?:py|flac)|\w+/)")
    folder, named = "", []
    for line in block.group(1).splitlines():
        if not line.startswith(" "):
            folder = line.split()[0]
        rest = line[len(folder):] if not line.startswith(" ") else line
        named += [folder, *absolute.findall(rest)]
        named += [folder + name for name in relative.findall(absolute.sub("", rest))]
    assert len(named) > 30
    missing = sorted({n for n in named if not list(ROOT.glob(n.rstrip("/")))})
    assert missing == []


def resolves(dotted: str) -> bool:
    """Whether ``voicecnn.a.b`` names a module, or an attribute of the longest module prefix."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_docs_name_existing_modules_and_functions() -> None:
    pages = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
    texts = [page.read_text(encoding="utf-8") for page in pages]
    named = {m for text in texts for m in re.findall(r"`(voicecnn(?:\.\w+)+)", text)}
    named |= {f"voicecnn.{m}" for text in texts for m in re.findall(r"\bvc\.(\w+)", text)}
    assert "voicecnn.detection.stream.StreamingDetector" in named
    assert sorted(m for m in named if not resolves(m)) == []
    assert not resolves("voicecnn.detection.no_such_module")


def command_lines(text: str) -> list[list[str]]:
    """The ``voicecnn COMMAND ...`` calls in a page's shell blocks, as tokens (comments dropped)."""
    calls = []
    for block in re.findall(r"```(?:bash|sh|text)\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"[|;]|&&", line.split(" # ")[0]):
                tokens = part.split()
                if "voicecnn" not in tokens or "import" in tokens:  # Python shown as text
                    continue
                tokens = tokens[tokens.index("voicecnn"):]
                if len(tokens) > 1:
                    calls.append(tokens)
    return calls


def test_doc_commands_use_existing_commands_and_options() -> None:
    import typer

    from voicecnn.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert "detect" in commands
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "recipes").glob("*/README.md"))]
    calls = [call for page in pages for call in command_lines(page.read_text(encoding="utf-8"))]
    assert len(calls) > 40
    wrong = []
    for call in calls:
        command = commands.get(call[1])
        if command is None:
            wrong.append(" ".join(call))
            continue
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        wrong += [f"{call[1]} {t}" for t in call[2:]
                  if t.startswith("-") and t.split("=")[0] not in options | {"-h", "--help"}]
    assert wrong == []


def test_doc_training_commands_load_their_configs() -> None:
    """``voicecnn train CONFIG --set ...`` as the docs write it is a config the trainer accepts."""
    import shlex

    from voicecnn.train.run import load_run_cfg

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "recipes").glob("*/README.md"))]
    calls = [shlex.split(" ".join(call)) for page in pages
             for call in command_lines(page.read_text(encoding="utf-8"))
             if call[1] == "train" and (ROOT / call[2]).is_file()]
    assert len(calls) > 15
    for call in calls:
        overrides = [call[i + 1] for i, token in enumerate(call) if token == "--set"]
        assert load_run_cfg(ROOT / call[2], overrides), call
