"""The allocation tree's public shape (DOMAIN.md "Allocation tree"), from rollup.allocation_tree rows.

    allocation_json(rollup.allocation_tree(root))   # [{"id", "parent_id", …, "allocated": "1000.00", …}]
"""

FIELDS = ("id", "parent_id", "title", "work_type", "status", "progress", "allocated", "children_allocated",
          "unallocated", "actual_expenditure", "variance", "variance_pct")
DECIMALS = ("allocated", "children_allocated", "unallocated", "actual_expenditure", "variance", "variance_pct")


def allocation_json(nodes):
    """The nodes with exactly the documented fields, decimals as strings (None stays null)."""
    return [{name: (str(node[name]) if name in DECIMALS and node[name] is not None else node[name])
             for name in FIELDS} for node in nodes]
