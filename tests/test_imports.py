"""Imports flow down (docs/ARCHITECTURE.md): no import cycles among the modules of `obcms` and `jobs`, and no
import statement inside a function or method (the usual way to hide a cycle).

The graph is built statically with `ast`, from every import statement in the two packages (module level and
function level alike), with relative imports resolved. `from package import name` is an edge to the submodule
`package.name` when that is a module, else to `package` itself. The implicit import of a module's parent
packages is not an edge: otherwise every package whose `__init__` imports its own submodules would be a cycle.
"""
import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("obcms", "jobs")

# Imports allowed inside a function: {(module, imported module): "why"}, e.g.
# {("obcms.reports.pdf", "weasyprint"): "optional: only installed where PDF reports are enabled"}.
# Only optional third-party libraries belong here; an entry for a first-party module hides a cycle.
ALLOWED_FUNCTION_IMPORTS = {}


def module_files(root=ROOT, packages=PACKAGES):
    """{dotted module name: path} of every module in `packages` (a package is its __init__.py)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def is_package(path):
    return path.name == "__init__.py"


def resolve_from(module, path, node):
    """The absolute module a `from … import …` statement names (relative levels resolved)."""
    if not node.level:
        return node.module
    package = module.split(".") if is_package(path) else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module, path, modules):
    """Yield (imported module, line, inside a function?) for every import statement of one module file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, inside
            elif isinstance(child, ast.ImportFrom):
                target = resolve_from(module, path, child)
                for alias in child.names:
                    submodule = f"{target}.{alias.name}"
                    yield (submodule if submodule in modules else target), child.lineno, inside
            yield from visit(child, inside)

    yield from visit(tree, False)


def first_party(name, modules):
    """The longest first-party module that `name` is or lies in (None for third-party and stdlib)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


@cache
def import_graph(root=ROOT, packages=PACKAGES):
    """({module: {first-party modules it imports}}, ["path:line imports module" for imports inside functions])."""
    modules = module_files(root, packages)
    graph = {module: set() for module in modules}
    function_imports = []
    for module, path in modules.items():
        for imported, line, inside in imports_of(module, path, modules):
            target = first_party(imported, modules)
            if target and target != module:
                graph[module].add(target)
            if inside and (module, imported) not in ALLOWED_FUNCTION_IMPORTS:
                function_imports.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return graph, list(dict.fromkeys(function_imports))  # one line per statement and module


def strongly_connected_components(graph):
    """Tarjan's algorithm, iterative (no recursion limit to think about)."""
    index, lowlink, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    lowlink[work[-1][0]] = min(lowlink[work[-1][0]], lowlink[node])
                if lowlink[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def describe_cycle(component, graph):
    """One concrete cycle through the component's first module, for a readable failure message."""
    members, start = set(component), component[0]
    paths, queue = {start: [start]}, [start]
    while queue:  # breadth first: the shortest way back to the start
        node = queue.pop(0)
        for successor in sorted(graph[node] & members):
            if successor == start:
                return " → ".join(paths[node] + [start])
            if successor not in paths:
                paths[successor] = paths[node] + [successor]
                queue.append(successor)
    return start


def test_the_checks_find_a_cycle_hidden_in_a_function(tmp_path):
    files = {
        "pkg/__init__.py": "from . import a\n",
        "pkg/a.py": "import os\nfrom pkg.b import helper\n",
        "pkg/b.py": "def helper():\n    from .a import os  # hidden: a imports b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import b\nfrom ..a import os\nimport pkg.sub\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph, function_imports = import_graph(tmp_path, ("pkg",))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.sub": set(),
                     "pkg.sub.c": {"pkg.a", "pkg.b", "pkg.sub"}}
    assert function_imports == ["pkg/b.py:2 imports pkg.a"]
    cycles = [c for c in strongly_connected_components(graph) if len(c) > 1]
    assert cycles == [["pkg.a", "pkg.b"]]
    assert describe_cycle(cycles[0], graph) == "pkg.a → pkg.b → pkg.a"


def test_the_import_graph_is_read_from_the_packages():
    graph, _ = import_graph()
    assert "obcms.workitems.models" in graph and "jobs" in graph
    assert "obcms.extensions" in graph["obcms.workitems.models"]


def test_there_are_no_import_cycles():
    graph, _ = import_graph()
    cycles = [component for component in strongly_connected_components(graph) if len(component) > 1]
    message = "\n".join(f"{len(c)} modules: {', '.join(c)}\n    e.g. {describe_cycle(c, graph)}" for c in cycles)
    assert not cycles, f"import cycles:\n{message}"


def test_no_import_inside_a_function():
    _, function_imports = import_graph()
    assert not function_imports, "imports inside functions (move them to the top of the module):\n" + "\n".join(
        function_imports)


@pytest.mark.parametrize("module", ["jobs.runner", "wsgi", "obcms.jobqueue", "obcms.ops.metrics", "obcms.ops.logs"])
def test_each_entry_point_imports_first_in_a_fresh_interpreter(module):
    """What the static graph above cannot see: importing a submodule runs its package's __init__ first. A plain
    `rq worker` imports jobs.runner before anything else; a cycle through a package __init__ breaks it there."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-1500:]
