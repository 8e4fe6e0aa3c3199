"""Checks for catalog/endpoints.yaml and catalog/extract.py.

Run from the repository root with the Python that has the official packages installed:

    /tmp/catvenv/bin/python -m unittest catalog/test_extract.py

The comparison with a fresh extraction is skipped (with a message) when
beyondtrust-bips-library / beyondtrust-bips-cli are not installed in that Python; every
other check needs only the standard library.
"""

import importlib.util
import re
import sys
import unittest
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import extract  # noqa: E402

CATALOG = HERE / "endpoints.yaml"
METHODS = {"GET", "POST", "PUT", "DELETE"}
ROUTE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(/([A-Za-z][A-Za-z0-9-]*|\{[a-z][A-Za-z0-9]*\}))*$")
AREA_RE = re.compile(r"^[A-Z][A-Za-z]*( [A-Z][A-Za-z]*)*$")
SOURCE_RES = [
    re.compile(r"^PYLIB:[a-z_/]+\.py [A-Za-z_.]+( \(mixins\.py [A-Za-z]+\))?$"),
    re.compile(r"^CLI:controllers/[a-z_]+\.py [a-z-]+ [a-z-]+$"),
    re.compile(r"^REF:§\d+(\.\d+)?$"),
    re.compile(r"^SEED$"),
]
REQUIRED = ("area", "method", "route", "effect", "statuses", "source")


def load_catalog():
    return extract.load(CATALOG.read_text(encoding="utf-8"))


def find(entries, method, route):
    key = extract.route_key(route)
    hits = [e for e in entries if e["method"] == method and extract.route_key(e["route"]) == key]
    return hits[0] if len(hits) == 1 else None


