"""Offline access to nf-lang, the parser and checker behind ``nextflow lint``, through JPype.

Nextflow cannot be installed on the development machines, but its language server jar (nf-lang plus
the config option specs) runs on Java 17 in-process. This module wraps the few classes the tests need:

* ``ScriptParser``: parse every ``.nf`` file, ``analyze()`` (include resolution, names, call arity,
  strict-syntax deprecations); diagnostics come from each source's error collector.
* ``ConfigParser`` + ``ConfigSpecVisitor``: parse ``.config`` files (syntax, includes, names) and check
  each option against Nextflow's config spec (unknown options), as the language server does.
* The script AST, turned into plain Python objects (``ProcessSpec``) for the module contract tests,
  and the config AST, turned into the list of params a config file assigns.

The JVM can start once per process, so ``NfLang.start`` is called from a session fixture.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JAR = REPO_ROOT / ".cache" / "nf-lang" / "language-server-all.jar"

# Config scopes that a plugin adds; the spec of a plugin is only known online (plugin registry), so
# options in these scopes are accepted when the plugin is declared in a `plugins { id ... }` block.
PLUGIN_SCOPES = {"nf-schema": ("validation",)}


def jar_path() -> Path:
    """Where the nf-lang jar is: $VARFLOW_NF_LANG_JAR, else .cache/nf-lang/language-server-all.jar."""
    return Path(os.environ.get("VARFLOW_NF_LANG_JAR", DEFAULT_JAR))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning reported by nf-lang; ``line``/``column`` are 1-based (0 when unknown)."""

    path: str
    line: int
    column: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Plain-Python view of a process, for the module contract tests.


@dataclass
class Decl:
    """One input/output declaration: ``kind`` is val|path|tuple|env|stdout|eval|each|stdin.

    ``target`` is the Groovy expression (a Java AST node) naming the variable (inputs) or the value /
    file pattern (outputs); ``options`` the named arguments (emit, optional, stageAs, ...) as AST nodes;
    ``elements`` the components of a tuple.
    """

    kind: str
    target: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    elements: list["Decl"] = field(default_factory=list)
    text: str = ""


@dataclass
class ProcessSpec:
    name: str
    path: Path
    line: int
    inputs: list[Decl]
    outputs: list[Decl]
    script_type: str  # "script" | "shell" | "exec"
    script: list[Any]  # statements of the script: block (Java AST)
    stub: list[Any]  # statements of the stub: block (Java AST), empty when absent
    directives: dict[str, list[Any]]


