"""The API calls the memory benchmarks' seeding makes (imported from their Python parts)."""
import json
import urllib.request


def call(base, method, path, body, token=None):
    """Sends BODY as JSON and returns the decoded answer."""
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))


def new_user(base, name):
    """Registers NAME (password "benchmark password") and returns its access token."""
    call(base, "POST", "/api/v1/auth/register",
         {"email": f"{name}@example.com", "username": name, "password": "benchmark password"})
    return call(base, "POST", "/api/v1/auth/login",
                {"login": name, "password": "benchmark password"})["access_token"]