class CatalogShape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.entries = load_catalog()

    def test_not_empty(self):
        self.assertGreater(len(self.entries), 100)

    def test_keys_and_values(self):
        for e in self.entries:
            with self.subTest(entry=f"{e.get('method')} {e.get('route')}"):
                self.assertEqual([k for k in e if k not in extract.KEYS], [])
                self.assertEqual([k for k in REQUIRED if k not in e], [])
                self.assertEqual(list(e), [k for k in extract.KEYS if k in e], "key order")
                self.assertRegex(e["area"], AREA_RE)
                self.assertIn(e["method"], METHODS)
                self.assertRegex(e["route"], ROUTE_RE)
                self.assertIn(e["effect"], ("read", "change"))
                if e["method"] == "GET":
                    self.assertEqual(e["effect"], "read")
                if e["method"] in ("PUT", "DELETE"):
                    self.assertEqual(e["effect"], "change")
                st = e["statuses"]
                self.assertIsInstance(st, list)
                self.assertEqual(st, sorted(set(st)))
                self.assertTrue(all(isinstance(s, int) and 100 <= s <= 599 for s in st))
                if not st:
                    # only endpoints the library merely declares have no known status
                    self.assertTrue(e["source"].startswith("PYLIB:constants/endpoints.py"))
                    self.assertIn("note", e)
                self.assertTrue(any(200 <= s < 300 for s in st) or not st)
                for part in e["source"].split("; "):
                    self.assertTrue(any(r.match(part) for r in SOURCE_RES), part)
                if "note" in e:
                    self.assertTrue(e["note"].strip())
                    self.assertNotIn("\n", e["note"])

    def test_routes_unique(self):
        # case-insensitive, any {param} matching any other {param}
        keys = Counter((e["method"], extract.route_key(e["route"])) for e in self.entries)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])

    def test_sorted_by_area_route_method(self):
        order = [
            (e["area"].lower(), extract.route_key(e["route"]), e["method"]) for e in self.entries
        ]
        self.assertEqual(order, sorted(order))

    def test_one_spelling_per_area(self):
        by_lower = {}
        for e in self.entries:
            by_lower.setdefault(e["area"].lower(), set()).add(e["area"])
        self.assertEqual({k: v for k, v in by_lower.items() if len(v) > 1}, {})

    def test_header_counts(self):
        text = CATALOG.read_text(encoding="utf-8")
        m = re.search(r"^# (\d+) endpoints in (\d+) areas\.$", text, re.M)
        self.assertIsNotNone(m)
        self.assertEqual(int(m.group(1)), len(self.entries))
        self.assertEqual(int(m.group(2)), len({e["area"] for e in self.entries}))
        for src in extract.SOURCES:
            self.assertIn(src["wheel"], text)
            self.assertIn(src["sha256"], text)

    def test_readme_counts(self):
        readme = (HERE / "README.md").read_text(encoding="utf-8")
        rows = re.findall(r"^\| ([A-Z][A-Za-z ]+) \| (\d+) \| (\d+) \| (\d+) \|$", readme, re.M)
        table = {a: (int(n), int(r), int(c)) for a, n, r, c in rows}
        want = {}
        for e in self.entries:
            n, r, c = want.get(e["area"], (0, 0, 0))
            read = e["effect"] == "read"
            want[e["area"]] = (n + 1, r + read, c + (not read))
        self.assertEqual(table, want, "README.md's table of counts")
        methods = Counter(e["method"] for e in self.entries)
        reads = sum(e["effect"] == "read" for e in self.entries)
        line = (
            f"{len(self.entries)} endpoints in {len(want)} areas: {reads} read, "
            f"{len(self.entries) - reads} change; {methods['GET']} GET, {methods['POST']} POST, "
            f"{methods['PUT']} PUT, {methods['DELETE']} DELETE."
        )
        self.assertIn(line, readme)

    def test_known_endpoints(self):
        known = [
            ("GET", "ManagedAccounts", "read", "Managed Accounts"),
            ("POST", "Requests", "change", "Requests"),
            ("GET", "Credentials/{requestId}", "read", "Credentials"),
            ("PUT", "Requests/{requestId}/checkin", "change", "Requests"),
            ("PUT", "Requests/Release/{requestId}", "change", "Requests"),
            ("GET", "Secrets-Safe/Secrets", "read", "Secrets"),
            ("GET", "Secrets-Safe/Folders", "read", "Folders"),
            ("GET", "Secrets-Safe/Secrets/{secretId}/file/download", "read", "Secrets"),
            ("POST", "Auth/SignAppin", "read", "Authentication"),
            ("POST", "Auth/Signout", "read", "Authentication"),
            ("POST", "Auth/Connect/Token", "read", "Authentication"),
            ("GET", "Configuration/Version", "read", "Configuration"),
        ]
        for method, route, effect, area in known:
            with self.subTest(endpoint=f"{method} {route}"):
                e = find(self.entries, method, route)
                self.assertIsNotNone(e, "missing")
                self.assertEqual(e["effect"], effect)
                self.assertEqual(e["area"], area)

    def test_known_statuses(self):
        self.assertEqual(find(self.entries, "PUT", "Requests/{id}/checkin")["statuses"], [204])
        self.assertEqual(
            find(self.entries, "POST", "Requests")["statuses"], [200, 201, 403, 409]
        )
        self.assertEqual(
            find(self.entries, "GET", "Credentials/{id}")["statuses"], [200, 403, 404]
        )
        self.assertEqual(
            find(self.entries, "POST", "Auth/SignAppin")["statuses"], [200, 401, 403, 410]
        )
        # update_secret: PUT .../file is a file upload expecting 204, the others 200
        self.assertEqual(find(self.entries, "PUT", "Secrets-Safe/Secrets/{id}")["statuses"], [200])
        self.assertEqual(
            find(self.entries, "PUT", "Secrets-Safe/Secrets/{id}/file")["statuses"], [204]
        )

    def test_sources_cite_library_or_reference(self):
        for e in self.entries:
            first = e["source"].split("; ")[0]
            self.assertTrue(first.startswith(("PYLIB:", "REF:", "SEED")), first)

    def test_reference_only_entries(self):
        for ref in extract.REF_ENTRIES:
            e = find(self.entries, ref["method"], ref["route"])
            self.assertIsNotNone(e, ref["route"])
            self.assertEqual(e["route"], ref["route"])

    def test_no_invented_endpoints(self):
        # REF:§6.10: third-party "OpenAPI" files invent e.g. auth/signappout
        self.assertIsNone(find(self.entries, "POST", "Auth/SignAppOut"))

    def test_pyyaml_agrees(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML not installed; extract.load() is the reader")
        self.assertEqual(yaml.safe_load(CATALOG.read_text(encoding="utf-8")), self.entries)


class Helpers(unittest.TestCase):
    def test_route_key(self):
        self.assertEqual(
            extract.route_key("/Requests/{id}/checkin?version=3.1"), "requests/{}/checkin"
        )
        self.assertEqual(extract.route_key("secrets-safe/folders/"), "secrets-safe/folders")

    def test_load_roundtrip(self):
        entries = [
            {"area": "A B", "method": "GET", "route": "X/{xId}", "effect": "read",
             "statuses": [200], "source": "SEED", "note": 'say "hi"; ok'},
            {"area": "A B", "method": "POST", "route": "X", "effect": "change",
             "statuses": [], "source": "REF:§1"},
        ]
        self.assertEqual(extract.load(extract.dump(entries, "cmd")), entries)


FAKE_CORE = """
class APIObject:
    def __init__(self, authentication, logger=None, endpoint=None):
        self.endpoint = endpoint
    def _run_get_request(self, endpoint, include_api_version=True, expected_status_code=200):
        pass
    def _run_post_request(self, endpoint, payload, include_api_version=True,
                          expected_status_code=201):
        pass
    def _run_post_file_request(self, endpoint, file_path, payload=None,
                               include_api_version=True, expected_status_code=201):
        pass
    def _run_put_request(self, endpoint, payload, include_api_version=True,
                         expected_status_code=200):
        pass
    def _run_put_file_request(self, endpoint, file_path, payload=None,
                              include_api_version=True, expected_status_code=204):
        pass
    def _run_delete_request(self, endpoint, expected_status_code=200, payload=None):
        pass
"""
FAKE_MIXINS = """
class GetByIdMixin:
    def get_by_id(self, object_id, include_api_version=False):
        endpoint = f"{self.endpoint}/{object_id}"
        return self._run_get_request(endpoint, include_api_version=include_api_version)
"""
FAKE_THINGS = """
from secrets_safe_library.core import APIObject
from secrets_safe_library.mixins import GetByIdMixin
from secrets_safe_library.constants.endpoints import DELETE_THING

class Thing(APIObject, GetByIdMixin):
    def __init__(self, authentication, logger=None):
        super().__init__(authentication, logger, endpoint="/things")

    def list_things(self, name=None):
        query = "x"
        endpoint = f"{self.endpoint}?{query}" if name else self.endpoint
        return self._run_get_request(endpoint)

    def update(self, thing_id, text=None, file_path=None):
        partial = ""
        if text:
            partial = "text"
        elif file_path:
            partial = "file"
        else:
            raise ValueError("one of them")
        endpoint = f"{self.endpoint}/{thing_id}/{partial}"
        if file_path:
            self._run_put_file_request(endpoint, file_path)
        else:
            self._run_put_request(endpoint, {})

    def create(self, parent_id):
        return self._write(
            endpoint=f"/parents/{quote(parent_id)}{self.endpoint}",
            run_request=self._run_post_request,
            expected=[200, 201],
        )

    def _write(self, endpoint, run_request, expected):
        return run_request(endpoint, payload={}, expected_status_code=expected)

    def delete(self, thing_id, expected_status_code=204):
        endpoint = "/" + DELETE_THING.format(id=thing_id).replace("delete:", "")
        self._run_delete_request(endpoint, expected_status_code=expected_status_code)
"""


class InterpreterOnFakeLibrary(unittest.TestCase):
    """extract.Context on a small library written here: runs without the real packages."""

    def analyse(self, things_source):
        import tempfile

        holder = tempfile.TemporaryDirectory()
        self.addCleanup(holder.cleanup)
        tmp = Path(holder.name)
        lib = tmp / "secrets_safe_library"
        (lib / "constants").mkdir(parents=True)
        (lib / "__init__.py").write_text("")
        (lib / "core.py").write_text(FAKE_CORE)
        (lib / "mixins.py").write_text(FAKE_MIXINS)
        (lib / "constants" / "endpoints.py").write_text('DELETE_THING = "delete:things/{id}"\n')
        (lib / "things.py").write_text(things_source)
        return extract.Context(lib).all_calls()

    def test_calls(self):
        got = sorted(
            (c.method, c.path, c.statuses, c.func, c.via) for c in self.analyse(FAKE_THINGS)
        )
        self.assertEqual(
            got,
            [
                ("DELETE", "/things/{thing_id}", (204,), "delete", ""),
                ("GET", "/things", (200,), "list_things", ""),
                ("GET", "/things/{object_id}", (200,), "get_by_id", "mixins.py GetByIdMixin"),
                ("GET", "/things?x", (200,), "list_things", ""),
                ("POST", "/parents/{parent_id}/things", (200, 201), "create", ""),
                ("PUT", "/things/{thing_id}/file", (204,), "update", ""),
                ("PUT", "/things/{thing_id}/text", (200,), "update", ""),
            ],
        )

    def test_unresolvable_endpoint_is_an_error(self):
        src = FAKE_THINGS + (
            "\n    def odd(self):\n        return self._run_get_request(self.make_url())\n"
        )
        with self.assertRaisesRegex(extract.ExtractError, "cannot resolve endpoint"):
            self.analyse(src)

    def test_route_spelling_and_parameter_names(self):
        speller = extract.Speller(["GET ManagedAccounts/{id}/Credentials"], [])
        self.assertEqual(
            extract.make_route("/managedaccounts/{account_id}/credentials?type=x", speller),
            "ManagedAccounts/{managedAccountId}/Credentials",
        )
        self.assertEqual(
            extract.make_route("/managedaccounts/{object_id}", speller),
            "ManagedAccounts/{managedAccountId}",
        )
        self.assertEqual(
            extract.make_route("/credentials/{request_id}", speller), "Credentials/{requestId}"
        )


@unittest.skipIf(
    importlib.util.find_spec("secrets_safe_library") is None
    or importlib.util.find_spec("ps_cli") is None,
    "beyondtrust-bips-library / beyondtrust-bips-cli not installed in this Python: cannot "
    "compare catalog/endpoints.yaml with a fresh extraction (see catalog/extract.py)",
)
class FreshExtraction(unittest.TestCase):
    def test_committed_file_is_current(self):
        try:
            root = extract.find_repo_root()
        except extract.ExtractError as e:
            self.skipTest(f"no project reference to read: {e}")
        try:
            fresh = extract.render(None, root)
        except extract.ExtractError as e:
            if "is installed; the catalog is pinned" in str(e):
                self.skipTest(str(e))
            raise
        self.assertEqual(
            extract.without_read_hashes(CATALOG.read_text(encoding="utf-8")),
            extract.without_read_hashes(fresh),
            "catalog/endpoints.yaml is stale (library, CLI, reference or seed changed, or "
            "extract.py): run catalog/extract.py and review the diff",
        )
        self.assertEqual(extract.render(None, root), fresh, "not deterministic")


if __name__ == "__main__":
    unittest.main()
