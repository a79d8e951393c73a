"""Stage 2b and 3: check what the rule files mean together, then build the
frozen `Policy`. Every problem is collected before one `PolicyError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..diagnostics import Code, Diagnostic, PolicyError, suggest
from ..paths import json_path
from .compile_chat import compile_chat
from .compile_invariants import compile_invariants
from .contract import POLICY_KINDS, Contract
from .files import Document, DocumentCache, files_digest, read_documents
from .model import Origin, Policy, PropertyRule, StatusRule, Strategy, frozen_map

TARGETS = ("visitor.info", "chat.props")


def compile_policy(directory: Path, shown_as: str, contract: Contract, cache: DocumentCache | None = None) -> Policy:
    docs, problems = read_documents(directory, shown_as, contract, cache)
    build = _Build(contract, problems)
    policy = build.run(docs, shown_as)
    if build.problems or policy is None:
        raise PolicyError(build.problems)
    return policy


class _Build:
    def __init__(self, contract: Contract, problems: list[Diagnostic]):
        self.contract = contract
        self.problems = problems

    def origin(self, doc: Document, path: tuple[Any, ...], key: bool = True) -> Origin:
        line, col = doc.doc.at(path, key=key)
        return Origin(doc.file, line, col)

    def one(self, docs: list[Document], kind: str, shown_as: str, what: str) -> Document | None:
        found = [d for d in docs if d.kind == kind]
        if not found:
            if not self.problems:  # a file that failed its schema is already reported
                self.problems.append(
                    Diagnostic(shown_as, 0, 0, f"no {what} (a rule file with `kind: {kind}`)", Code.MISSING_FILE)
                )
            return None
        for extra in found[1:]:
            self.problems.append(extra.diag(("kind",), f"a second {what}; the first is {found[0].file}", Code.DUPLICATE_FILE))
        return found[0]

    def run(self, docs: list[Document], shown_as: str) -> Policy | None:
        strategies = self.strategies(self.one(docs, "strategies", shown_as, "strategy table"))
        status_doc = self.one(docs, "visitorStatus", shown_as, "visitor status table")
        tables: dict[str, Document] = {}
        for doc in (d for d in docs if d.kind == "properties"):
            target = doc.doc.data["target"]
            if target in tables:
                self.problems.append(
                    doc.diag(("target",), f"target {target} is already given in {tables[target].file}", Code.DUPLICATE_FILE)
                )
            else:
                tables[target] = doc
        for target in TARGETS:
            if target not in tables and not self.problems:
                self.problems.append(
                    Diagnostic(
                        shown_as,
                        0,
                        0,
                        f"no property table for {target} (`kind: properties`, `target: {target}`)",
                        Code.MISSING_FILE,
                    )
                )
        if strategies is None or status_doc is None or set(tables) != set(TARGETS):
            return None
        statuses, status_rule = self.statuses(status_doc, strategies)
        known_statuses = tuple(dict.fromkeys([*self.contract.statuses, *statuses]))
        info = self.properties(tables["visitor.info"], strategies, self.contract.info_keys, known_statuses)
        props = self.properties(tables["chat.props"], strategies, self.contract.chat_prop_keys, known_statuses)
        self.status_effects(status_doc, statuses)
        actions = self.one(docs, "chatActions", shown_as, "action rule file")
        client = self.one(docs, "clientRules", shown_as, "client rule file")
        chat = None
        if actions is not None and client is not None:
            chat = compile_chat(actions, client, known_statuses, self.problems, self.contract.actions)
        invariants = compile_invariants(docs, known_statuses, chat, self.contract.actions, self.problems) if chat else ()
        manifest = self.manifest(docs)  # before the early return, so a second manifest is always reported
        if self.problems or status_rule is None or chat is None:
            return None
        return Policy(
            root=shown_as,
            digest=files_digest({doc.file.rsplit("/", 1)[-1]: doc.raw for doc in docs}),
            strategies=frozen_map(strategies),
            info=tuple(info),
            chat_props=tuple(props),
            status=status_rule,
            statuses=frozen_map(statuses),
            per_key_info=frozenset(r.name for r in info if r.per_key),
            validate_report=self.contract.report_validator(statuses),
            time_fields=self.contract.time_fields,
            chat=chat,
            invariants=invariants,
            unread_info=frozenset(r.name for r in info if not r.strategy.sides and r.strategy.value is None and not r.per_key),
            name=manifest.get("name"),
            version=manifest.get("version"),
            engine=manifest.get("engine", "auto"),
        )

    def manifest(self, docs: list[Document]) -> dict[str, Any]:
        """The optional `kind: policy` file: name, version, engine."""
        found = [d for d in docs if d.kind == "policy"]
        for extra in found[1:]:
            self.problems.append(
                extra.diag(("kind",), f"a second policy manifest; the first is {found[0].file}", Code.DUPLICATE_FILE)
            )
        return found[0].doc.data if found else {}

    def strategies(self, doc: Document | None) -> dict[str, Any] | None:
        if doc is None:
            return None
        out = {}
        for name, spec in doc.doc.data["strategies"].items():
            sides = tuple(spec.get("from", ()))
            pick = spec.get("pick")
            if sides and not pick:
                picks = self.contract.schemas[POLICY_KINDS["strategies"]]["$defs"]["strategy"]["properties"]["pick"][
                    "enum"
                ]  # = recovery.picks.PICKS
                self.problems.append(
                    doc.diag(
                        ("strategies", name),
                        f"strategy '{name}' names sides to read from but no `pick` ({', '.join(picks[:-1])} or {picks[-1]})",
                        Code.NO_PICK,
                        at_key=True,
                    )
                )
            out[name] = Strategy(name, sides, pick if sides else None, spec.get("value"), self.origin(doc, ("strategies", name)))
        return out

    def strategy_ref(self, doc: Document, path: tuple[Any, ...], strategies: dict[str, Any]) -> Strategy | None:
        name = doc.doc.data
        for part in path:
            name = name[part]
        if name not in strategies:
            self.problems.append(
                doc.diag(path, f"unknown strategy '{name}'{suggest(name, list(strategies))}", Code.UNKNOWN_STRATEGY)
            )
            return None
        strategy: Strategy = strategies[name]
        return strategy

    def properties(
        self, doc: Document, strategies: dict[str, Any], contract_keys: tuple[Any, ...], statuses: tuple[Any, ...]
    ) -> list[PropertyRule]:
        target = doc.doc.data["target"]
        table = doc.doc.data["properties"]
        rules = []
        for name, spec in table.items():
            if name not in contract_keys:
                self.problems.append(
                    doc.diag(
                        ("properties", name),
                        f"'{name}' is not a property of {target} in the contract{suggest(name, list(contract_keys))}",
                        Code.UNKNOWN_PROPERTY,
                        at_key=True,
                    )
                )
                continue
            strategy = self.strategy_ref(doc, ("properties", name, "strategy"), strategies)
            when = spec.get("when", {}).get("status")
            for i, status in enumerate(when or ()):
                if status not in statuses:
                    self.problems.append(
                        doc.diag(
                            ("properties", name, "when", "status", i),
                            f"unknown status '{status}'{suggest(status, list(statuses))}",
                            Code.UNKNOWN_STATUS,
                        )
                    )
            per_key = spec.get("merge") == "perKey"
            if per_key and strategy is not None and strategy.value is not None:
                self.problems.append(
                    doc.diag(
                        ("properties", name, "merge"),
                        f"merge: perKey needs a strategy that reads reports, not '{strategy.name}'",
                        Code.BAD_MERGE,
                    )
                )
            if strategy is None:
                continue
            rules.append(
                PropertyRule(
                    target,
                    name,
                    json_path([*target.split("."), name]),
                    strategy,
                    per_key,
                    frozenset(when) if when else None,
                    self.origin(doc, ("properties", name)),
                )
            )
        for name in contract_keys:
            if name not in table:
                self.problems.append(
                    doc.diag(
                        ("properties",),
                        f"contract property '{name}' of {target} has no strategy",
                        Code.MISSING_PROPERTY,
                        at_key=True,
                    )
                )
        order = {k: i for i, k in enumerate(contract_keys)}
        return sorted(rules, key=lambda r: order[r.name])

    def statuses(self, doc: Document, strategies: dict[str, Any]) -> tuple[dict[str, Any], PropertyRule | None]:
        data = doc.doc.data
        strategy = self.strategy_ref(doc, ("strategy",), strategies)
        if strategy is not None and strategy.value is not None:
            self.problems.append(
                doc.diag(
                    ("strategy",),
                    f"the uploaded status needs a strategy that reads reports, not '{strategy.name}'",
                    Code.BAD_STRATEGY,
                )
            )
            strategy = None
        rule = (
            None
            if strategy is None
            else PropertyRule("visitor", "status", "$.visitor.status", strategy, False, None, self.origin(doc, ("strategy",)))
        )
        statuses = {}
        for name, spec in data["statuses"].items():
            statuses[name] = StatusRule(
                name,
                spec["recoverAs"],
                tuple(spec.get("set", {}).items()),
                bool(spec.get("chatRelated", False)),
                self.origin(doc, ("statuses", name)),
            )
        for name in self.contract.statuses:
            if name not in statuses:
                self.problems.append(
                    doc.diag(("statuses",), f"contract status '{name}' has no rule", Code.MISSING_STATUS, at_key=True)
                )
        for name, spec in data["statuses"].items():
            target = spec["recoverAs"]
            if target is not None and target not in statuses:
                self.problems.append(
                    doc.diag(
                        ("statuses", name, "recoverAs"),
                        f"'{name}' recovers as '{target}', which is not a status of this table{suggest(target, list(statuses))}",
                        Code.UNKNOWN_STATUS,
                    )
                )
        return statuses, rule

    def status_effects(self, doc: Document, statuses: dict[str, Any]) -> None:
        for name, rule in statuses.items():
            for prop, _ in rule.sets:
                if prop not in self.contract.info_keys:
                    self.problems.append(
                        doc.diag(
                            ("statuses", name, "set", prop),
                            f"'{prop}' is not a visitor.info property{suggest(prop, list(self.contract.info_keys))}",
                            Code.UNKNOWN_PROPERTY,
                            at_key=True,
                        )
                    )