class NfLang:
    """The nf-lang classes, loaded into this process's JVM."""

    def __init__(self, jpype_module: Any, jar: Path):
        self.jpype = jpype_module
        self.jar = jar
        J = jpype_module.JClass
        self._File = J("java.io.File")
        self._ScriptParser = J("nextflow.script.control.ScriptParser")
        self._ConfigParser = J("nextflow.config.control.ConfigParser")
        self._ConfigSpecVisitor = J("nextflow.lsp.services.config.ConfigSpecVisitor")
        self._PluginSpecCache = J("nextflow.lsp.spec.PluginSpecCache")
        self._System = J("java.lang.System")
        self._PrintStream = J("java.io.PrintStream")
        self._ByteArrayOutputStream = J("java.io.ByteArrayOutputStream")
        self.expr = _JavaTypes(jpype_module)

    @classmethod
    def start(cls, jar: Path) -> "NfLang":
        """Start the JVM with ``jar`` on the class path (or reuse a running one that has it)."""
        import jpype

        if not jpype.isJVMStarted():
            jpype.startJVM(classpath=[str(jar)], convertStrings=True)
        try:
            jpype.JClass("nextflow.script.control.ScriptParser")
        except Exception as exc:  # a JVM started elsewhere without the jar
            raise RuntimeError(f"the running JVM cannot load nf-lang from {jar}: {exc}") from exc
        return cls(jpype, jar)

    # ---------------------------------------------------------------------------------- linting

    def lint_scripts(self, paths: list[Path]) -> list[Diagnostic]:
        """Errors and warnings of ``paths`` (and every file they include), like ``nextflow lint``."""
        parser = self._ScriptParser()
        for path in paths:
            parser.parse(self._File(str(path)))
        parser.analyze()
        return self._collect(parser)

    def lint_configs(self, paths: list[Path]) -> list[Diagnostic]:
        """Errors and warnings of config files: syntax, includes, names, unknown config options."""
        parsers = []
        for path in paths:
            # One parser per file: each config is resolved from its own directory, as Nextflow does.
            parser = self._ConfigParser()
            parser.parse(self._File(str(path)))
            parser.analyze()
            parsers.append(parser)
        units = [u for p in parsers for u in dict(p.compiler().getSources()).values()]
        plugin_scopes = {scope for unit in units for plugin in self._declared_plugins(unit)
                         for scope in PLUGIN_SCOPES.get(plugin, ())}
        # The registry URL is unreachable on purpose: plugin specs are not fetched (offline); the
        # connection stack trace this prints is kept off the test output.
        cache = self._PluginSpecCache("http://127.0.0.1:9/")
        for unit in units:
            if unit.getAST() is not None and not unit.getErrorCollector().hasErrors():
                self._quietly(lambda u=unit: self._ConfigSpecVisitor(u, cache, False).visit())
        diagnostics = {d for parser in parsers for d in self._collect(parser)
                       if not (d.severity == "warning" and _is_plugin_option(d.message, plugin_scopes))}
        return sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.message))

    def _quietly(self, action) -> None:
        saved = self._System.err
        self._System.setErr(self._PrintStream(self._ByteArrayOutputStream()))
        try:
            action()
        finally:
            self._System.setErr(saved)

    @staticmethod
    def _declared_plugins(unit) -> list[str]:
        """Plugin names (without version) of the ``plugins { id 'name@version' }`` blocks of a config."""
        node = unit.getAST()
        if node is None:
            return []
        names = []
        for stmt in node.getConfigStatements():
            if type(stmt).__name__.endswith("ConfigApplyBlockNode") and str(stmt.name) == "plugins":
                for apply in stmt.statements:
                    for arg in apply.getArguments().getExpressions():
                        names.append(str(arg.getText()).split("@", 1)[0])
        return names

    def _collect(self, parser) -> list[Diagnostic]:
        diagnostics: list[Diagnostic] = []
        for uri, unit in dict(parser.compiler().getSources()).items():
            path = _uri_to_path(str(uri))
            collector = unit.getErrorCollector()
            for message in list(collector.getErrors() or []):
                diagnostics.append(_error_diagnostic(path, message))
            for message in list(collector.getWarnings() or []):
                context = message.getContext()
                line = int(context.getStartLine()) if context is not None else 0
                column = int(context.getStartColumn()) if context is not None else 0
                diagnostics.append(Diagnostic(path, line, column, "warning", str(message.getMessage())))
        return diagnostics

    # ------------------------------------------------------------------------------ script AST

    def processes(self, path: Path) -> list[ProcessSpec]:
        """Every process of ``path`` as a ``ProcessSpec``; raises on a file that does not parse."""
        parser = self._ScriptParser()
        unit = parser.parse(self._File(str(path)))
        parser.analyze()
        errors = [d for d in self._collect(parser) if d.severity == "error"]
        if errors:
            raise ValueError("; ".join(map(str, errors)))
        specs = []
        for node in unit.getAST().getProcesses():
            if not hasattr(node, "inputs"):
                raise ValueError(f"{path}: process {node.getName()} uses the typed (v2) process syntax, "
                                 "which the contract test does not read yet")
            specs.append(ProcessSpec(
                name=str(node.getName()),
                path=path,
                line=int(node.getLineNumber()),
                inputs=[self._decl(s.getExpression()) for s in _statements(node.inputs)],
                outputs=[self._decl(s.getExpression()) for s in _statements(node.outputs)],
                script_type=str(node.type),
                script=_statements(node.exec_),
                stub=_statements(node.stub) if node.stub is not None else [],
                directives=self._directives(node.directives),
            ))
        return specs

    def _directives(self, block) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for stmt in _statements(block):
            call = stmt.getExpression()
            if isinstance(call, self.expr.MethodCallExpression):
                out[str(call.getMethodAsString())] = list(call.getArguments().getExpressions())
        return out

    def _decl(self, call) -> Decl:
        if not isinstance(call, self.expr.MethodCallExpression):
            raise ValueError(f"unexpected declaration {call.getText()}")
        kind = str(call.getMethodAsString())
        args = list(call.getArguments().getExpressions())
        options: dict[str, Any] = {}
        positional = []
        for arg in args:
            if isinstance(arg, self.expr.MapExpression):
                for entry in arg.getMapEntryExpressions():
                    options[str(entry.getKeyExpression().getText())] = entry.getValueExpression()
            else:
                positional.append(arg)
        if kind == "tuple":
            return Decl(kind, options=options, elements=[self._decl(a) for a in positional],
                        text=str(call.getText()))
        return Decl(kind, target=positional[0] if positional else None, options=options,
                    text=str(call.getText()))

    # ------------------------------------------------------------------------------ config AST

    def config_params(self, path: Path) -> dict[str, list[tuple[str, Any]]]:
        """Params assigned in ``path`` (not following includes), grouped by where they are set.

        Returns {"<top>": [(name, value AST)], "<profile name>": [...], ...}; a param set in
        ``params { }`` and one set as ``params.x = ...`` both count.
        """
        parser = self._ConfigParser()
        unit = parser.parse(self._File(str(path)))
        parser.analyze()
        errors = [d for d in self._collect(parser) if d.severity == "error"]
        if errors:
            raise ValueError("; ".join(map(str, errors)))
        found: dict[str, list[tuple[str, Any]]] = {}
        self._walk_config(unit.getAST().getConfigStatements(), [], "<top>", found)
        return found

    def process_selectors(self, path: Path, profile: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """Options of the ``process { }`` scope of a config file (or of one of its profiles).

        Returns [(kind, selector, {option: value AST})]: ("process", "", {...}) for the scope's own
        options, then one entry per ``withName``/``withLabel`` block, e.g. ("withName",
        "SIMULATE_COHORT", {"ext.args": <ClosureExpression>, "ext.prefix": ..., "publishDir": ...}).
        """
        parser = self._ConfigParser()
        unit = parser.parse(self._File(str(path)))
        parser.analyze()
        errors = [d for d in self._collect(parser) if d.severity == "error"]
        if errors:
            raise ValueError("; ".join(map(str, errors)))
        statements = list(unit.getAST().getConfigStatements())
        if profile is not None:
            profiles = [p for s in statements if _is_block(s, "profiles") for p in s.statements]
            matching = [p for p in profiles if str(p.name) == profile]
            if not matching:
                raise ValueError(f"{path}: no profile {profile}")
            statements = list(matching[0].statements)
        own: dict[str, Any] = {}
        out = []
        for stmt in statements:
            if _is_assign(stmt) and str(stmt.names[0]) == "process" and len(stmt.names) > 1:
                own[".".join(str(n) for n in list(stmt.names)[1:])] = stmt.value
            if not _is_block(stmt, "process"):
                continue
            for block in stmt.statements:
                if _is_assign(block):
                    own[".".join(str(n) for n in block.names)] = block.value
                elif type(block).__name__.endswith("ConfigBlockNode") and block.kind is not None:
                    options = {".".join(str(n) for n in a.names): a.value for a in block.statements if _is_assign(a)}
                    out.append((str(block.kind), str(block.name), options))
        return [("process", "", own), *out]

    def _walk_config(self, statements, scope: list[str], where: str, found) -> None:
        for stmt in statements:
            kind = type(stmt).__name__.rsplit(".", 1)[-1]
            if kind == "ConfigAssignNode":
                names = scope + [str(n) for n in stmt.names]
                if len(names) >= 2 and names[0] == "params":
                    found.setdefault(where, []).append((".".join(names[1:]), stmt.value))
            elif kind == "ConfigBlockNode":
                name = str(stmt.name)
                if not scope and name == "profiles":
                    for profile in stmt.statements:
                        self._walk_config(profile.statements, [], str(profile.name), found)
                elif stmt.kind is None:
                    self._walk_config(stmt.statements, scope + [name], where, found)


class _JavaTypes:
    """Groovy AST expression classes, for isinstance checks."""

    NAMES = ("ConstantExpression", "VariableExpression", "PropertyExpression", "GStringExpression",
             "ElvisOperatorExpression", "TernaryExpression", "BinaryExpression", "DeclarationExpression",
             "NotExpression", "BooleanExpression", "ListExpression", "MapExpression",
             "MethodCallExpression", "ArgumentListExpression", "ClosureExpression", "RangeExpression")

    def __init__(self, jpype_module: Any):
        for name in self.NAMES:
            setattr(self, name, jpype_module.JClass(f"org.codehaus.groovy.ast.expr.{name}"))
        self.AssignmentExpression = jpype_module.JClass("nextflow.script.ast.AssignmentExpression")
        self.ExpressionStatement = jpype_module.JClass("org.codehaus.groovy.ast.stmt.ExpressionStatement")


def _is_block(stmt, name: str) -> bool:
    return type(stmt).__name__.endswith("ConfigBlockNode") and stmt.kind is None and str(stmt.name) == name


def _is_assign(stmt) -> bool:
    return type(stmt).__name__.endswith("ConfigAssignNode")


def _statements(block) -> list[Any]:
    if block is None:
        return []
    if hasattr(block, "getStatements"):
        return list(block.getStatements())
    return [block]


def _uri_to_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _error_diagnostic(path: str, message) -> Diagnostic:
    cause = message.getCause() if hasattr(message, "getCause") else None
    kind = type(message).__name__.rsplit(".", 1)[-1]
    if kind == "SyntaxErrorMessage" and cause is not None:
        text = str(cause.getOriginalMessage()) if hasattr(cause, "getOriginalMessage") else str(cause.getMessage())
        return Diagnostic(path, int(cause.getLine()), int(cause.getStartColumn()), "error", text)
    if kind == "ExceptionMessage" and cause is not None:
        detail = cause.getMessage()
        text = f"parser exception {type(cause).__name__.rsplit('.', 1)[-1]}" + (f": {detail}" if detail else "")
        return Diagnostic(path, 0, 0, "error", text)
    text = str(message.getMessage()) if hasattr(message, "getMessage") else str(message)
    return Diagnostic(path, 0, 0, "error", text)


def _is_plugin_option(message: str, plugin_scopes: set[str]) -> bool:
    prefix = "Unrecognized config option '"
    if not message.startswith(prefix):
        return False
    option = message[len(prefix):].rstrip("'")
    return option.split(".", 1)[0] in plugin_scopes
