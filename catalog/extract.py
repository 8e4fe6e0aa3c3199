#!/usr/bin/env python3
"""Regenerate catalog/endpoints.yaml, the catalog of documented Password Safe API v3 endpoints.

The catalog is derived from the source of the official Python library
`beyondtrust-bips-library` (package `secrets_safe_library`) and the official CLI
`beyondtrust-bips-cli` (package `ps_cli`), read with `ast` from an installed copy (they are
never imported or run), then merged with a small hand-kept list of facts from the project
reference (shared/reference/password-safe-api.md) and the vendor seed (shared/seeds/).

How to run (Python 3.11; the library and CLI only need to be installed, not imported):

    python3 -m venv /tmp/catvenv
    /tmp/catvenv/bin/pip install beyondtrust-bips-library==2.32.1 beyondtrust-bips-cli==0.13.0
    /tmp/catvenv/bin/python catalog/extract.py            # rewrite catalog/endpoints.yaml
    /tmp/catvenv/bin/python catalog/extract.py --check    # exit 1 if the file is stale
    /tmp/catvenv/bin/python catalog/extract.py --stdout   # print instead of writing
    /tmp/catvenv/bin/python catalog/extract.py --report   # counts and cross-checks on stderr

`--site-packages DIR` reads the packages from DIR instead of the running interpreter's path.
The output depends only on the package sources and this file: running it twice gives the
same bytes.

What it does, in order:
1. `core.py`: the request helpers of `APIObject` (`_run_get_request`, `_run_post_request`,
   `_run_post_file_request`, `_run_put_request`, `_run_put_file_request`,
   `_run_delete_request`), their HTTP method and default `expected_status_code`.
2. Every class deriving from `APIObject` in the package's top-level modules, with its base
   `endpoint` (from its `__init__`) and the mixins it inherits (`mixins.py`).
3. Every method of those classes (and every inherited, not overridden, mixin method) is
   interpreted abstractly: string assignments, f-strings, `+`, `.format`, `.replace`,
   `self._build_endpoint(CONSTANT, ...)`, `if name == "...":` narrowing, and helpers that get a
   request function passed in (`run_request=self._run_post_request`). Each call of a request
   helper gives (method, path template, expected statuses). A call whose path cannot be
   resolved is an error, so a new library version cannot silently drop endpoints.
4. Path templates become routes: query string and trailing `/` dropped, segments spelled
   as the vendor does where a source spells them (reference, seed, the library's own
   `API: METHOD Route` docstrings), parameters renamed to descriptive camelCase.
5. The CLI controllers: which library class each controller wraps (its area name) and which
   commands call which library methods (and with which `expected_status_code` overrides).
6. Merge: one entry per method + route (case-insensitive, parameter names ignored), the
   hand-kept reference/seed entries and facts below, the area names, the effect.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "endpoints.yaml"

# ---------------------------------------------------------------------------------------------
# Hand-kept data. Everything below this line up to "Analysis" is ours; the rest is derived.
# ---------------------------------------------------------------------------------------------

# The exact distributions read. `pip download --no-deps <name>==<version>` then `sha256sum`.
SOURCES = [
    {
        "dist": "beyondtrust-bips-library",
        "package": "secrets_safe_library",
        "version": "2.32.1",
        "wheel": "beyondtrust_bips_library-2.32.1-py3-none-any.whl",
        "sha256": "0c09030f74bac674bdb816bca10559ef0fcee261a0c1234aa3ca32bc417d49e4",
    },
    {
        "dist": "beyondtrust-bips-cli",
        "package": "ps_cli",
        "version": "0.13.0",
        "wheel": "beyondtrust_bips_cli-0.13.0-py3-none-any.whl",
        "sha256": "df0d8ff7bc4c7c9e23887fb2f1ad61a044f92b9c896d3949946e931c4378436a",
    },
]
REFERENCE = "shared/reference/password-safe-api.md"
SEED = "shared/seeds/000_8fdfc0fb1182c8bd.txt"  # the vendor's Authentication page

# Area names. By default a library class's area is the name of the CLI controller that wraps
# it (`managed-accounts` -> "Managed Accounts"), with the acronyms below restored. Classes no
# CLI controller wraps, or whose controller name is not the vendor's grouping, are named here.
AREA_ACRONYMS = {
    "Api": "API",
    "Isa": "ISA",
    "Dss": "DSS",
    "Epm": "EPM",
    "Usergroups": "User Groups",
}
AREA_BY_CLASS = {
    "config.py Configuration": "Configuration",
    "request_termination.py RequestTermination": "Request Termination",
    "requests.py Request": "Requests",
    "subscription_delivery.py SubscriptionDelivery": "Subscriptions Delivery",
    "isa_sessions.py ISASession": "ISA Sessions",
    "addresses.py Address": "Addresses",
    "request_sets.py RequestSets": "Request Sets",
}
AUTH_AREA = "Authentication"

# A route found in classes of several areas belongs to the area whose class's base resource
# comes last in the route (ManagedAccounts/{id}/Attributes -> Attributes). Classes without a
# base `endpoint` get their resource segment here.
RESOURCE_OF_CLASS = {
    "assets.py Asset": "assets",
    "databases.py Database": "databases",
    "entitlements.py Entitlement": "entitlements",
    "managed_systems.py ManagedSystem": "managedsystems",
    "request_termination.py RequestTermination": "terminate",
    "requests.py Request": "requests",
    "usergroups.py Usergroups": "usergroups",
    "users.py User": "users",
}

# Segment spellings for segments that no source spells with capitals (the library mostly
# lower-cases paths; the reference, the seed and the library's docstrings give the vendor's
# spelling for the others). Our PascalCase, word by word; routing is case-insensitive.
SEGMENT_CASE = {
    "add": "Add",
    "admin": "Admin",
    "applications": "Applications",
    "approve": "Approve",
    # vendor spelling per REF:§0 and §6.2 (DOC-CHECKIN); the libraries write checkin
    "checkin": "Checkin",
    "deny": "Deny",
    "download": "Download",
    "dsskeyrules": "DSSKeyRules",
    "epmapplications": "EPMApplications",
    "epmpolicies": "EPMPolicies",
    "favorite": "Favorite",
    "file": "File",
    "imports": "Imports",
    "key": "Key",
    "lock": "Lock",
    "nodes": "Nodes",
    "operatingsystems": "OperatingSystems",
    "passwordrules": "PasswordRules",
    "pbsm": "PBSM",
    "propagationactiontypes": "PropagationActionTypes",
    "quarantine": "Quarantine",
    "recycleclientsecret": "RecycleClientSecret",
    "replay": "Replay",
    "rotate": "Rotate",
    "rotateoncheckin": "RotateOnCheckin",
    "safe-permissions": "Safe-Permissions",
    "shares": "Shares",
    "terminate": "Terminate",
    "text": "Text",
    "ticketsystems": "TicketSystems",
    "upload": "Upload",
    "userauditdetails": "UserAuditDetails",
    "useraudits": "UserAudits",
}

# Parameter names the library uses that say nothing; the name then comes from the segment
# before the parameter (Folders/{object_id} -> {folderId}).
GENERIC_PARAMS = {"id", "object_id", "oid_id", "param"}

# Singular forms for naming parameters after the segment before them.
SINGULAR = {
    "Addresses": "Address",
    "Aliases": "Alias",
    "Policies": "Policy",
    "Directories": "Directory",
    "Replay": "Replay",
    "Credentials": "Credential",
    "Secrets": "Secret",
}

# POSTs that only read, query, sign in or out. Every other POST, every PUT and DELETE is a
# change; every GET is a read. Keys: lower-case route with {} for parameters.
READ_POSTS = {
    "accesspolicies/test": "evaluates an access policy for an account; changes nothing",
    "assets/search": "search",
    "auth/connect/token": "issues an OAuth token; no stored state",
    "auth/signappin": "opens a session",
    "auth/signout": "closes the session",
    "keystrokes/search": "search",
    "oracleinternetdirectories/{}/services/query": "queries the directory for services",
    "oracleinternetdirectories/{}/test": "tests the connection to the directory",
    "subscriptions/delivery/download": "downloads a delivered report",
}
# Notes on effect for changes that look like reads.
EFFECT_NOTES = {
    ("POST", "managedaccounts/{}/credentials/test"): (
        "effect change: logs on to the managed system with the stored credentials (failed "
        "logons may lock the account)"
    ),
    ("GET", "apiregistrations/{}/key"): "returns the registration's API key (a secret)",
}

# Endpoints no library class calls, from the reference and the seed. Routes in vendor
# spelling. `statuses` as documented.
REF_ENTRIES = [
    {
        "area": AUTH_AREA,
        "method": "POST",
        "route": "Auth/SignAppin",
        "statuses": [200, 401, 403, 410],
        "source": "SEED; REF:§1.1; PYLIB:authentication.py Authentication.send_post_sign_app_in",
        "note": "library and GOLIB spell Auth/SignAppIn; 401 + WWW-Authenticate-2FA is the "
        "two-factor challenge (REF:§1.1, wire)",
    },
    {
        "area": AUTH_AREA,
        "method": "POST",
        "route": "Auth/Signout",
        "statuses": [200],
        "source": "SEED; REF:§1.2; PYLIB:authentication.py Authentication.sign_app_out",
        "note": "cookie only, no body; the library calls it after every unexpected status",
    },
    {
        "area": AUTH_AREA,
        "method": "POST",
        "route": "Auth/Connect/Token",
        "statuses": [200],
        "source": "SEED; REF:§1.3; PYLIB:authentication.py Authentication.oauth",
        "note": "library spells Auth/connect/token; error status for a bad client not "
        "documented (GOLIB mock 401 invalid_client, REF:§8.4)",
    },
    {
        "area": "Requests",
        "method": "PUT",
        "route": "Requests/Release/{requestId}",
        "statuses": [204],
        "source": "REF:§2.4",
        "note": "deprecated alias of PUT Requests/{requestId}/Checkin (DOC-CHECKIN); no "
        "official client calls it",
    },
]

# Facts the reference adds to library endpoints: documented error statuses (doc or wire
# only; mock-only codes go to the note), notes, and the section cited.
REF_FACTS = {
    ("GET", "managedaccounts"): {
        "ref": "§2.1",
        "note": "single object for systemName+accountName, array otherwise; 404 for an "
        "unknown pair is mock-only (GOLIB), REF:§8.7",
    },
    ("POST", "requests"): {
        "ref": "§2.2",
        "statuses": [403, 409],
        "note": "201 new, 200 reused (ConflictOption=reuse), bare integer body; 403 "
        "4031-4035, 409 4091 on conflict",
    },
    ("GET", "credentials/{}"): {
        "ref": "§2.3",
        "statuses": [403, 404],
        "note": "bare JSON string; 403 4031/4034, 404 for unknown, checked-in or expired "
        "request",
    },
    ("PUT", "requests/{}/checkin"): {
        "ref": "§2.4",
        "note": "vendor spells Checkin, library and GOLIB checkin; deprecated alias PUT "
        "Requests/Release/{requestId}; the library adds ?version=",
    },
    ("GET", "requests"): {"ref": "§2.5", "statuses": [403], "note": "403 4032/4033 (DOC-REQ)"},
    ("PUT", "requests/{}/approve"): {"ref": "§2.5"},
    ("PUT", "requests/{}/deny"): {"ref": "§2.5"},
    ("PUT", "requests/{}/rotateoncheckin"): {"ref": "§2.5"},
    ("POST", "aliases/{}/requests"): {"ref": "§2.5"},
    ("POST", "isarequests"): {
        "ref": "§2.5",
        "note": "success body shape (bare string or {Credentials}) unverified, REF:§8.9",
    },
    ("GET", "aliases/{}/credentials/{}"): {
        "ref": "§2.3",
        "note": "object with Password/PrivateKey/Passphrase, not a bare string",
    },
    ("GET", "configuration/version"): {"ref": "§2.5", "note": 'body {"Version": "x.y.z"}'},
    ("GET", "secrets-safe/secrets"): {
        "ref": "§3.1",
        "note": "200 [] when nothing matches; {TotalCount, Data} wrapper in version 3.2",
    },
    ("GET", "secrets-safe/secrets/{}"): {"ref": "§3.2"},
    ("GET", "secrets-safe/secrets/{}/text"): {"ref": "§3.2"},
    ("GET", "secrets-safe/secrets/{}/file"): {"ref": "§3.2"},
    ("GET", "secrets-safe/secrets/{}/shares"): {"ref": "§3.2"},
    ("POST", "secrets-safe/folders/{}/secrets"): {
        "ref": "§3.3",
        "note": "409 when the title exists is mock-only (GOLIB)",
    },
    ("POST", "secrets-safe/folders/{}/secrets/text"): {"ref": "§3.3"},
    ("POST", "secrets-safe/folders/{}/secrets/file"): {
        "ref": "§3.3",
        "note": "multipart: library part 'files', GOLIB part 'file'",
    },
    ("PUT", "secrets-safe/secrets/{}"): {"ref": "§3.3"},
    ("PUT", "secrets-safe/secrets/{}/text"): {"ref": "§3.3"},
    ("PUT", "secrets-safe/secrets/{}/file"): {"ref": "§3.3"},
    ("DELETE", "secrets-safe/secrets/{}"): {"ref": "§3.3"},
    ("GET", "secrets-safe/secrets/{}/file/download"): {
        "ref": "§3.4",
        "note": "raw file content, not JSON",
    },
    ("GET", "secrets-safe/folders"): {
        "ref": "§3.5",
        "note": "whether limit switches to {TotalCount, Data} is open, REF:§8.10",
    },
    ("POST", "secrets-safe/folders"): {"ref": "§3.5", "statuses": [409]},
    ("GET", "secrets-safe/safes"): {"ref": "§3.5"},
    ("POST", "secrets-safe/folders/{}/upload"): {
        "ref": "§3.5",
        "note": "CSV import; camelCase result {totalNumber, errors, successfulImport}",
    },
    ("GET", "managedsystems"): {
        "ref": "§5",
        "note": "plain array without limit, {TotalCount, Data} with limit (DOC-MS)",
    },
    ("GET", "managedaccounts/{}"): {
        "ref": "§2.1",
        "note": "provisioning model (ManagedAccountID, ...)",
    },
    ("GET", "managedsystems/{}/managedaccounts"): {"ref": "§2.1"},
    ("GET", "useraudits"): {"ref": "§5", "note": "{TotalCount, Data}"},
}

# Where the library's code builds a path its own docstring and endpoint constant contradict,
# the documented form is catalogued. (method, code path as built, lower-case) -> route key.
LIBRARY_QUIRKS = {
    ("POST", "subscriptions/delivery/download/id={request_id}"): (
        "subscriptions/delivery/download",
        "library code builds .../download/id={id} (a path segment); its docstring and "
        "endpoint constant say Download?id={id} (a query), catalogued as documented",
    ),
}

# Endpoint constants (constants/endpoints.py) that name no route by themselves: variants of a
# route for request-body versioning (`users:bi`), query forms, or a placeholder for a route
# that the library calls under another spelling. Each is checked to be one of these.
CONSTANT_ONLY_OK = {
    "get:entitlements:groupids": "query form of GET Entitlements",
    "post:users:bi": "body variant of POST Users",
    "post:users:ad": "body variant of POST Users",
    "post:users:ldap": "body variant of POST Users",
    "post:users:app": "body variant of POST Users",
    "put:users/{id}:bi": "body variant of PUT Users/{id}",
    "put:users/{id}:app": "body variant of PUT Users/{id}",
    "post:usergroups:bi": "body variant of POST UserGroups",
    "post:usergroups:entraid": "body variant of POST UserGroups",
    "post:usergroups:ad": "body variant of POST UserGroups",
    "post:usergroups:ldap": "body variant of POST UserGroups",
    "post:managed_accounts/applications/{applicationid}": (
        "key for POST ManagedAccounts/{id}/Applications/{applicationId}"
    ),
    "delete:managed_accounts/applications/{applicationid}": (
        "key for DELETE ManagedAccounts/{id}/Applications/{applicationId}"
    ),
    "get:organizations/{name}": "GET Organizations?name= (the library sends a query)",
    "get:addressgroups/{name}": "GET AddressGroups?name= (the library sends a query)",
}
# Endpoint constants the library declares but no method calls. Catalogued with a note:
# the library names them as API endpoints, but nothing in it shows their statuses.
CONSTANT_ONLY_ENTRIES = {
    "get:secrets-safe/folders/{folderid}/secrets": {
        "area": "Secrets",
        "statuses": [],
        "note": "declared in the library's endpoint constants and named in the docstring of "
        "SecretsSafe.list_secrets_by_folder_id, whose code calls GET "
        "Secrets-Safe/Secrets?folderId= instead; success status not shown by the library",
    },
    "get:secrets-safe/folders/{folderid}/text": {
        "area": "Secrets",
        "statuses": [],
        "note": "declared in the library's endpoint constants only; no method calls it; "
        "success status not shown by the library",
    },
    "get:secrets-safe/folders/{folderid}/file": {
        "area": "Secrets",
        "statuses": [],
        "note": "declared in the library's endpoint constants only; no method calls it; "
        "success status not shown by the library",
    },
    "post:imports": {
        "area": "Imports",
        "statuses": [],
        "note": "declared in the library's endpoint constants only; no library method or "
        "CLI command calls it; success status unknown",
    },
}

# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------

HELPER_RE = re.compile(r"^_run_(get|post|put|delete)(_file)?_request$")


class ExtractError(Exception):
    pass


@dataclass
class Call:
    """One request-helper call, as found in the library."""

    method: str
    path: str  # template with {param} placeholders, as built, query included
    statuses: tuple
    module: str
    cls: str
    func: str
    via: str = ""  # "mixins.py GetByIdMixin" when the method is inherited
    site: str = ""  # file:line of the helper call


@dataclass
class ClassInfo:
    module: str
    name: str
    node: ast.ClassDef
    base_endpoint: str | None
    mixins: list
    methods: dict = field(default_factory=dict)

    @property
    def key(self):
        return f"{self.module} {self.name}"


def find_package(name: str, site: Path | None) -> Path:
    if site is not None:
        p = site / name
        if not (p / "__init__.py").exists():
            raise ExtractError(f"{name} not found under {site}")
        return p
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ExtractError(
            f"package {name} is not installed; see the top of catalog/extract.py for how to "
            "install it"
        )
    return Path(list(spec.submodule_search_locations)[0])


def check_versions(site: Path | None) -> None:
    for src in SOURCES:
        if site is not None:
            dists = list(site.glob(src["dist"].replace("-", "_") + "-*.dist-info"))
            version = dists[0].name.split("-")[1] if dists else None
        else:
            try:
                version = importlib.metadata.version(src["dist"])
            except importlib.metadata.PackageNotFoundError:
                version = None
        if version != src["version"]:
            raise ExtractError(
                f"{src['dist']} {version} is installed; the catalog is pinned to "
                f"{src['version']} (update SOURCES with the new wheel and sha256 first)"
            )


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def const_strings(tree: ast.Module) -> dict:
    """Module-level NAME = "string" assignments."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            t = node.targets[0]
            if isinstance(t, ast.Name) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    out[t.id] = node.value.value
    return out


