#!/usr/bin/env python3
"""Drive `psconform serve` with the official Python client, beyondtrust-bips-library.

Usage: python-client-check.py SERVE_STDOUT_FILE

The file holds what `psconform serve` printed: the base URL on the first line, then
`PS_NAME=value` lines. A value shown as `(from PS_NAME)` came from the environment and is read
from there. Certificate verification is off: the simulator runs with a self-signed certificate.

Checks, once with OAuth client credentials and once with the API key:
sign-in through the library, a session call (Configuration.get_version), sign-out through the
library, and that the signed-out session is refused with 401 "User not authenticated".
Then, through the library's own classes and the paths and queries they really send:
- the managed-account release flow (ManagedAccount: lower-case /managedaccounts lookup with
  limit/offset, POST /Requests, GET /Credentials/{id}, PUT /Requests/{id}/checkin?version=,
  the one-call get_secret, list_by_managed_system; Credentials.get_credentials_by_request_id);
- Secrets Safe (SecretsSafe with decrypt: get_secret by path for a credential, a text and a
  file secret, get_all_secrets_by_folder_path, by id, text and file metadata, in API versions
  3.1 and 3.2, whose {TotalCount, Data} the library unwraps; Folder.list_folders, which sends
  includeSubfolders=True&rootOnly=False; Safe.list);
- the lookups (Workgroup, Asset, User, Usergroups).
Last, the official CLI (ps-cli, beyondtrust-bips-cli) lists managed accounts, configured with a
settings file in a temporary HOME; skipped with a note when ps-cli is not installed.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile

import requests
import urllib3
from secrets_safe_library import authentication
from secrets_safe_library.assets import Asset
from secrets_safe_library.config import Configuration
from secrets_safe_library.credentials import Credentials
from secrets_safe_library.folders import Folder
from secrets_safe_library.managed_account import ManagedAccount
from secrets_safe_library.safes import Safe
from secrets_safe_library.secrets_safe import SecretsSafe
from secrets_safe_library.usergroups import Usergroups
from secrets_safe_library.users import User
from secrets_safe_library.workgroups import Workgroup

failures = []


def check(label, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(label)


def read_serve_output(path):
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    base = lines[0]
    creds = {}
    for line in lines[1:]:
        name, _, value = line.partition("=")
        if value.startswith("(from "):
            value = os.environ[name]
        creds[name] = value
    return base, creds


def session_cookie_names(session):
    return sorted(c.name for c in session.cookies)


def exercise(label, base, make_auth, expected_username):
    print(f"--- {label}")
    with requests.Session() as session:
        auth = make_auth(session)
        response = auth.get_api_access()
        check(f"{label}: SignAppIn status", response.status_code == 200, str(response.status_code))
        user = response.json()
        check(
            f"{label}: UserName",
            user.get("UserName") == expected_username,
            repr(user.get("UserName")),
        )
        check(f"{label}: UserId is an int", isinstance(user.get("UserId"), int), repr(user.get("UserId")))
        names = session_cookie_names(session)
        check(f"{label}: session cookies kept by requests", "ASP.NET_SessionId" in names, ", ".join(names))

        version = Configuration(auth).get_version()
        check(f"{label}: Configuration.get_version", isinstance(version.get("Version"), str), repr(version))

        check(f"{label}: sign_app_out returns True", auth.sign_app_out() is True)

        # The library has no call that expects a 401, so check the dead session by hand, with the
        # library's own session (cookie jar) and without the Authorization header.
        after = session.get(f"{base}/Configuration/Version", timeout=10)
        check(
            f"{label}: session refused after sign-out",
            after.status_code == 401 and after.text == '"User not authenticated"',
            f"{after.status_code} {after.text}",
        )


def signed_in(label, make_auth, session):
    auth = make_auth(session)
    response = auth.get_api_access()
    check(f"{label}: SignAppIn status", response.status_code == 200, str(response.status_code))
    return auth


def exercise_release(label, make_auth, account):
    """The managed-account flow, step by step and in one call (reference §2)."""
    print(f"--- {label}")
    logger = logging.getLogger("bips")
    system_name, account_name = account.split("/", 1)
    with requests.Session() as session:
        auth = signed_in(label, make_auth, session)
        managed = ManagedAccount(auth, logger)
        found = managed.get_managed_accounts(system_name=system_name, account_name=account_name)
        check(
            f"{label}: lookup answers one object with SystemId and AccountId",
            isinstance(found, dict) and isinstance(found.get("SystemId"), int) and isinstance(found.get("AccountId"), int),
            type(found).__name__,
        )
        created = managed.create_request(found["SystemId"], found["AccountId"])
        request_id = created.json()
        check(
            f"{label}: POST Requests answers a bare integer id",
            created.status_code in (200, 201) and isinstance(request_id, int),
            f"{created.status_code} {type(request_id).__name__}",
        )
        credential = managed.get_credential_by_request_id(request_id)
        check(f"{label}: GET Credentials answers a string", isinstance(credential, str) and len(credential) > 0)
        generic = Credentials(auth, logger).get_credentials_by_request_id(request_id)
        check(f"{label}: Credentials/{{id}}? (empty query) answers the same string", generic == credential)
        # The library expects exactly 204, and adds ?version= when an API version is set.
        managed.request_check_in(request_id)
        check(f"{label}: check-in accepted with 204", True)
        after = session.get(f"{auth._api_url}/Credentials/{request_id}", timeout=10)
        check(f"{label}: credentials gone after check-in", after.status_code == 404, str(after.status_code))
        one_call = managed.get_secret(account)
        check(f"{label}: one-call get_secret returns the credential", one_call == credential)
        accounts = managed.list_by_managed_system(found["SystemId"])
        check(
            f"{label}: list_by_managed_system answers the provisioning model",
            isinstance(accounts, list) and all("ManagedAccountID" in a for a in accounts),
            str(len(accounts)),
        )
        check(f"{label}: sign_app_out returns True", auth.sign_app_out() is True)


def exercise_secrets(label, make_auth, secret_path):
    """Secrets Safe through the library (reference §3)."""
    print(f"--- {label}")
    logger = logging.getLogger("bips")
    folder = secret_path.rsplit("/", 1)[0]
    with requests.Session() as session:
        auth = signed_in(label, make_auth, session)
        safe = SecretsSafe(auth, logger, separator="/", decrypt=True)
        value = safe.get_secret(secret_path)
        check(f"{label}: get_secret by path returns the value", isinstance(value, str) and len(value) > 0)
        with_metadata = safe.get_secret_with_metadata(secret_path)
        metadata = with_metadata.get(f"{secret_path}-metadata", {})
        check(f"{label}: metadata is the list model", metadata.get("SecretType") == "Credential", repr(metadata.get("SecretType")))
        by_id = safe.get_secret_by_id(metadata.get("Id"))
        check(f"{label}: get_secret_by_id", by_id.get("Password") == value)
        # The text and the file secret the simulator keeps in a nested folder.
        text = safe.get_secret("psconform/demo/nested/demo-note")
        check(f"{label}: a text secret's value comes from Password", isinstance(text, str) and len(text) > 0)
        content = safe.get_secret("psconform/demo/nested/demo-certificate")
        check(f"{label}: a file secret is downloaded", content.startswith("-----BEGIN CERTIFICATE-----"), f"{len(content)} characters")
        everything = safe.get_all_secrets_by_folder_path(folder)
        check(f"{label}: get_all_secrets_by_folder_path", secret_path in everything, ", ".join(sorted(everything)))
        nested = safe.get_all_secrets_by_folder_path("psconform/demo/nested")
        text_meta = nested.get("psconform/demo/nested/demo-note-metadata", {})
        file_meta = nested.get("psconform/demo/nested/demo-certificate-metadata", {})
        text_model = safe.get_text_secret_by_id(text_meta.get("Id"))
        check(f"{label}: get_text_secret_by_id", text_model.get("Text") == text)
        file_model = safe.get_file_secret_metadata(file_meta.get("Id"))
        check(f"{label}: get_file_secret_metadata", file_model.get("FileName") == "demo-certificate.pem")
        folders = Folder(auth, logger).list_folders()
        names = [f.get("Name") for f in folders]
        check(f"{label}: list_folders (includeSubfolders=True&rootOnly=False)", "nested" in names, ", ".join(names))
        safes = Safe(auth, logger).list()
        check(f"{label}: Safe.list", any(s.get("Name") == "psconform" for s in safes))
        check(f"{label}: sign_app_out returns True", auth.sign_app_out() is True)


def exercise_lookups(label, make_auth, runas):
    print(f"--- {label}")
    logger = logging.getLogger("bips")
    with requests.Session() as session:
        auth = signed_in(label, make_auth, session)
        workgroups = Workgroup(auth, logger).get_workgroups()
        check(f"{label}: get_workgroups", isinstance(workgroups, list) and len(workgroups) > 0)
        named = Workgroup(auth, logger).get_workgroups(workgroups[0]["Name"])
        check(f"{label}: get_workgroups by name", named[0].get("ID") == workgroups[0]["ID"])
        assets = Asset(auth, logger).list_assets(workgroup_id=workgroups[0]["ID"])
        check(f"{label}: list_assets", isinstance(assets, list), type(assets).__name__)
        users = User(auth, logger).get_users(username=runas)
        check(f"{label}: get_users by user name", isinstance(users, list) and users[0].get("UserName") == runas)
        groups = Usergroups(auth, logger).get_usergroups()
        check(f"{label}: get_usergroups", isinstance(groups, list) and len(groups) > 0)
        check(f"{label}: sign_app_out returns True", auth.sign_app_out() is True)


def exercise_cli(base, creds):
    """The official CLI reads managed accounts (OAuth only), configured in a temporary HOME."""
    print("--- ps-cli")
    here = os.path.dirname(os.path.abspath(sys.executable))
    cli = os.environ.get("PSCLI") or shutil.which("ps-cli", path=here) or shutil.which("ps-cli")
    if not cli:
        print("note: ps-cli (beyondtrust-bips-cli) not installed: skipping the CLI check")
        return
    system_name, account_name = creds["PS_ACCOUNT"].split("/", 1)
    with tempfile.TemporaryDirectory() as home:
        settings = os.path.join(home, "pscli-settings.ini")
        with open(settings, "w", encoding="utf-8") as f:
            f.write(f"[general]\napi_url = {base}\napi_version = 3.1\n\n[authentication]\nverify_ca = false\n")
        env = dict(os.environ, HOME=home, PSCLI_SETTINGS_PATH=settings)
        env["PSCLI_CLIENT_ID"] = creds["PS_CLIENT_ID"]
        env["PSCLI_CLIENT_SECRET"] = creds["PS_CLIENT_SECRET"]
        for args in (
            ["--format", "json", "managed-accounts", "list-accounts", system_name, account_name],
            ["--format", "json", "raw", "GET", "managedaccounts"],
        ):
            run = subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=60)
            try:
                data = json.loads(run.stdout)
            except ValueError:
                data = None
            rows = data if isinstance(data, list) else [data]
            ok = run.returncode == 0 and any(isinstance(r, dict) and r.get("AccountName") == account_name for r in rows)
            check(f"ps-cli {' '.join(args[2:])}", ok, f"exit {run.returncode}: {(run.stdout or run.stderr)[:200]!r}")


def main():
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    # The library turns verification off with `session.verify = False` but passes no `verify=`
    # on SignAppIn and the data calls, and requests then lets REQUESTS_CA_BUNDLE /
    # CURL_CA_BUNDLE override the session setting (psf/requests#3829), so with either variable
    # set verify_ca=False does not work. Drop them for this process.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.pop(name, None) is not None:
            print(f"note: unset {name}, which would override the library's verify_ca=False")
    logger = logging.getLogger("bips")
    base, creds = read_serve_output(sys.argv[1])
    print(f"base URL: {base}")

    def oauth(session, version=None):
        return authentication.Authentication(
            req=session,
            timeout_connection=5,
            timeout_request=10,
            api_url=base,
            client_id=creds["PS_CLIENT_ID"],
            client_secret=creds["PS_CLIENT_SECRET"],
            verify_ca=False,
            logger=logger,
            api_version=version,
        )

    def api_key(session, version=None):
        # The library sends `PS-Auth key=<api_key>` verbatim, so the run-as user rides inside
        # the key, as the Terraform provider and the library's own docs do it.
        return authentication.Authentication(
            req=session,
            timeout_connection=5,
            timeout_request=10,
            api_url=base,
            api_key=f"{creds['PS_API_KEY']};runas={creds['PS_RUNAS']};",
            verify_ca=False,
            logger=logger,
            api_version=version,
        )

    def versioned(make_auth, version):
        return lambda session: make_auth(session, version)

    exercise("oauth", base, oauth, creds["PS_CLIENT_ID"])
    exercise("api-key", base, api_key, creds["PS_RUNAS"])
    exercise_release("release (api-key, version 3.1)", versioned(api_key, "3.1"), creds["PS_ACCOUNT"])
    exercise_release("release (oauth, no version)", oauth, creds["PS_ACCOUNT"])
    exercise_secrets("secrets (oauth, version 3.1)", versioned(oauth, "3.1"), creds["PS_SECRET"])
    exercise_secrets("secrets (api-key, version 3.2)", versioned(api_key, "3.2"), creds["PS_SECRET"])
    exercise_lookups("lookups (api-key)", api_key, creds["PS_RUNAS"])
    exercise_cli(base, creds)

    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
