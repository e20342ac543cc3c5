"""A Sphinx extension: each ipywidget on the site as it was when its cell ran.

A widget needs a running kernel, which a static site does not have. When MyST-NB executes a
notebook, the widgets' last state (every control's value and what each ``Output`` widget
shows, figures included) is saved in the notebook's metadata. This extension replaces each
widget's placeholder with that state as plain HTML: the controls as labelled values, the figure
as an image, progress bars as ``<progress>``, and a note that the widget is interactive in
Jupyter. No widget JavaScript is loaded (MyST-NB's default would fetch it from a CDN), and the
state itself is dropped from the page once drawn.
"""

from __future__ import annotations

import html
import json
import re

from docutils import nodes

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_VIEW = re.compile(r'^<script type="' + re.escape(WIDGET_VIEW) + r'">(.*)</script>$', re.S)
NOTE = (
    "Interactive in Jupyter: run this notebook to move the controls. Shown here as it was "
    "when the cell ran."
)
_CONTROLS = (
    "Slider",
    "Dropdown",
    "ToggleButtons",
    "RadioButtons",
    "Checkbox",
    "ToggleButton",
    "Select",
    "Text",
    "Textarea",
    "Play",
    "ColorPicker",
    "DatePicker",
)


def _unsanitize(text: str) -> str:
    return text.replace("<\\/", "</")


def widget_state(env, docname: str) -> dict:
    """The saved widget models of page ``docname``, by model id ({} when it has none)."""
    from myst_nb.sphinx_ import NbMetadataCollector

    for _uri, kwargs in NbMetadataCollector.get_js_files(env, docname).values():
        if kwargs.get("type") == WIDGET_STATE:
            return json.loads(_unsanitize(kwargs["body"])).get("state", {})
    return {}


def _children(state: dict) -> list[str]:
    return [c.removeprefix("IPY_MODEL_") for c in state.get("children", []) if isinstance(c, str)]


def _value_text(model: dict) -> str:
    s = model["state"]
    labels = s.get("_options_labels")
    if labels is not None and "index" in s:
        idx = s["index"]
        if isinstance(idx, (list, tuple)):
            return ", ".join(str(labels[i]) for i in idx)
        return "" if idx is None else str(labels[idx])
    value = s.get("value")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return " – ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def _output_html(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        text = "".join(out.get("text", ""))
        css = "segdend-widget-stderr" if out.get("name") == "stderr" else "segdend-widget-stdout"
        return f'<pre class="{css}">{html.escape(text)}</pre>'
    if kind == "error":
        text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
        return f'<pre class="segdend-widget-error">{html.escape(text)}</pre>'
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            payload = "".join(data[mime]).replace("\n", "")
            return (
                f'<img class="segdend-widget-figure" src="data:{mime};base64,{payload}" '
                'alt="figure">'
            )
    if "image/svg+xml" in data:
        return "".join(data["image/svg+xml"])
    if "text/html" in data:
        return "".join(data["text/html"])
    if "text/plain" in data:
        return f"<pre>{html.escape(''.join(data['text/plain']))}</pre>"
    return ""


def render(model_id: str, models: dict, seen: set | None = None) -> str:
    """HTML for the widget ``model_id`` and its children, from the saved ``models``."""
    seen = set() if seen is None else seen
    model = models.get(model_id)
    if model is None or model_id in seen:
        return ""
    seen.add(model_id)
    name = model.get("model_name", "").removesuffix("Model")
    s = model.get("state", {})
    if name in ("VBox", "HBox", "Box", "GridBox", "Accordion", "Tab", "Stack"):
        inner = "".join(render(c, models, seen) for c in _children(s))
        css = "segdend-widget-row" if name == "HBox" else "segdend-widget-column"
        return f'<div class="{css}">{inner}</div>'
    if name == "Output":
        return "".join(_output_html(o) for o in s.get("outputs", []))
    if name in ("HTML", "HTMLMath"):
        return f'<span class="segdend-widget-html">{s.get("value", "")}</span>'
    if name == "Label":
        return f'<span class="segdend-widget-html">{html.escape(str(s.get("value", "")))}</span>'
    if name in ("FloatProgress", "IntProgress"):
        return (
            f'<progress class="segdend-widget-progress" value="{s.get("value", 0)}" '
            f'max="{s.get("max", 100)}"></progress>'
        )
    if name == "Button":
        label = html.escape(s.get("description", ""))
        return f'<button class="segdend-widget-button" disabled>{label}</button>'
    if name == "Image":
        for buf in model.get("buffers", []):
            if buf.get("path") == ["value"] and buf.get("encoding") == "base64":
                fmt = s.get("format", "png")
                return (
                    f'<img class="segdend-widget-figure" src="data:image/{fmt};base64,'
                    f'{buf["data"]}" alt="figure">'
                )
        return ""
    if any(name.endswith(k) for k in _CONTROLS):
        label = html.escape(s.get("description", "") or "")
        value = html.escape(_value_text(model))
        return (
            f'<span class="segdend-widget-control"><span class="segdend-widget-label">{label}'
            f'</span> <span class="segdend-widget-value">{value}</span></span>'
        )
    return ""


def _replace_views(app, doctree, docname):
    models = None
    for node in list(doctree.findall(nodes.raw)):
        if node.get("format") != "html":
            continue
        m = _VIEW.match(node.astext().strip())
        if not m:
            continue
        if models is None:
            models = widget_state(app.env, docname)
        model_id = json.loads(_unsanitize(m.group(1))).get("model_id", "")
        body = render(model_id, models)
        if body:
            text = (
                f'<div class="segdend-widget"><p class="segdend-widget-note">{NOTE}</p>{body}</div>'
            )
        else:  # a widget closed before the notebook ended (a finished progress bar)
            text = ""
        node.replace_self(nodes.raw("", text, format="html"))


def _drop_state_script(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [
            s for s in scripts if getattr(s, "attributes", {}).get("type") != WIDGET_STATE
        ]


def setup(app):
    app.connect("doctree-resolved", _replace_views)
    app.connect("html-page-context", _drop_state_script, priority=900)
    app.add_css_file("segdend-book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