def helper_defaults(core: ast.Module) -> dict:
    """APIObject request helpers: name -> (HTTP method, positional params, default status)."""
    out = {}
    for cls in core.body:
        if isinstance(cls, ast.ClassDef) and cls.name == "APIObject":
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and HELPER_RE.match(fn.name):
                    args = [a.arg for a in fn.args.args][1:]
                    defaults = dict(zip(args[len(args) - len(fn.args.defaults):], fn.args.defaults))
                    status = literal_status(defaults.get("expected_status_code"))
                    if status is None:
                        raise ExtractError(f"core.py {fn.name}: no default expected_status_code")
                    verb = HELPER_RE.match(fn.name).group(1).upper()
                    out[fn.name] = (verb, args, status)
    if len(out) != 6:
        raise ExtractError(f"core.py: expected 6 request helpers in APIObject, found {sorted(out)}")
    return out


def literal_status(node) -> tuple | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return (node.value,)
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, int) for e in node.elts
    ):
        return tuple(e.value for e in node.elts)
    return None


def param_name(expr: ast.AST) -> str:
    """A name for the value an f-string interpolates."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Call):
        if expr.args:
            return param_name(expr.args[0])
        if isinstance(expr.func, ast.Attribute):
            return param_name(expr.func.value)
    if isinstance(expr, ast.Subscript):
        s = expr.slice
        if isinstance(s, ast.Constant) and isinstance(s.value, str):
            return s.value
    return "param"


class Helper:
    """A request helper passed around as a value (run_request=self._run_post_request)."""

    def __init__(self, name):
        self.name = name


class Literal:
    """A non-string literal bound to a parameter (expected_status=[201])."""

    def __init__(self, node):
        self.node = node


class Interp:
    """Abstract interpretation of one method body: which request helpers it calls, with
    which path templates and expected statuses."""

    def __init__(self, ctx, cls: ClassInfo, fn: ast.FunctionDef, source_fn: str, via: str):
        self.ctx = ctx
        self.cls = cls
        self.fn = fn
        self.source_fn = source_fn
        self.via = via
        self.defaults = {}
        args = fn.args
        pos = args.posonlyargs + args.args
        for a, d in zip(pos[len(pos) - len(args.defaults):], args.defaults):
            self.defaults[a.arg] = d
        for a, d in zip(args.kwonlyargs, args.kw_defaults):
            if d is not None:
                self.defaults[a.arg] = d
        self.params = {a.arg for a in pos + args.kwonlyargs}
        self.calls: list[Call] = []
        self.depth = 0

    def where(self, node) -> str:
        return f"{self.cls.module}:{getattr(node, 'lineno', '?')} {self.cls.name}.{self.fn.name}"

    # values: frozenset[str] for strings, Helper, Literal, or None (unknown)
    def eval(self, e, env):
        if isinstance(e, ast.Constant) and isinstance(e.value, str):
            return frozenset([e.value])
        if isinstance(e, ast.JoinedStr):
            acc = {""}
            for part in e.values:
                if isinstance(part, ast.Constant):
                    acc = {a + part.value for a in acc}
                else:
                    inner = self.eval(part.value, env)
                    if isinstance(inner, frozenset):
                        acc = {a + v for a in acc for v in inner}
                    else:
                        acc = {a + "{" + param_name(part.value) + "}" for a in acc}
            return frozenset(acc)
        if isinstance(e, ast.Name):
            if e.id in env:
                return env[e.id]
            if e.id in self.ctx.constants:
                return frozenset([self.ctx.constants[e.id]])
            return None
        if isinstance(e, ast.Attribute):
            if isinstance(e.value, ast.Name) and e.value.id == "self":
                if e.attr == "endpoint":
                    if self.cls.base_endpoint is None:
                        raise ExtractError(f"{self.where(e)}: self.endpoint but no base endpoint")
                    return frozenset([self.cls.base_endpoint])
                if HELPER_RE.match(e.attr):
                    return Helper(e.attr)
            return None
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            left, right = self.eval(e.left, env), self.eval(e.right, env)
            if isinstance(left, frozenset) and isinstance(right, frozenset):
                return frozenset(a + b for a in left for b in right)
            return None
        if isinstance(e, ast.IfExp):
            a, b = self.eval(e.body, env), self.eval(e.orelse, env)
            if isinstance(a, frozenset) and isinstance(b, frozenset):
                return a | b
            return a if isinstance(a, frozenset) else b if isinstance(b, frozenset) else None
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute):
            f = e.func
            is_self = isinstance(f.value, ast.Name) and f.value.id == "self"
            if is_self and f.attr == "_build_endpoint":
                base = self.eval(e.args[0], env) if e.args else None
                if not isinstance(base, frozenset):
                    return None
                out = set()
                for b in base:
                    path = "/" + b.split(":", 1)[1]
                    for kw in e.keywords:
                        path = path.replace("{" + kw.arg + "}", "{" + param_name(kw.value) + "}")
                    out.add(path)
                return frozenset(out)
            target = self.eval(f.value, env)
            if isinstance(target, frozenset):
                if f.attr == "format" and not e.args:
                    out = set()
                    for t in target:
                        for kw in e.keywords:
                            t = t.replace("{" + kw.arg + "}", "{" + param_name(kw.value) + "}")
                        out.add(t)
                    return frozenset(out)
                if f.attr == "replace" and len(e.args) == 2:
                    a, b = self.eval(e.args[0], env), self.eval(e.args[1], env)
                    strings = isinstance(a, frozenset) and isinstance(b, frozenset)
                    if strings and len(a) == len(b) == 1:
                        (a1,), (b1,) = a, b
                        return frozenset(t.replace(a1, b1) for t in target)
        return None

    def status(self, e, env, default):
        if e is None:
            return default
        s = literal_status(e)
        if s is not None:
            return s
        if isinstance(e, ast.Name):
            v = env.get(e.id)
            if isinstance(v, Literal):
                return self.status(v.node, env, default)
            if e.id in self.defaults:
                return self.status(self.defaults[e.id], env, default)
        raise ExtractError(f"{self.where(e)}: cannot resolve expected status {ast.unparse(e)}")

    # Statements are executed path by path: an `if` forks the path (unless an earlier test
    # on the same path already decided it), `return` and `raise` end it. Within an
    # `if a: ... elif b: ... elif c:` chain on plain names, the branch taken for one name
    # assumes the others false: the library's either-or arguments (username / text /
    # file_path). That keeps `if file_path:` after the chain on the path it belongs to.
    MAX_PATHS = 256

    def run(self, env=None):
        self.exec_block(self.fn.body, [(dict(env or {}), {})])
        return self.calls

    def exec_block(self, stmts, states):
        for s in stmts:
            if not states:
                break
            states = self.exec_stmt(s, states)
            if len(states) > self.MAX_PATHS:
                raise ExtractError(f"{self.where(s)}: too many paths")
        return states

    @staticmethod
    def fact_of(test):
        """(key, polarity) for a test on a plain name or attribute, else None."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = Interp.fact_of(test.operand)
            return (inner[0], not inner[1]) if inner else None
        if isinstance(test, (ast.Name, ast.Attribute)):
            return ast.unparse(test), True
        return None

    def exec_stmt(self, s, states):
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return states
        if isinstance(s, (ast.Return, ast.Raise)):
            for env, _ in states:
                for child in ast.iter_child_nodes(s):
                    if isinstance(child, ast.expr):
                        self.scan(child, env)
            return []
        if isinstance(s, ast.If):
            return self.exec_if(s, states)
        if isinstance(s, (ast.For, ast.While)):
            out = []
            for env, facts in states:
                self.scan(s.iter if isinstance(s, ast.For) else s.test, env)
                out.append((env, facts))
                out += self.exec_block(s.body + s.orelse, [(dict(env), dict(facts))])
            return out
        if isinstance(s, ast.With):
            for env, _ in states:
                for item in s.items:
                    self.scan(item.context_expr, env)
            return self.exec_block(s.body, states)
        if isinstance(s, ast.Try):
            before = [(dict(e), dict(f)) for e, f in states]
            out = self.exec_block(s.body, states)
            for h in s.handlers:
                out += self.exec_block(h.body, [(dict(e), dict(f)) for e, f in before])
            out = self.exec_block(s.orelse, out)
            return self.exec_block(s.finalbody, out)
        for env, _ in states:
            self.exec_simple(s, env)
        return states

    def exec_if(self, s, states):
        # the chain: if t0: b0 elif t1: b1 ... else: bn
        chain, node = [], s
        while True:
            chain.append((node.test, node.body))
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                node = node.orelse[0]
                continue
            else_body = node.orelse
            break
        facts_of = [self.fact_of(t) for t, _ in chain]
        plain = all(f is not None and f[1] for f in facts_of)
        out = []
        for env, facts in states:
            live = True
            for i, (test, body) in enumerate(chain):
                if not live:
                    break
                self.scan(test, env)
                f = facts_of[i]
                decided = facts.get(f[0]) == f[1] if f and f[0] in facts else None
                if decided is None or decided:
                    benv, bfacts = dict(env), dict(facts)
                    if f:
                        bfacts[f[0]] = f[1]
                    if plain and len(chain) > 1:
                        for j, g in enumerate(facts_of):
                            if j != i:
                                bfacts.setdefault(g[0], not g[1])
                    self.narrow_env(test, benv, True)
                    out += self.exec_block(body, [(benv, bfacts)])
                if decided:
                    live = False
                    break
                # the test is false on the rest of this path
                env, facts = dict(env), dict(facts)
                if f:
                    facts[f[0]] = not f[1]
                self.narrow_env(test, env, False)
            if live:
                out += self.exec_block(else_body, [(env, facts)])
        return out

    def narrow_env(self, test, env, truth):
        narrowed = self.narrow(test)
        if not narrowed:
            return
        name, value, eq = narrowed
        cur = env.get(name)
        if isinstance(cur, frozenset):
            if eq == truth:
                env[name] = frozenset([value]) if value in cur else frozenset()
            else:
                env[name] = cur - {value}

    def exec_simple(self, s, env):
        if isinstance(s, ast.Assign):
            self.scan(s.value, env)
            value = self.eval(s.value, env)
            for t in s.targets:
                if isinstance(t, ast.Name):
                    if value is None:
                        env.pop(t.id, None)
                    else:
                        env[t.id] = value
            return
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None:
            self.scan(s.value, env)
            value = self.eval(s.value, env)
            if value is None:
                env.pop(s.target.id, None)
            else:
                env[s.target.id] = value
            return
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            self.scan(s.value, env)
            cur, add = env.get(s.target.id), self.eval(s.value, env)
            strings = isinstance(cur, frozenset) and isinstance(add, frozenset)
            if isinstance(s.op, ast.Add) and strings:
                env[s.target.id] = frozenset(a + b for a in cur for b in add)
            else:
                env.pop(s.target.id, None)
            return
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.expr):
                self.scan(child, env)

    @staticmethod
    def narrow(test):
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and len(test.ops) == 1
            and isinstance(test.ops[0], (ast.Eq, ast.NotEq))
            and isinstance(test.comparators[0], ast.Constant)
            and isinstance(test.comparators[0].value, str)
        ):
            return test.left.id, test.comparators[0].value, isinstance(test.ops[0], ast.Eq)
        return None

    def scan(self, expr, env):
        """Find calls in an expression (outermost first, then nested ones)."""
        for node in ast.walk(expr):
            if isinstance(node, ast.Call):
                self.on_call(node, env)

    def on_call(self, call: ast.Call, env):
        f = call.func
        helper = None
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
            if HELPER_RE.match(f.attr):
                helper = f.attr
            elif f.attr in self.ctx.callable_param_methods(self.cls):
                self.inline(call, f.attr, env)
                return
        elif isinstance(f, ast.Name) and isinstance(env.get(f.id), Helper):
            helper = env[f.id].name
        elif isinstance(f, ast.Name) and f.id in self.params and f.id not in env:
            # a request function passed in by the caller; resolved when inlined
            if self.depth == 0 and self.fn.name in self.ctx.callable_param_methods(self.cls):
                return
        if helper is None:
            return
        verb, params, default = self.ctx.helpers[helper]
        bound = {}
        for name, arg in zip(params, call.args):
            bound[name] = arg
        for kw in call.keywords:
            if kw.arg:
                bound[kw.arg] = kw.value
        if "endpoint" not in bound:
            raise ExtractError(f"{self.where(call)}: {helper} without an endpoint")
        paths = self.eval(bound["endpoint"], env)
        if not isinstance(paths, frozenset) or not paths:
            raise ExtractError(
                f"{self.where(call)}: cannot resolve endpoint {ast.unparse(bound['endpoint'])}"
            )
        statuses = self.status(bound.get("expected_status_code"), env, default)
        site = f"{self.via.split()[0] if self.via else self.cls.module}:{call.lineno}"
        for p in sorted(paths):
            self.calls.append(
                Call(verb, p, tuple(sorted(set(statuses))), self.cls.module, self.cls.name,
                     self.source_fn, self.via, site)
            )

    def inline(self, call: ast.Call, name: str, env):
        target_cls, fn, via = self.ctx.lookup(self.cls, name)
        if self.depth > 3:
            raise ExtractError(f"{self.where(call)}: helper nesting too deep")
        sub = Interp(self.ctx, self.cls, fn, self.source_fn, via or self.via)
        sub.depth = self.depth + 1
        pos = [a.arg for a in fn.args.posonlyargs + fn.args.args][1:]
        sub_env = {}
        bound = list(zip(pos, call.args)) + [(kw.arg, kw.value) for kw in call.keywords if kw.arg]
        for pname, arg in bound:
            v = self.eval(arg, env)
            if v is None and isinstance(arg, ast.Attribute) and HELPER_RE.match(arg.attr):
                v = Helper(arg.attr)
            if v is None and literal_status(arg) is not None:
                v = Literal(arg)
            if v is not None:
                sub_env[pname] = v
        self.calls.extend(sub.run(sub_env))


