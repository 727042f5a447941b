"""A Flask "hello world" that `bench/issue_call.py` serves under the same gunicorn settings as
`layso run`, to measure the machine rather than our code: compare two boxes' figures by it."""

from flask import Flask

app = Flask(__name__)


@app.post("/api/v1/reference")
def reference() -> dict[str, bool]:
    """The smallest JSON answer."""
    return {"ok": True}
