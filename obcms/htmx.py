"""One template, fragments by block: render the whole page, or only a block for an HTMX request."""
import json

from flask import render_template, request
from jinja2_fragments.flask import render_block


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def is_boosted_or_history():
    return request.headers.get("HX-Boosted") == "true" or request.headers.get("HX-History-Restore-Request") == "true"


def render_page(template, block=None, **context):
    """The page, or just `block` of it when htmx asks for a part (not for boosted or history requests)."""
    if block and is_htmx() and not is_boosted_or_history():
        return render_block(template, block, **context)
    return render_template(template, **context)


TREE_CHANGED = "obcms:tree-changed"  # a work-item tree was written (edit, add, move, delete, distribution)


def trigger(response, event, detail=None):
    """Add the client event `event` (with `detail`) to the response's HX-Trigger, keeping any already set."""
    triggers = {}
    if response.headers.get("HX-Trigger"):
        try:
            triggers = json.loads(response.headers["HX-Trigger"])
        except ValueError:
            triggers = {response.headers["HX-Trigger"]: None}
    triggers[event] = detail
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def toast(response, message, level="success"):
    """Ask the page to show a toast (HX-Trigger), keeping any other triggers already set."""
    return trigger(response, "obcms:toast", {"message": message, "level": level})
