"""Pages generated at build time: one API page per module, the benchmark tables, the list of
differences from MXNet (both from the repository's Markdown), and learning-rate schedule pictures.

Everything lands in ``docs/api/generated/`` and ``docs/_generated/`` (git-ignored) and is
rewritten only when its content changes, so incremental builds stay incremental.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parents[1]
ROOT = DOCS.parent


def _write(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# --- API pages -----------------------------------------------------------------------------------

def public_members(modname: str) -> tuple[list[str], list[str]]:
    """``(classes, functions)`` a module exports: its ``__all__`` (else its public names), minus
    submodules, constants and objects made outside mxlite (re-exported NumPy functions)."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    classes, functions = [], []
    for name in names:
        obj = getattr(mod, name, None)
        if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
            continue
        if not getattr(obj, "__module__", "").startswith("mxlite"):
            continue
        (classes if inspect.isclass(obj) else functions).append(name)
    return sorted(classes, key=str.lower), sorted(functions, key=str.lower)


def summary(obj) -> str:
    """The first paragraph of ``obj``'s docstring on one line (autosummary's first-sentence
    cut splits literals such as ````1 .. n````, so the tables take whole paragraphs)."""
    doc = inspect.getdoc(obj) or ""
    para = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return para[:-1] if para.endswith("::") else (para or " ")


def api_page(modname: str, title: str, seen: set | None = None) -> str:
    """The page of ``modname``; an object already documented on an earlier page (``seen``, ids)
    is shown again without a second index entry (``gluon.nn`` re-exports ``gluon.Block``)."""
    seen = set() if seen is None else seen
    classes, functions = public_members(modname)
    heading = f"``{modname}``: {title}"
    lines = [heading, "=" * len(heading), "",
             f".. automodule:: {modname}", "   :no-members:", "",
             # docstring examples run in the namespace of the module they document
             ".. testsetup:: *", "",
             "   import importlib", "   import mxlite as mx",
             f"   globals().update(vars(importlib.import_module({modname!r})))", "",
             f".. currentmodule:: {modname}", ""]
    mod = importlib.import_module(modname)
    for label, names in (("Classes", classes), ("Functions", functions)):
        if names:
            lines += [label, "-" * len(label), "", ".. list-table::", "   :widths: 25 75",
                      "   :class: summary-table", ""]
            for n in names:
                lines += [f"   * - :py:obj:`{n}`", f"     - {summary(getattr(mod, n))}"]
            lines.append("")
    if classes or functions:
        lines += ["Reference", "---------", ""]
    for name in classes + functions:
        obj = getattr(mod, name)
        again = ["   :no-index:"] if id(obj) in seen else []
        seen.add(id(obj))
        if name in classes:
            lines += [f".. autoclass:: {name}", "   :members:", "   :show-inheritance:", *again, ""]
        else:
            lines += [f".. autofunction:: {name}", *again, ""]
    return "\n".join(lines)


def write_api_pages(modules) -> None:
    out = DOCS / "api" / "generated"
    toc = [".. toctree::", "   :maxdepth: 1", ""]
    wanted, seen = set(), set()
    for modname, title in modules:
        _write(out / f"{modname}.rst", api_page(modname, title, seen))
        wanted.add(f"{modname}.rst")
        toc.append(f"   generated/{modname}")
    for stale in out.glob("*.rst"):  # a module taken off the list loses its page
        if stale.name not in wanted:
            stale.unlink()
    _write(out / "toctree.inc", "\n".join(toc) + "\n")


# --- Markdown from the repository, as reStructuredText -----------------------------------------

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)")


def _escape(text: str) -> str:
    return re.sub(r"([\\*_|`<>\[\]])", r"\\\1", text)