class Context:
    def __init__(self, lib: Path):
        self.lib = lib
        core = parse(lib / "core.py")
        self.helpers = helper_defaults(core)
        self.constants = const_strings(parse(lib / "constants" / "endpoints.py"))
        self.mixins = {}
        for node in parse(lib / "mixins.py").body:
            if isinstance(node, ast.ClassDef):
                self.mixins[node.name] = {
                    fn.name: fn for fn in node.body if isinstance(fn, ast.FunctionDef)
                }
        self.classes: list[ClassInfo] = []
        self.docstring_routes = []  # (module, Class.method, METHOD, route as written)
        self._callable_param = {}
        for path in sorted(lib.glob("*.py")):
            if path.name in ("core.py", "mixins.py", "__init__.py"):
                continue
            tree = parse(path)
            local = {}
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    local[node.name] = node
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and self.is_api_object(node, local):
                    info = ClassInfo(
                        module=path.name,
                        name=node.name,
                        node=node,
                        base_endpoint=self.base_endpoint(node),
                        mixins=[
                            b.id
                            for b in node.bases
                            if isinstance(b, ast.Name) and b.id in self.mixins
                        ],
                    )
                    for fn in node.body:
                        if isinstance(fn, ast.FunctionDef):
                            info.methods[fn.name] = fn
                            self.harvest_docstring(info, fn)
                    self.classes.append(info)

    @staticmethod
    def is_api_object(node, local, seen=()):
        for b in node.bases:
            if isinstance(b, ast.Name):
                if b.id == "APIObject":
                    return True
                if b.id in local and b.id not in seen:
                    if Context.is_api_object(local[b.id], local, seen + (b.id,)):
                        return True
        return False

    @staticmethod
    def base_endpoint(cls: ast.ClassDef):
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                for node in ast.walk(fn):
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                        if node.func.attr != "__init__":
                            continue
                        for kw in node.keywords:
                            if kw.arg == "endpoint" and isinstance(kw.value, ast.Constant):
                                return kw.value.value
        return None

    def harvest_docstring(self, info: ClassInfo, fn):
        doc = ast.get_docstring(fn) or ""
        m = re.search(r"^\s*API:(.*?)(?:\n\s*\n|\Z)", doc, re.S | re.M)
        if not m:
            return
        pat = r"\b(GET|POST|PUT|DELETE)\s+(/?[A-Za-z][\w\-/{}:?=.]*)"
        for verb, route in re.findall(pat, m.group(1)):
            self.docstring_routes.append(
                (info.module, f"{info.name}.{fn.name}", verb, route.rstrip("."))
            )

    def lookup(self, cls: ClassInfo, name: str):
        if name in cls.methods:
            return cls, cls.methods[name], ""
        for mx in cls.mixins:
            if name in self.mixins[mx]:
                return cls, self.mixins[mx][name], f"mixins.py {mx}"
        raise ExtractError(f"{cls.key}: no method {name}")

    def callable_param_methods(self, cls: ClassInfo):
        """Methods of cls that call one of their own parameters (a request function)."""
        if cls.key not in self._callable_param:
            names = set()
            for name, fn in cls.methods.items():
                params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
                for node in ast.walk(fn):
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Name)
                        and node.func.id in params
                    ):
                        names.add(name)
            self._callable_param[cls.key] = names
        return self._callable_param[cls.key]

    def all_calls(self) -> list[Call]:
        calls = []
        for cls in self.classes:
            for name, fn in cls.methods.items():
                if name in self.callable_param_methods(cls):
                    continue
                calls.extend(Interp(self, cls, fn, name, "").run())
            for mx in cls.mixins:
                for name, fn in self.mixins[mx].items():
                    if name in cls.methods:
                        continue  # overridden
                    if any(name in self.mixins[m] for m in cls.mixins[: cls.mixins.index(mx)]):
                        continue  # an earlier mixin wins
                    calls.extend(Interp(self, cls, fn, name, f"mixins.py {mx}").run())
        # every helper call in the package must have been reached
        visited = {c.site for c in calls}
        sites = set()
        for path in sorted(self.lib.glob("*.py")):
            if path.name == "core.py":
                continue
            for node in ast.walk(parse(path)):
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                    if HELPER_RE.match(name) or name == "run_request":
                        sites.add(f"{path.name}:{node.lineno}")
        missed = sorted(sites - visited)
        if missed:
            raise ExtractError(f"request helper calls not analysed: {missed}")
        self.sites = sites
        unique = {}
        for c in calls:
            unique.setdefault((c.method, c.path, c.statuses, c.module, c.cls, c.func, c.via), c)
        return list(unique.values())


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


