"""Render a process's ``script:`` / ``stub:`` block the way Nextflow would, from the nf-lang AST.

Only the small subset of Groovy that module scripts need is evaluated: constants, variables,
properties (``meta.id``, ``task.ext.args``, ``reads.baseName``), GStrings, ``?:``, ``? :``, ``!``,
``&&``, ``||``, ``==``, ``!=``, ``+``, ``in``, ranges, lists, maps, parameterless closures (config
values) and a few string/list methods. Anything else
raises ``Unsupported`` naming the expression and its line, so a module author learns to move logic
into the ``varflow`` command (where it belongs) instead of the test silently guessing.

Values follow Groovy: a missing map key reads as null, null/""/0/[] are false, and a value
interpolated into a GString prints like Groovy prints it (``null``, ``true``, ``[a, b]``,
``[id:x]``); a list of input files prints blank-separated, as Nextflow stages them.
"""

from __future__ import annotations

import textwrap
from pathlib import PurePosixPath
from typing import Any


class Unsupported(ValueError):
    """A Groovy construct the contract test does not evaluate."""


class NfPath(str):
    """An input file as the script sees it: its staged name, plus Nextflow's path properties."""

    @property
    def name(self) -> str:
        return PurePosixPath(self).name

    @property
    def baseName(self) -> str:  # noqa: N802 (Groovy property name)
        return PurePosixPath(self).name.rsplit(".", 1)[0] if "." in PurePosixPath(self).name else self.name

    @property
    def simpleName(self) -> str:  # noqa: N802
        return PurePosixPath(self).name.split(".", 1)[0]

    @property
    def extension(self) -> str:
        name = PurePosixPath(self).name
        return name.rsplit(".", 1)[1] if "." in name else ""

    def getName(self) -> str:  # noqa: N802
        return self.name

    def getBaseName(self) -> str:  # noqa: N802
        return self.baseName

    def getSimpleName(self) -> str:  # noqa: N802
        return self.simpleName


class BlankSeparatedList(list):
    """Several input files bound to one name; Nextflow interpolates them separated by blanks."""


def groovy_str(value: Any) -> str:
    """``value`` as Groovy prints it inside a GString."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BlankSeparatedList):
        return " ".join(groovy_str(v) for v in value)
    if isinstance(value, dict):
        if not value:
            return "[:]"
        return "[" + ", ".join(f"{k}:{groovy_str(v)}" for k, v in value.items()) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(groovy_str(v) for v in value) + "]"
    return str(value)


def truthy(value: Any) -> bool:
    """Groovy truth."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


_METHODS = {
    "join": lambda obj, sep="": sep.join(groovy_str(v) for v in obj),
    "trim": lambda obj: obj.strip(),
    "toString": lambda obj: groovy_str(obj),
    "toLowerCase": lambda obj: obj.lower(),
    "toUpperCase": lambda obj: obj.upper(),
    "contains": lambda obj, item: item in obj,
    "startsWith": lambda obj, prefix: obj.startswith(prefix),
    "endsWith": lambda obj, suffix: obj.endswith(suffix),
    "replace": lambda obj, old, new: obj.replace(old, new),
    "size": lambda obj: len(obj),
    "getName": lambda obj: obj.getName(),
    "getBaseName": lambda obj: obj.getBaseName(),
    "getSimpleName": lambda obj: obj.getSimpleName(),
}