def md_inline(text: str) -> str:
    """Code spans, bold and links of one Markdown line; everything else literal."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_escape(text[pos:m.start()]))
        code, bold, label, url = m.groups()
        if code is not None:
            piece = f"``{code}``" if "``" not in code else _escape(code)
        elif bold is not None:
            piece = f"**{_escape(bold)}**"
        elif url.startswith(("http://", "https://")):
            piece = f"`{_escape(label)} <{url}>`__"
        else:  # a link inside the repository: keep the words
            piece = _escape(label)
        # reST inline markup must not touch a letter or digit: "\ " is an invisible separator
        if m.start() > 0 and text[m.start() - 1].isalnum():
            piece = "\\ " + piece
        if m.end() < len(text) and text[m.end()].isalnum():
            piece += "\\ "
        out.append(piece)
        pos = m.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _table(rows: list[str]) -> list[str]:
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    header, body = cells[0], [r for r in cells[2:]]
    lines = [".. list-table::", "   :header-rows: 1", "   :class: bench-table", ""]
    for row in [header, *body]:
        row = row + [""] * (len(header) - len(row))
        for i, cell in enumerate(row[:len(header)]):
            lines.append(f"   {'* -' if i == 0 else '  -'} {md_inline(cell) or ' '}")
    return [*lines, ""]


def md_to_rst(md: str, heading_chars: str = "=-~^") -> str:
    """Headings, paragraphs, bullet lists (with continuation lines) and pipe tables."""
    lines = md.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m:
            title = md_inline(m.group(2).strip())
            out += [title, heading_chars[min(len(m.group(1)), len(heading_chars)) - 1] * len(title),
                    ""]
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += _table(rows)
        elif re.match(r"^\s*[-*] ", line):
            item = [line.split(None, 1)[1]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [f"- {md_inline(' '.join(item))}"]
            if i >= len(lines) or not re.match(r"^\s*[-*] ", lines[i]):
                out.append("")
        elif not line.strip():
            i += 1
        else:
            para = []
            while (i < len(lines) and lines[i].strip() and not lines[i].startswith(("|", "#"))
                   and not re.match(r"^\s*[-*] ", lines[i])):
                para.append(lines[i].strip())
                i += 1
            out += [md_inline(" ".join(para)), ""]
    return "\n".join(out) + "\n"


def md_sections(md: str, pattern: str) -> str:
    """The ``###`` sections of a Markdown text whose heading matches ``pattern``, each with
    the ``##`` heading (release) it belongs to."""
    keep, release, take = [], "", False
    for line in md.splitlines():
        if line.startswith("## "):
            release, take = line[3:].strip(), False
        elif line.startswith("### "):
            take = re.search(pattern, line, re.IGNORECASE) is not None
            if take:
                keep += ["", f"### {line[4:].strip()} — {release}" if release else line, ""]
                continue
        if take:
            keep.append(line)
    return "\n".join(keep)


def write_markdown_pages() -> None:
    gen = DOCS / "_generated"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    _write(gen / "changelog.inc", md_to_rst(changelog.split("\n", 1)[1], heading_chars="=-~^"))
    _write(gen / "differences.inc", md_to_rst(md_sections(changelog, r"differ"), "=-~^"[1:]))
    bench = (ROOT / "bench" / "results" / "latest.md").read_text()
    first, _, rest = bench.partition("\n")
    _write(gen / "benchmarks.inc", md_to_rst(f"{first.strip()}\n\n{rest}", "=-~^"[1:]))


# --- Schedule pictures -------------------------------------------------------------------------

SCHEDULES = [
    ("factor", "FactorScheduler", {"step": 250, "factor": 0.5, "base_lr": 0.1}),
    ("multifactor", "MultiFactorScheduler", {"step": [300, 600, 800], "factor": 0.3,
                                             "base_lr": 0.1}),
    ("poly", "PolyScheduler", {"max_update": 1000, "base_lr": 0.1, "pwr": 2,
                               "warmup_steps": 100}),
    ("cosine", "CosineScheduler", {"max_update": 1000, "base_lr": 0.1, "final_lr": 0.01,
                                   "warmup_steps": 100, "warmup_begin_lr": 0.01}),
    ("cosine_restart", "CosineRestartScheduler", {"cycle_length": 250, "cycle_mult": 1.5,
                                                  "base_lr": 0.1}),
]
UPDATES = 1000


def _call(cls: str, kwargs: dict) -> str:
    return f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def write_schedule_pictures() -> None:
    """One PNG per entry of :data:`SCHEDULES`, drawn by ``mxlite.lr_scheduler.plot``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mxlite import lr_scheduler

    out = DOCS / "_generated" / "schedules"
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, cls, kwargs in SCHEDULES:
        sched = getattr(lr_scheduler, cls)(**kwargs)
        fig = lr_scheduler.plot(sched, UPDATES, title=cls)
        fig.set_size_inches(6.4, 3.0)
        fig.savefig(out / f"{name}.png", dpi=90, metadata={"Software": None})
        plt.close(fig)
        lines += [f".. figure:: /_generated/schedules/{name}.png",
                  f"   :alt: learning rate of {cls} over {UPDATES} updates", "",
                  f"   ``mx.lr_scheduler.{_call(cls, kwargs)}``, updates 1 to {UPDATES}", ""]
    _write(DOCS / "_generated" / "schedules.inc", "\n".join(lines))


def class_signature(app, what, name, obj, options, signature, return_annotation):
    """Optimizers define ``__new__(cls, *args, **kwargs)``, which autodoc prefers to
    ``__init__``; show the constructor's parameters instead (annotations go to the text)."""
    if what != "class" or signature != "(*args, **kwargs)":
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)), None


def generate(app) -> None:
    write_api_pages(app.config.mxlite_api_modules)
    write_markdown_pages()
    write_schedule_pictures()


def setup(app):
    app.add_config_value("mxlite_api_modules", [], "env")
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-signature", class_signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