@dataclass
class CliUse:
    controller: str  # CLI controller name, e.g. managed-accounts
    command: str  # CLI command, e.g. list
    file: str  # controllers/x.py
    lib_class: str  # "module.py Class"
    lib_method: str
    statuses: tuple | None  # expected_status_code passed by the CLI, if any


def cli_analysis(cli: Path, ctx: Context):
    """Controller name per library class, and which CLI commands call which library methods."""
    class_by_module_attr = {(c.module[:-3], c.name): c.key for c in ctx.classes}
    area_of = {}
    uses = []
    for path in sorted((cli / "controllers").glob("*.py")):
        tree = parse(path)
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef):
                continue
            name = None
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                    for node in ast.walk(fn):
                        if isinstance(node, ast.Call):
                            for kw in node.keywords:
                                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                                    name = kw.value.value
            if name is None:
                continue
            props = {}
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef) or not any(
                    isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list
                ):
                    continue
                # the library class a property returns: its annotation (X or X | None), or
                # else the library class it constructs
                cands = [fn.returns, getattr(fn.returns, "left", None)]
                cands += [n.func for n in ast.walk(fn) if isinstance(n, ast.Call)]
                for r in cands:
                    if isinstance(r, ast.Attribute) and isinstance(r.value, ast.Name):
                        if (r.value.id, r.attr) in class_by_module_attr:
                            props[fn.name] = class_by_module_attr[(r.value.id, r.attr)]
                            break
            if "class_object" in props and name != "short-commands":
                area_of.setdefault(props["class_object"], name)
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef):
                    continue
                if not any(
                    (isinstance(d, ast.Name) and d.id == "command") for d in fn.decorator_list
                ):
                    continue
                for node in ast.walk(fn):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                        continue
                    obj = node.func.value
                    if (
                        isinstance(obj, ast.Attribute)
                        and isinstance(obj.value, ast.Name)
                        and obj.value.id == "self"
                        and obj.attr in props
                    ):
                        st = None
                        for kw in node.keywords:
                            if kw.arg == "expected_status_code":
                                st = literal_status(kw.value)
                        uses.append(
                            CliUse(name, fn.name.replace("_", "-"), f"controllers/{path.name}",
                                   props[obj.attr], node.func.attr, st)
                        )
    return area_of, uses


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


