"""Logs in to the web admin of a running mox v0.0.17 (its sherpa API: LoginPrep sets a login
cookie and returns the token, Login checks the password against AdminPasswordFile's bcrypt
hash). Run with /usr/bin/python3.

    admin_login.py HTTPPORT PASSWORD     prints "ok" on success, "failed: ..." otherwise
"""

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request

port, password = int(sys.argv[1]), sys.argv[2]
base = f"http://127.0.0.1:{port}/admin/api/"
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def call(method, *params):
    request = urllib.request.Request(
        base + method,
        data=json.dumps({"params": list(params)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with opener.open(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        return json.load(e)


token = call("LoginPrep")["result"]
answer = call("Login", token, password)
if "error" in answer and answer["error"]:
    print("failed:", answer["error"])
else:
    print("ok")
