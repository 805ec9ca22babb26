"""``voicecnn models``: registered architectures and bundled weights."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from voicecnn.cli._render import out_console, write_stdout


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """List registered model architectures and the bundled trained weights."""
    from rich.table import Table

    import voicecnn as vc

    archs = []
    for name in vc.list_models():
        m = vc.create_model(name)
        row = {"name": name, "parameters": sum(p.numel() for p in m.parameters())}
        for attr in ("frame_hop_s", "receptive_field_s", "lookahead_s"):
            if hasattr(m, attr):
                row[attr] = round(float(getattr(m, attr)), 4)
        archs.append(row)
    bundled = []
    for name in vc.bundled_models():
        meta = vc.read_metadata(name)
        card = meta["card"]
        bundled.append({
            "name": name, "arch": meta["arch"], "default": name == vc.DEFAULT_MODEL,
            "parameters": card.get("params"), "validation": card.get("validation", {}),
        })
    if as_json:
        write_stdout(json.dumps({"architectures": archs, "bundled": bundled}) + "\n")
        return
    t = Table(title="Architectures (voicecnn.create_model)", title_justify="left")
    # names never wrap or get cut (users type them); narrow terminals wrap the headers instead
    t.add_column("name", no_wrap=True)
    for col in ("parameters", "frame hop (s)", "receptive field (s)", "lookahead (s)"):
        t.add_column(col, justify="right")
    for a in archs:
        t.add_row(str(a["name"]), f"{a['parameters']:,}", *(str(a.get(k, "-")) for k in
                  ("frame_hop_s", "receptive_field_s", "lookahead_s")))
    out_console.print(t)
    b = Table(title="Bundled weights (voicecnn.load_model, --model)", title_justify="left")
    for col in ("name", "architecture", "parameters", "default"):
        b.add_column(col, no_wrap=col in ("name", "architecture"))
    for w in bundled:
        params = f"{w['parameters']:,}" if isinstance(w["parameters"], int) else "-"
        b.add_row(w["name"], w["arch"], params, "yes" if w["default"] else "")
    out_console.print(b)
