"""The workspace on the web: a public accountability site, a reviewers' portal and a JSON API.

:func:`scaleguard.web.app.create_app` builds the FastAPI application around one
workspace. Routes only parse, call the library functions the CLI calls, and
render; who may call which route is decided in :mod:`scaleguard.web.roles`.
Nothing here is imported when the CLI starts: FastAPI, Jinja2 and argon2 load
only when ``scaleguard serve``, ``users`` or ``tokens`` run.
"""
