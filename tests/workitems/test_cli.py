"""flask obcms tree check / rebuild."""
import sqlalchemy as sa

from obcms.extensions import db
from obcms.workitems.models import WorkItem
from tests.workitems.conftest import add


def test_check_lists_violations_and_rebuild_repairs(app):
    p = add("P")
    a = add("A", p)
    add("B", p)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["obcms", "tree", "check"]).exit_code == 0
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "B").values(lft=a.lft, rgt=a.rgt))
    result = runner.invoke(args=["obcms", "tree", "check", "--tree", str(p.id)])
    assert result.exit_code == 1
    assert "bounds" in result.output
    result = runner.invoke(args=["obcms", "tree", "rebuild", "--tree", str(p.id)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["obcms", "tree", "check"]).exit_code == 0