def route_key(route: str) -> str:
    """Lower-case, parameters as {}, no leading or trailing slash, no query."""
    route = route.split("?", 1)[0].strip("/")
    segs = []
    for s in route.split("/"):
        segs.append("{}" if s.startswith("{") and s.endswith("}") else s.lower())
    return "/".join(segs)


def camel(words: str) -> str:
    parts = [p for p in re.split(r"[_\s]+", words) if p]
    if not parts:
        return "param"
    first = parts[0]
    return first[0].lower() + first[1:] + "".join(p[0].upper() + p[1:] for p in parts[1:])


def lower_first(s: str) -> str:
    m = re.match(r"^([A-Z]+)(?=[A-Z][a-z]|$)", s)
    if m and len(m.group(1)) > 1:
        return m.group(1).lower() + s[len(m.group(1)):]
    return s[0].lower() + s[1:]


def singular(seg: str) -> str:
    for plural, one in SINGULAR.items():
        if seg.endswith(plural):
            return seg[: -len(plural)] + one
    if seg.endswith("ies"):
        return seg[:-3] + "y"
    if seg.endswith("s") and not seg.endswith("ss"):
        return seg[:-1]
    return seg


class Speller:
    """Segment spelling: capitals from the reference/seed, then the library's docstrings,
    then SEGMENT_CASE."""

    def __init__(self, ref_texts: list[str], docstring_routes):
        self.ref = defaultdict(lambda: defaultdict(int))
        self.doc = defaultdict(lambda: defaultdict(int))
        pat = re.compile(r"\b(?:GET|POST|PUT|DELETE)\s+/?([A-Za-z][\w\-/{}]*)")
        for text in ref_texts:
            for route in pat.findall(text):
                self.add(self.ref, route)
        for _, _, _, route in docstring_routes:
            self.add(self.doc, route)
        self.fallbacks = set()

    @staticmethod
    def add(table, route):
        for seg in route.split("?")[0].split("/"):
            if seg and not seg.startswith("{") and seg.lower() != seg:
                table[seg.lower()][seg] += 1

    def spell(self, seg: str) -> str:
        low = seg.lower()
        for table in (self.ref, self.doc):
            if low in table:
                cands = table[low]
                return sorted(cands, key=lambda c: (-cands[c], c))[0]
        if low in SEGMENT_CASE:
            return SEGMENT_CASE[low]
        self.fallbacks.add(low)
        return seg[:1].upper() + seg[1:]


