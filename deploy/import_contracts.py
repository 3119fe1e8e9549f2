"""An import-linter contract type that import-linter does not ship: no import cycles.

import-linter's `acyclic_siblings` looks for cycles between the children of one package;
our apps are five top-level packages, and the cycle this contract exists for ran across
two of them (campaigns.services -> channels.verification -> campaigns.services, hidden
by a function-local import). grimp sees function-local imports too, so this finds every
cycle in the module graph of the root packages, wherever it runs.

Used from `[tool.importlinter]` in pyproject.toml; `lint-imports` runs it in .ci/run.
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

# A broken contract lists this many cycles in full, then counts the rest.
CYCLES_SHOWN = 10


class NoCyclesContract(Contract):
    """The modules of `containers` (and everything below them) import one another one way.

    Options:
        containers: the packages whose modules are checked (the project's apps).
        ignore_prefixes: module prefixes left out, e.g. migrations (Django loads them
            through its own machinery; they never form a runtime cycle of ours).
    """

    type_name = "no_cycles"

    containers = fields.ListField(subfield=fields.StringField())
    ignore_prefixes = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = self._modules(graph)
        cycles = [sorted(component) for component in _strong_components(graph, modules)]
        found = [(component, _one_cycle(graph, component)) for component in cycles]
        return ContractCheck(kept=not cycles, metadata={"cycles": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles = check.metadata["cycles"]
        for component, chain in cycles[:CYCLES_SHOWN]:
            output.print_error(f"Import cycle through {len(component)} modules, for example:")
            output.print_error("  " + " -> ".join(chain), bold=False)
            output.print_error("  all of them: " + ", ".join(component), bold=False)
            output.new_line()
        if len(cycles) > CYCLES_SHOWN:
            output.print_error(f"(and {len(cycles) - CYCLES_SHOWN} more cycles)")

    def _modules(self, graph: grimp.ImportGraph) -> set[str]:
        ignored = tuple(self.ignore_prefixes or ())  # type: ignore[arg-type]
        found = set()
        for container in self.containers:  # type: ignore[attr-defined]
            for module in graph.find_descendants(container) | {container}:
                if not ignored or not module.startswith(ignored):
                    found.add(module)
        return found


def _strong_components(graph: grimp.ImportGraph, modules: set[str]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is deep enough to hit the recursion limit).
    Returns only the components that are cycles: two or more modules, or one that imports
    itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def successors(module: str) -> list[str]:
        return sorted(m for m in graph.find_modules_directly_imported_by(module) if m in modules)

    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1 or module in successors(module):
                    components.append(component)
    return components


def _one_cycle(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """A readable witness: the shortest way from the first module back to itself."""
    start = component[0]
    members = set(component)
    for nxt in sorted(graph.find_modules_directly_imported_by(start)):
        if nxt == start:
            return [start, start]
        if nxt not in members:
            continue
        chain = graph.find_shortest_chain(importer=nxt, imported=start)
        if chain:
            return [start, *chain]
    return component
