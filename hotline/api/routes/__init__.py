"""The API's routes, one module per resource; each module's ``router(config)`` builds its
``APIRouter`` (no router exists at import time). Every route declares who may call it with
an ``auth.Allow``/``auth.AllowAgent`` dependency, and the errors it may answer with
``errors.error_responses`` (the OpenAPI document lists them; the fuzz test holds the app to
them)."""