def make_route(path: str, speller: Speller) -> str:
    segs = [s for s in path.split("?", 1)[0].strip("/").split("/") if s]
    out = []
    for i, s in enumerate(segs):
        if s.startswith("{") and s.endswith("}"):
            raw = s[1:-1].split(":")[0]
            name = camel(raw) if "_" in raw else lower_first(raw)
            prev = out[-1] if out and not out[-1].startswith("{") else None
            from_prev = lower_first(singular(prev)) + "Id" if prev else None
            norm = raw.replace("_", "").lower()
            if raw.lower() in GENERIC_PARAMS or raw in GENERIC_PARAMS:
                name = from_prev or "id"
            elif from_prev and norm.endswith("id") and from_prev.lower().endswith(norm):
                name = from_prev
            out.append("{" + name + "}")
        else:
            out.append(speller.spell(s))
    return "/".join(out)


# ---------------------------------------------------------------------------------------------
# Merge
# ---------------------------------------------------------------------------------------------


def area_name(controller: str) -> str:
    words = [w.capitalize() for w in controller.split("-")]
    return " ".join(AREA_ACRONYMS.get(w, w) for w in words)


def owner_score(cls_key: str, base: str | None, key: str) -> int:
    res = RESOURCE_OF_CLASS.get(cls_key)
    if res is None and base:
        res = base.strip("/").split("/")[-1].lower()
    segs = key.split("/")
    idx = [i for i, s in enumerate(segs) if s == res]
    return idx[-1] if idx else -1


