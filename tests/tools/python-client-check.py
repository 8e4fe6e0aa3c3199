#!/usr/bin/env python3
"""Drive `psconform serve` with the official Python client, beyondtrust-bips-library.

Usage: python-client-check.py SERVE_STDOUT_FILE

The file holds what `psconform serve` printed: the base URL on the first line, then
`PS_NAME=value` lines. A value shown as `(from PS_NAME)` came from the environment and is read
from there. Certificate verification is off: the simulator runs with a self-signed certificate.

Checks, once with OAuth client credentials and once with the API key:
sign-in through the library, a session call (Configuration.get_version), sign-out through the
library, and that the signed-out session is refused with 401 "User not authenticated".
"""

import logging
import os
import sys

import requests
import urllib3
from secrets_safe_library import authentication
from secrets_safe_library.config import Configuration

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

    def oauth(session):
        return authentication.Authentication(
            req=session,
            timeout_connection=5,
            timeout_request=10,
            api_url=base,
            client_id=creds["PS_CLIENT_ID"],
            client_secret=creds["PS_CLIENT_SECRET"],
            verify_ca=False,
            logger=logger,
        )

    def api_key(session):
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
        )

    exercise("oauth", base, oauth, creds["PS_CLIENT_ID"])
    exercise("api-key", base, api_key, creds["PS_RUNAS"])

    if failures:
        print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