class Evaluator:
    """Evaluates Groovy AST nodes (``nf.expr`` gives the Java classes) against a scope dict."""

    def __init__(self, nf: Any, scope: dict[str, Any], where: str):
        self.x = nf.expr
        self.scope = scope
        self.where = where

    def unsupported(self, node: Any, why: str) -> Unsupported:
        return Unsupported(f"{self.where}:{int(node.getLineNumber())}: {why}: `{node.getText()}`")

    def run_block(self, statements: list[Any]) -> str:
        """Execute a script/stub block: declarations and assignments, then the final string."""
        if not statements:
            raise Unsupported(f"{self.where}: empty block")
        *body, last = statements
        for stmt in body:
            self.execute(stmt)
        if not isinstance(last, self.x.ExpressionStatement):
            raise self.unsupported(last, "the block must end with the command string")
        value = self.eval(last.getExpression())
        if not isinstance(value, str):
            raise self.unsupported(last, "the block must end with the command string")
        # Nextflow strips the common indentation of the rendered script before running it.
        return textwrap.dedent(value).strip("\n") + "\n"

    def execute(self, stmt: Any) -> None:
        if not isinstance(stmt, self.x.ExpressionStatement):
            raise self.unsupported(stmt, "only `def x = ...` and `x = ...` statements are evaluated")
        expr = stmt.getExpression()
        if isinstance(expr, (self.x.DeclarationExpression, self.x.AssignmentExpression)):
            target = expr.getLeftExpression()
            if not isinstance(target, self.x.VariableExpression):
                raise self.unsupported(stmt, "only single-variable assignments are evaluated")
            self.scope[str(target.getName())] = self.eval(expr.getRightExpression())
            return
        raise self.unsupported(stmt, "only `def x = ...` and `x = ...` statements are evaluated")

    def eval(self, node: Any) -> Any:  # noqa: C901 (one dispatch on the node type)
        x = self.x
        if isinstance(node, x.ConstantExpression):
            return _from_java(node.getValue())
        if isinstance(node, x.GStringExpression):
            strings = [str(s.getValue()) for s in node.getStrings()]
            values = [groovy_str(self.eval(v)) for v in node.getValues()]
            out = []
            for i, text in enumerate(strings):
                out.append(text)
                if i < len(values):
                    out.append(values[i])
            out.extend(values[len(strings):])
            return "".join(out)
        if isinstance(node, x.VariableExpression):
            name = str(node.getName())
            if name not in self.scope:
                raise self.unsupported(node, f"no value for variable `{name}` (give it in the contract's stage())")
            return self.scope[name]
        if isinstance(node, x.PropertyExpression):
            obj = self.eval(node.getObjectExpression())
            prop = str(node.getPropertyAsString())
            if obj is None:
                if node.isSafe():
                    return None
                raise self.unsupported(node, "property of null")
            if isinstance(obj, dict):
                return obj.get(prop)
            if hasattr(obj, prop):
                return getattr(obj, prop)
            raise self.unsupported(node, f"unknown property `{prop}` of {type(obj).__name__}")
        if isinstance(node, x.ElvisOperatorExpression):
            value = self.eval(node.getTrueExpression())
            return value if truthy(value) else self.eval(node.getFalseExpression())
        if isinstance(node, x.TernaryExpression):
            branch = node.getTrueExpression() if truthy(self.eval(node.getBooleanExpression())) \
                else node.getFalseExpression()
            return self.eval(branch)
        if isinstance(node, x.NotExpression):
            return not truthy(self.eval(node.getExpression()))
        if isinstance(node, x.BooleanExpression):
            return truthy(self.eval(node.getExpression()))
        if isinstance(node, x.BinaryExpression):
            return self._binary(node)
        if isinstance(node, x.RangeExpression):
            low, high = self.eval(node.getFrom()), self.eval(node.getTo())
            return list(range(low, high + 1 if node.isInclusive() else high))
        if isinstance(node, x.ListExpression):
            return [self.eval(e) for e in node.getExpressions()]
        if isinstance(node, x.MapExpression):
            return {str(e.getKeyExpression().getText()): self.eval(e.getValueExpression())
                    for e in node.getMapEntryExpressions()}
        if isinstance(node, x.ClosureExpression):
            # A config closure such as ext.args = { ... }: Nextflow calls it once per task; so do we.
            if node.getParameters() is not None and len(node.getParameters()) > 0:
                raise self.unsupported(node, "closures with parameters are not evaluated")
            statements = list(node.getCode().getStatements())
            for stmt in statements[:-1]:
                self.execute(stmt)
            return self.eval(statements[-1].getExpression()) if statements else None
        if isinstance(node, x.MethodCallExpression):
            name = str(node.getMethodAsString())
            if name not in _METHODS or node.isImplicitThis():
                raise self.unsupported(node, f"method `{name}` is not evaluated")
            obj = self.eval(node.getObjectExpression())
            args = [self.eval(a) for a in node.getArguments().getExpressions()]
            return _METHODS[name](obj, *args)
        raise self.unsupported(node, f"{type(node).__name__.rsplit('.', 1)[-1]} is not evaluated")

    def _binary(self, node: Any) -> Any:
        op = str(node.getOperation().getText())
        if op == "&&":
            return truthy(self.eval(node.getLeftExpression())) and truthy(self.eval(node.getRightExpression()))
        if op == "||":
            return truthy(self.eval(node.getLeftExpression())) or truthy(self.eval(node.getRightExpression()))
        left, right = self.eval(node.getLeftExpression()), self.eval(node.getRightExpression())
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op == "in":
            return left in right
        if op == "+":
            if isinstance(left, str):
                return left + groovy_str(right)
            if isinstance(left, list):
                return left + (right if isinstance(right, list) else [right])
            return left + right
        if op in ("-", "*") and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            return left - right if op == "-" else left * right
        raise self.unsupported(node, f"operator `{op}` is not evaluated")


def _from_java(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    kind = type(value).__name__
    if "Boolean" in kind:  # JPype's java.lang.Boolean is an int subclass: bool() is exact
        return bool(value)
    if any(t in kind for t in ("Integer", "Long", "Short", "BigInteger")):
        return int(value)
    if any(t in kind for t in ("Double", "Float", "BigDecimal")):
        return float(str(value))
    return str(value)