def build(site: Path | None, repo_root: Path):
    check_versions(site)
    lib = find_package("secrets_safe_library", site)
    cli = find_package("ps_cli", site)
    ctx = Context(lib)
    calls = ctx.all_calls()
    area_of_ctl, cli_uses = cli_analysis(cli, ctx)

    ref_texts, inputs = [], []
    for rel in (REFERENCE, SEED):
        p = repo_root / rel
        if not p.exists():
            raise ExtractError(f"{p} not found")
        data = p.read_bytes()
        ref_texts.append(data.decode("utf-8"))
        inputs.append((rel, hashlib.sha256(data).hexdigest()))
    speller = Speller(ref_texts, ctx.docstring_routes)

    classes = {c.key: c for c in ctx.classes}
    class_area = {}
    missing = []
    for c in ctx.classes:
        if c.key in AREA_BY_CLASS:
            class_area[c.key] = AREA_BY_CLASS[c.key]
        elif c.key in area_of_ctl:
            class_area[c.key] = area_name(area_of_ctl[c.key])
        else:
            missing.append(c.key)
    if missing:
        raise ExtractError(f"no CLI controller and no AREA_BY_CLASS entry for: {missing}")

    # group the library calls
    groups = defaultdict(list)
    quirk_notes = {}
    for call in calls:
        key = route_key(call.path)
        q = LIBRARY_QUIRKS.get((call.method, key))
        if q:
            key, note = q
            quirk_notes[(call.method, key)] = note
            call.path = key
        groups[(call.method, key)].append(call)

    # CLI uses per (class, method)
    cli_by_lib = defaultdict(list)
    for u in cli_uses:
        cli_by_lib[(u.lib_class, u.lib_method)].append(u)

    # docstring routes per (class, method)
    doc_by_fn = defaultdict(list)
    for module, fn, verb, route in ctx.docstring_routes:
        doc_by_fn[(module, fn)].append((verb, route))

    entries = {}
    for (method, key), cs in groups.items():
        owners = sorted({f"{c.module} {c.cls}" for c in cs})
        owner = sorted(
            owners,
            key=lambda k: (-owner_score(k, classes[k].base_endpoint, key), k),
        )[0]
        # the route as written by the owner's first call
        # (preferring a spelling with ids: Workgroups/{workgroupId} over {workgroupName})
        first = sorted(
            [c for c in cs if f"{c.module} {c.cls}" == owner],
            key=lambda c: (
                sum(not p.lower().endswith("id}") for p in re.findall(r"\{[^}]*\}", c.path)),
                c.func,
                c.path,
            ),
        )[0]
        route = make_route(first.path, speller)
        statuses = set()
        sources = []
        by_source_status = {}
        for c in sorted(
            cs, key=lambda c: (f"{c.module} {c.cls}" != owner, c.module, c.cls, c.func)
        ):
            label = f"PYLIB:{c.module} {c.cls}.{c.func}"
            if c.via:
                label += f" ({c.via})"
            if label not in sources:
                sources.append(label)
            statuses |= set(c.statuses)
            by_source_status.setdefault(f"{c.cls}.{c.func}", set()).update(c.statuses)
        notes = []
        cli_srcs = []
        cli_status = {}
        for c in cs:
            for u in cli_by_lib.get((f"{c.module} {c.cls}", c.func), []):
                label = f"CLI:{u.file} {u.controller} {u.command}"
                if label not in cli_srcs:
                    cli_srcs.append(label)
                if u.statuses:
                    statuses |= set(u.statuses)
                    cli_status.setdefault(tuple(sorted(u.statuses)), []).append(u.command)
        sources += sorted(cli_srcs)
        lib_sets = {tuple(sorted(v)) for v in by_source_status.values()}
        if len(lib_sets) > 1:
            parts = [
                f"{k} expects {'/'.join(map(str, sorted(v)))}"
                for k, v in sorted(by_source_status.items())
            ]
            notes.append("library methods disagree: " + ", ".join(parts))
        for st, cmds in sorted(cli_status.items()):
            lib_all = set().union(*by_source_status.values())
            if set(st) != lib_all:
                notes.append(
                    f"library expects {'/'.join(map(str, sorted(lib_all)))}, CLI passes "
                    f"expected_status_code={'/'.join(map(str, st))}"
                )
        if (method, key) in quirk_notes:
            notes.append(quirk_notes[(method, key)])
        entries[(method, key)] = {
            "area": class_area[owner],
            "method": method,
            "route": route,
            "statuses": statuses,
            "sources": sources,
            "notes": notes,
            "calls": cs,
        }

    # hand-kept entries
    for ref in REF_ENTRIES:
        key = route_key(ref["route"])
        if (ref["method"], key) in entries:
            raise ExtractError(f"REF entry {ref['method']} {ref['route']} is also in the library")
        entries[(ref["method"], key)] = {
            "area": ref["area"],
            "method": ref["method"],
            "route": ref["route"],
            "statuses": set(ref["statuses"]),
            "sources": [ref["source"]],
            "notes": [ref["note"]] if ref.get("note") else [],
            "calls": [],
        }

    # endpoint constants cross-check
    called = set(entries)
    unmatched = []
    for cname, value in sorted(ctx.constants.items()):
        if ":" not in value:
            continue
        verb, path = value.split(":", 1)
        key = (verb.upper(), route_key(path))
        if key in called or value in CONSTANT_ONLY_OK:
            continue
        if value in CONSTANT_ONLY_ENTRIES:
            extra = CONSTANT_ONLY_ENTRIES[value]
            entries[key] = {
                "area": extra["area"],
                "method": verb.upper(),
                "route": make_route("/" + path, speller),
                "statuses": set(extra["statuses"]),
                "sources": [f"PYLIB:constants/endpoints.py {cname}"],
                "notes": [extra["note"]],
                "calls": [],
            }
            continue
        unmatched.append(f"{cname} = {value!r}")
    if unmatched:
        raise ExtractError(
            "endpoint constants that match no library call (add each to CONSTANT_ONLY_OK or "
            "CONSTANT_ONLY_ENTRIES): " + "; ".join(unmatched)
        )

    # docstring cross-check: each docstring route should name a route the same method calls
    doc_mismatch = []
    for (module, fn), items in sorted(doc_by_fn.items()):
        cls_name, func = fn.split(".", 1)
        mine = {
            (c.method, route_key(c.path))
            for c in calls
            if c.module == module and c.cls == cls_name and c.func == func
        }
        for verb, droute in items:
            dk = route_key(droute)
            if (verb, dk) in mine or (verb, dk) in entries:
                continue  # the docstring names a route the code calls, or one catalogued
            dsegs = dk.split("/")
            if any(
                m == verb and k != dk and (
                    k.split("/")[: len(dsegs)] == dsegs  # cut at a line break
                    or not Counter(dsegs) - Counter(k.split("/"))  # prose: "POST Sessions Admin"
                )
                for m, k in mine
            ):
                continue
            if mine:
                doc_mismatch.append((module, fn, verb, droute, sorted(mine)))
    for module, fn, verb, droute, mine in doc_mismatch:
        for m, k in mine:
            if m == verb and (m, k) in entries:
                e = entries[(m, k)]
                msg = f"docstring of {fn} says {verb} {droute}"
                if msg not in " ".join(e["notes"]) and not any(
                    q for q in LIBRARY_QUIRKS.values() if q[0] == k
                ):
                    e["notes"].append(msg)

    # reference facts
    for fkey, fact in REF_FACTS.items():
        if fkey not in entries:
            raise ExtractError(f"REF_FACTS {fkey} names no catalogued endpoint")
        e = entries[fkey]
        e["statuses"] |= set(fact.get("statuses", []))
        e["sources"].append(f"REF:{fact['ref']}")
        if fact.get("note"):
            e["notes"].insert(0, fact["note"])

    # effect and spelling notes
    out = []
    for (method, key), e in entries.items():
        if method == "GET" or (method == "POST" and key in READ_POSTS):
            effect = "read"
        else:
            effect = "change"
        if (method, key) in EFFECT_NOTES:
            e["notes"].append(EFFECT_NOTES[(method, key)])
        spellings = sorted({make_route(c.path, speller) for c in e["calls"]} - {e["route"]})
        if spellings:
            e["notes"].append("library also builds " + ", ".join(spellings))
        raw = sorted(
            {re.sub(r"\{[^}]*\}", "{}", c.path.split("?", 1)[0].strip("/")) for c in e["calls"]}
        )
        if len(raw) > 1:
            e["notes"].append("library spells it " + " and ".join(raw))
        item = {
            "area": e["area"],
            "method": method,
            "route": e["route"],
            "effect": effect,
            "statuses": sorted(e["statuses"]),
            "source": "; ".join(e["sources"]),
        }
        if e["notes"]:
            item["note"] = "; ".join(e["notes"])
        out.append(item)
    out.sort(key=lambda x: (x["area"].lower(), route_key(x["route"]), x["method"]))
    report = {
        "inputs": inputs,
        "calls": len(calls),
        "cli_uses": len(cli_uses),
        "speller_fallbacks": sorted(speller.fallbacks),
        "doc_mismatch": doc_mismatch,
        "classes": len(ctx.classes),
    }
    return out, report


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------

