"""Page through a SELECT: one COUNT and one LIMIT/OFFSET query, whatever the page.

    page = paginate(stmt, request.args.get("page"), per_page=25)
    page.items, page.total, page.pages, page.has_next     (render with ui.pagination(page))
"""
from dataclasses import dataclass

import sqlalchemy as sa

from .extensions import db

MAX_PER_PAGE = 200
# A statement built once and paged many times leaves LIMIT and OFFSET as these parameters (see paged()).
PAGE_LIMIT = sa.bindparam("page_limit", type_=sa.Integer)
PAGE_OFFSET = sa.bindparam("page_offset", type_=sa.Integer)


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def first_item(self):
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last_item(self):
        return min(self.total, self.page * self.per_page)


def page_number(value):
    """A page number from user input: anything unusable is page 1."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1


def paged(stmt):
    """`stmt` with LIMIT and OFFSET left as parameters, which paginate() fills in: for a statement built once
    and kept (SQLAlchemy keys a statement object once; a new .limit() copy per request is keyed again)."""
    return stmt.limit(PAGE_LIMIT).offset(PAGE_OFFSET)


def paginate(stmt, page, per_page=25, session=None, count_stmt=None, is_paged=False):
    """Run `stmt` for one page. A page past the end shows the last page. Rows come back as Row objects when
    `stmt` selects several entities/columns, else as scalars. `count_stmt` (a SELECT count) can replace the
    default count over `stmt` when a lighter query gives the same number. A `stmt` made by paged() (say
    is_paged=True) runs as it is, with the page's limit and offset as its parameters."""
    session = session or db.session
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    if count_stmt is None:
        count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    total = session.scalar(count_stmt)
    pages = max(1, -(-total // per_page))
    number = min(page_number(page), pages)
    offset = (number - 1) * per_page
    if is_paged:
        result = session.execute(stmt, {PAGE_LIMIT.key: per_page, PAGE_OFFSET.key: offset})
    else:
        result = session.execute(stmt.limit(per_page).offset(offset))
    items = result.all() if len(result.keys()) > 1 else result.scalars().all()
    return Page(items=items, page=number, per_page=per_page, total=total)
