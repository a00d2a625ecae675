"""The HTTP API every web feature uses (the agent desk, the supervisor's view, user admin).

FastAPI on uvicorn, run inside the controller's event loop (``server.serve_api``); the app is
built by ``app.make_app(ApiDeps)`` with no work at import time and no module state. The API
reaches the rest of the controller only through the Protocols of ``ports.py``, so tests run
it in-process against fakes and the controller plugs in its live services.

Nothing is imported here: ``hotline.api.ports`` must stay importable without FastAPI.
"""