KEYS = ("area", "method", "route", "effect", "statuses", "source", "note")
PLAIN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 /{}\-]*$")


def scalar(value: str) -> str:
    return value if PLAIN_RE.match(value) and not value.endswith(" ") else json.dumps(value)


def dump(entries, command: str, inputs=()) -> str:
    areas = sorted({e["area"] for e in entries}, key=str.lower)
    lines = [
        "# Password Safe public REST API v3: catalog of documented endpoints, for psconform's",
        "# coverage matrix (which endpoints the suite exercises, with which statuses).",
        "# Routes are relative to /BeyondTrust/api/public/v3; routing is case-insensitive.",
        "#",
        "# GENERATED, do not edit by hand. Regenerate (from the repository root) with:",
        "#   python3 -m venv /tmp/catvenv",
        "#   /tmp/catvenv/bin/pip install "
        + " ".join(f"{s['dist']}=={s['version']}" for s in SOURCES),
        f"#   {command}",
        "# (catalog/extract.py reads the installed packages' source with ast; see its header.)",
        "#",
        "# Sources:",
    ]
    for s in SOURCES:
        lines.append(f"#   {s['dist']} {s['version']} (package {s['package']}): {s['wheel']}")
        lines.append(f"#     sha256 {s['sha256']}")
    lines += [
    ]
    for rel, sha in inputs:
        tag = "REF:§n = its section n" if rel == REFERENCE else "SEED, vendor Authentication page"
        lines.append(f"#   {rel} ({tag})")
        lines.append(f"#     sha256 {sha} (as read)")
    lines += [
        "#",
        f"# {len(entries)} endpoints in {len(areas)} areas.",
        "# Keys: area, method, route, effect (read|change), statuses (library's expected success",
        "# statuses plus error statuses the reference documents), source (PYLIB:<file>",
        "# <Class.method>, CLI:<file> <controller> <command>, REF:§n, SEED; '; '-separated),",
        "# note (optional).",
        "",
    ]
    for e in entries:
        lines.append(f"- area: {scalar(e['area'])}")
        lines.append(f"  method: {e['method']}")
        lines.append(f"  route: {scalar(e['route'])}")
        lines.append(f"  effect: {e['effect']}")
        lines.append(f"  statuses: [{', '.join(str(s) for s in e['statuses'])}]")
        lines.append(f"  source: {json.dumps(e['source'], ensure_ascii=False)}")
        if "note" in e:
            lines.append(f"  note: {json.dumps(e['note'], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def render(site: Path | None, repo_root: Path) -> str:
    """The catalog file's text, as extract.py writes it."""
    entries, report = build(site, repo_root)
    return dump(entries, REGEN_COMMAND, report["inputs"])


def load(text: str) -> list[dict]:
    """Read the subset of YAML that dump() writes (used by the tests; no PyYAML needed)."""
    entries = []
    cur = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            cur = {}
            entries.append(cur)
            line = "  " + line[2:]
        if cur is None or not line.startswith("  ") or ": " not in line:
            raise ValueError(f"line {n}: not in the catalog's YAML subset: {line!r}")
        k, v = line[2:].split(": ", 1)
        if k in cur:
            raise ValueError(f"line {n}: duplicate key {k}")
        if v.startswith('"'):
            cur[k] = json.loads(v)
        elif v.startswith("["):
            inner = v.strip()[1:-1].strip()
            cur[k] = [int(x) for x in inner.split(",")] if inner else []
        else:
            cur[k] = v
    return entries


REGEN_COMMAND = "/tmp/catvenv/bin/python catalog/extract.py"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site-packages", type=Path)
    ap.add_argument("--repo-root", type=Path, default=None,
                    help="where shared/ is (default: search upwards from this file, then /work)")
    ap.add_argument("--stdout", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    try:
        root = args.repo_root or find_repo_root()
        entries, report = build(args.site_packages, root)
    except ExtractError as e:
        print(f"extract.py: {e}", file=sys.stderr)
        return 2
    text = dump(entries, REGEN_COMMAND, report["inputs"])
    if args.report:
        print(json.dumps(report, indent=1, default=str), file=sys.stderr)
    if args.stdout:
        sys.stdout.write(text)
    elif args.check:
        if without_read_hashes(OUTPUT.read_text(encoding="utf-8")) != without_read_hashes(text):
            print("catalog/endpoints.yaml is stale: run catalog/extract.py", file=sys.stderr)
            return 1
    else:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT} ({len(entries)} endpoints)", file=sys.stderr)
    return 0


def without_read_hashes(text: str) -> str:
    """The catalog text without the sha256 lines of the files read from shared/ (the reference
    and the seed). Those files are not shipped and are refreshed outside the project; the
    catalog is current when what it derives from them is, whatever their bytes hash to."""
    return "\n".join(
        "#     sha256 (as read)" if line.startswith("#     sha256 ") and line.endswith(" (as read)") else line
        for line in text.split("\n")
    )


def find_repo_root() -> Path:
    """The folder holding shared/: an ancestor of this file, or /work (the project layout)."""
    for p in [HERE, *HERE.parents, Path("/work")]:
        if (p / REFERENCE).exists():
            return p
    raise ExtractError(f"{REFERENCE} not found above {HERE} or in /work; pass --repo-root")


if __name__ == "__main__":
    sys.exit(main())
