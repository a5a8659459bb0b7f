from flask import Blueprint
from flask_login import current_user, login_required

from ..auth.permissions import require
from ..htmx import render_page

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    require(current_user, "dashboard.view")
    return render_page("home/index.html")
