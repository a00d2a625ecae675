"""The call taker's desk page (坐席工作台): static HTML, ES modules and CSS served by the
controller at ``/desk`` (``hotline.web.routes``). The page holds no data: every data call
goes to the HTTP API (``/api/v1``), which checks the caller's role."""
